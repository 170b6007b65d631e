#!/usr/bin/env python3
"""Tests of bench_torch.py on small sizes, on the CPU: the shared data definition, torch's k-NN, the
cross-check (it must pass right answers, tied answers, and fail wrong ones) and the floor.

  python3 -m unittest native/cuda/gpu/test_bench_torch.py      (needs torch; Debian: python3-torch)
"""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

import bench_torch as b  # noqa: E402

CPU = torch.device("cpu")


def brute(db, q, k, metric):
    """Float64 exact top-k with ties to the lower row (the reference for torch_knn)."""
    d64, q64 = db.double(), q.double()
    if metric == "l2":
        s = ((q64[:, None, :] - d64[None, :, :]) ** 2).sum(-1)
        key = s
    else:
        s = q64 @ d64.t()
        key = -s
    order = torch.argsort(key, dim=1, stable=True)[:, :min(k, db.shape[0])]
    return torch.gather(s, 1, order), order


class SharedData(unittest.TestCase):
    def test_mix_is_splitmix64(self):
        # SplitMix64 seeded with 1234567: its first five outputs, as published with the reference code.
        want = [6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431,
                16408922859458223821]
        self.assertEqual([b.mix64(1234567 + b.GOLDEN * i) for i in range(1, 6)], want)

    def test_matrix_matches_the_definition_across_chunks(self):
        key = b.stream_key(42, 1)
        m = b.bench_matrix(torch, 7, 5, 42, 1, CPU, chunk=4)  # chunks that split rows
        ref = [((b.mix64(key + b.GOLDEN * (i + 1)) >> 40) - (1 << 23)) / 2 ** 23 for i in range(35)]
        self.assertEqual(m.flatten().tolist(), ref)
        self.assertEqual(m.dtype, torch.float32)

    def test_pinned_values_shared_with_java(self):
        # The same five values BenchDataTest pins on the Java side (seed 42, database stream).
        m = b.bench_matrix(torch, 1, 5, 42, 0, CPU)
        want = torch.tensor([-0.31341624, 0.9114934, -0.027300954, -0.8652843, 0.3538314], dtype=torch.float32)
        self.assertTrue(torch.equal(m[0], want), m)


class TorchKnn(unittest.TestCase):
    def test_matches_float64_brute_force_over_chunks(self):
        g = torch.Generator().manual_seed(3)
        for metric in ("ip", "l2"):
            for n, q, k in ((1, 1, 1), (7, 3, 10), (1000, 7, 100), (4097, 2, 33)):
                db = torch.randn(n, 16, generator=g)
                qs = torch.randn(q, 16, generator=g)
                db_sq = (db * db).sum(1)
                # A small budget forces several database chunks and merges.
                s, i = b.torch_knn(torch, db, db_sq, qs, k, metric, budget_bytes=4 * q * 300)
                ws, wi = brute(db, qs, k, metric)
                self.assertEqual(tuple(i.shape), (q, min(k, n)))
                self.assertTrue(torch.allclose(s.double(), ws, atol=1e-4, rtol=1e-5), (metric, n, q, k))
                chk = b.cross_check(torch, db, qs, i, s, wi, metric, k)
                self.assertTrue(chk["ok"], (metric, n, q, k, chk))


class CrossCheck(unittest.TestCase):
    def setUp(self):
        g = torch.Generator().manual_seed(11)
        self.db = torch.randn(500, 8, generator=g)
        self.db[10] *= 10  # the longest row, nearest to query 3 under both metrics
        self.db[400:410] = self.db[10]  # exact duplicates of row 10: real ties
        self.q = torch.randn(4, 8, generator=g)
        self.q[3] = self.db[10]

    def ref(self, metric, k):
        s, i = brute(self.db, self.q, k, metric)
        return s.float(), i

    def test_right_answers_pass(self):
        for metric in ("ip", "l2"):
            s, i = self.ref(metric, 20)
            chk = b.cross_check(torch, self.db, self.q, i, s, i, metric, 20)
            self.assertTrue(chk["ok"], chk)
            self.assertEqual(chk["recall"], 1.0)

    def test_a_tied_row_instead_of_another_passes(self):
        for metric in ("ip", "l2"):
            s, i = self.ref(metric, 5)
            ours = i.clone()
            row = int(ours[3, 0])  # query 3's best is row 10 or a duplicate of it
            self.assertIn(row, [10] + list(range(400, 410)))
            ours[3, 0] = 409 if row != 409 else 408
            self.assertFalse(bool((ours[3, 1:] == ours[3, 0]).any()))
            chk = b.cross_check(torch, self.db, self.q, ours, s, i, metric, 5)
            self.assertTrue(chk["ok"], chk)
            self.assertLess(chk["recall"], 1.0)  # a different id, yet right: recall with ties is 1
            self.assertEqual(chk["recall_ties"], 1.0)

    def test_a_worse_row_fails(self):
        for metric in ("ip", "l2"):
            s, i = self.ref(metric, 5)
            worst = brute(self.db, self.q, 500, metric)[1][:, -1]
            ours, scores = i.clone(), s.clone()
            ours[1, 4] = worst[1]
            scores[1, 4] = b.exact_scores(torch, self.db, self.q[1:2], worst[1].view(1, 1), metric)[0, 0].float()
            chk = b.cross_check(torch, self.db, self.q, ours, scores, i, metric, 5)
            self.assertFalse(chk["ok"], chk)
            self.assertIn("recall with ties", chk["why"])

    def test_a_wrong_score_fails(self):
        s, i = self.ref("ip", 5)
        scores = s.clone()
        scores[2, 2] += 0.05
        chk = b.cross_check(torch, self.db, self.q, i, scores, i, "ip", 5)
        self.assertFalse(chk["ok"])
        self.assertIn("score error", chk["why"])

    def test_repeats_range_and_shape_fail(self):
        s, i = self.ref("l2", 5)
        rep = i.clone()
        rep[0, 1] = rep[0, 0]
        self.assertIn("repeated", b.cross_check(torch, self.db, self.q, rep, s, i, "l2", 5)["why"])
        bad = i.clone()
        bad[0, 0] = 500
        self.assertIn("out of range", b.cross_check(torch, self.db, self.q, bad, s, i, "l2", 5)["why"])
        short = i[:, :4]
        self.assertIn("shape", b.cross_check(torch, self.db, self.q, short, s[:, :4], i, "l2", 5)["why"])

    def test_k_above_n(self):
        db = self.db[:3]
        s, i = brute(db, self.q, 10, "ip")
        chk = b.cross_check(torch, db, self.q, i, s.float(), i, "ip", 10)
        self.assertTrue(chk["ok"], chk)


class Floor(unittest.TestCase):
    def test_memory_and_compute_bounds(self):
        ceil = dict(copy_bytes_per_s=3e12, mm_fp32_flops=5e13, mm_tf32_flops=4e14, )
        one = dict(n=10 ** 7, d=768, q=1, k=10)
        fl, bound = b.floor_ms(one, ceil)
        self.assertEqual(bound, "memory")
        self.assertAlmostEqual(fl, (4 * 10 ** 7 * 768 + 4 * 768 + 120) / 3e12 * 1000, places=6)
        many = dict(n=10 ** 6, d=768, q=10000, k=10)
        fl, bound = b.floor_ms(many, ceil)
        self.assertEqual(bound, "compute")
        self.assertAlmostEqual(fl, 2.0 * 10000 * 10 ** 6 * 768 / 4e14 * 1000, places=6)

    def test_full_matrix_and_memory_limits(self):
        cases, skipped = b.cases_for(False, 0, 0)
        self.assertEqual(len(cases), 4 * 2 * 3 * 3 * 2)
        self.assertEqual(skipped, [])
        cases, skipped = b.cases_for(False, 35 * 2 ** 30, 0)  # 35 GiB: the 10M x 768 database does not fit
        self.assertTrue(all(c["n"] * c["d"] * 4 * 1.25 <= 35 * 2 ** 30 for c in cases))
        self.assertEqual({(c["n"], c["d"]) for c, _ in skipped}, {(10 ** 7, 768)})
        quick, _ = b.cases_for(True, 0, 0)
        self.assertLess(len(quick), 30)


CEIL = dict(copy_bytes_per_s=3e12, mm_fp32_flops=5e13, mm_tf32_flops=4e14)


class TorchSide(unittest.TestCase):
    def test_a_database_without_a_result_of_ours_is_not_timed(self):
        import argparse
        cases = [dict(id="a", n=50, d=4, metric="ip", q=2, k=3), dict(id="b", n=60, d=4, metric="l2", q=2, k=3)]
        ours = {"a": dict(status="skipped", error="time budget spent")}   # none for the second database
        args = argparse.Namespace(torch_budget=0, skip_latent=False, seed=1, case_seconds=0.1)
        rows = []
        b.run_torch(torch, args, cases, ours, Path("/nonexistent"), CPU, CEIL, lambda m: None, rows, lambda: None)
        self.assertEqual([r["note"] for r in rows], ["torch skipped: no result of ours to compare"] * 2)
        self.assertTrue(all(r["torch"] is None for r in rows))
        # Torch alone (--skip-latent) still times every case.
        args.skip_latent = True
        rows = []
        b.run_torch(torch, args, cases, {}, Path("/nonexistent"), CPU, CEIL, lambda m: None, rows, lambda: None)
        self.assertTrue(all(r["torch"] is not None for r in rows), rows)


if __name__ == "__main__":
    unittest.main()
