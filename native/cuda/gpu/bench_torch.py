#!/usr/bin/env python3
"""Exact k-NN: Latent's kernels against PyTorch (mm + topk) on the same data, with a roofline.

Both sides build the same data from a seed (BenchData in dev.latent.bench, mirrored by `bench_matrix`
below): the database is stream 0, the queries stream 1, float32 in [-1, 1). For each case the script
reports our time, torch's time, their ratio, the roofline floor and ours as a percent of it, and
cross-checks our results against torch's on the first queries in float64 (recall, ties allowed).

Steps:
  1. ceilings: device copy bandwidth (a 1 GiB copy) and the matrix-unit rate (an fp32 mm with TF32
     allowed; the plain fp32 rate is reported too), measured here first;
  2. ours: the Java driver (KnnBench) over every case on the chosen backend, one JVM, results and
     the first queries' neighbours written to the work folder;
  3. torch: the same cases, inputs resident on the device, CUDA events, warm-up then the median of
     repeats; torch's float32 default (no TF32) for the k-NN itself;
  4. the table, also written as results.md and results.json in --out.

Timing: ours is the whole call through the Java API (queries from host memory to results in host
memory); torch's starts and ends on the device (queries resident, results left on the device).

Floor of a case: the larger of bytes / copy bandwidth and FLOPs / matrix-unit rate, where bytes
is one read of the database plus the queries and the results (4nd + 4qd + 12qk) and FLOPs 2qnd.

Usage (bundle): python3 bench_torch.py [--quick] [--out DIR] [--backend cuda|cpu]
Usage (repository, after `mvn package`): python3 native/cuda/gpu/bench_torch.py --quick --backend cpu
"""

import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

GOLDEN = 0x9E3779B97F4A7C15
MASK64 = (1 << 64) - 1
REL = 1e-4  # score tolerance, as a fraction of the pair's scale (see cross_check)
TIE_REL = 1e-5  # how close to torch's k-th exact score a different id may be and still count


def mix64(z):
    """SplitMix64's output function on a Python int (reference for the tensor version)."""
    z &= MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def stream_key(seed, stream):
    return mix64((seed + GOLDEN * (stream + 1)) & MASK64)


def signed64(x):
    x &= MASK64
    return x - (1 << 64) if x >= (1 << 63) else x


def _lsr(torch, z, shift):
    """Logical right shift of an int64 tensor (torch's >> is arithmetic)."""
    return (z >> shift) & ((1 << (64 - shift)) - 1)


def bench_matrix(torch, rows, d, seed, stream, device, chunk=1 << 26):
    """The rows x d float32 matrix of BenchData stream `stream` under `seed`, built on `device`."""
    key = signed64(stream_key(seed, stream))
    golden = signed64(GOLDEN)
    out = torch.empty(rows * d, dtype=torch.float32, device=device)
    total = rows * d
    for start in range(0, total, chunk):
        stop = min(total, start + chunk)
        # int64 arithmetic wraps modulo 2^64, as Java's long does.
        z = torch.arange(start + 1, stop + 1, dtype=torch.int64, device=device)
        z.mul_(golden).add_(key)
        z = (z ^ _lsr(torch, z, 30)) * signed64(0xBF58476D1CE4E5B9)
        z = (z ^ _lsr(torch, z, 27)) * signed64(0x94D049BB133111EB)
        z = z ^ _lsr(torch, z, 31)
        bits = _lsr(torch, z, 40)
        out[start:stop] = (bits - (1 << 23)).to(torch.float32) * (2.0 ** -23)
        del z, bits
    return out.view(rows, d)


def torch_knn(torch, db, db_sq, q, k, metric, budget_bytes=1 << 31):
    """Exact top-k of every row of q over db with torch.mm + torch.topk, chunked over the database.
    Returns (scores, ids), best first; inner product: highest first, l2: lowest squared distance first."""
    n = db.shape[0]
    kk = min(k, n)
    rows = max(kk, min(n, budget_bytes // (4 * max(1, q.shape[0]))))
    q_sq = (q * q).sum(1, keepdim=True) if metric == "l2" else None
    best_s = best_i = None
    for start in range(0, n, rows):
        x = db[start:start + rows]
        if metric == "l2":
            s = torch.addmm(db_sq[start:start + rows].unsqueeze(0), q, x.t(), beta=1, alpha=-2).add_(q_sq)
            s.clamp_(min=0)
        else:
            s = torch.mm(q, x.t())
        v, i = torch.topk(s, min(kk, x.shape[0]), dim=1, largest=(metric != "l2"))
        i = i + start
        if best_s is None:
            best_s, best_i = v, i
        else:
            cat_s = torch.cat([best_s, v], 1)
            cat_i = torch.cat([best_i, i], 1)
            v2, j = torch.topk(cat_s, kk, dim=1, largest=(metric != "l2"))
            best_s, best_i = v2, torch.gather(cat_i, 1, j)
        del s
    return best_s, best_i


def exact_scores(torch, db, q, ids, metric):
    """Float64 scores of q[i] against db[ids[i, j]]."""
    x = db[ids.reshape(-1)].reshape(ids.shape[0], ids.shape[1], db.shape[1]).double()
    q64 = q.double().unsqueeze(1)
    if metric == "l2":
        return ((x - q64) ** 2).sum(-1)
    if metric == "cosine":
        return (x * q64).sum(-1) / (x.norm(dim=-1) * q64.norm(dim=-1))
    return (x * q64).sum(-1)


def pair_scale(torch, db, q, ids, metric):
    """The tolerance scale of each (query, row) pair: |q||x| (ip), |q|^2 + |x|^2 (l2), 1 (cosine)."""
    x = db[ids.reshape(-1)].reshape(ids.shape[0], ids.shape[1], db.shape[1]).double()
    qn = q.double().norm(dim=1, keepdim=True)
    xn = x.norm(dim=-1)
    if metric == "l2":
        return qn ** 2 + xn ** 2
    if metric == "cosine":
        return torch.ones_like(xn)
    return qn * xn


def cross_check(torch, db, q, ours_ids, ours_scores, ref_ids, metric, k):
    """Checks our results for queries q against torch's (ref_ids), in float64.

    - count: min(k, n) results per query;
    - ids in range and unique per query;
    - every returned score within REL * scale of the exact float64 score of the returned row;
    - recall: the fraction of our ids that torch also returned;
    - recall_ties: the fraction of our ids whose exact score is at least as good as the exact score
      of torch's k-th result (minus TIE_REL * scale): a different id that ties within float32
      rounding counts as right. A correct exact top-k has recall_ties = 1.
    Returns a dict with ok (bool), why (str), recall, recall_ties, score_err (max relative error)."""
    n = db.shape[0]
    want = min(k, n)
    m = ours_ids.shape[0]
    if ours_ids.shape != (m, want) or ref_ids.shape[1] != want:
        return dict(ok=False, why=f"shape {tuple(ours_ids.shape)}, want ({m}, {want})", recall=0.0,
                    recall_ties=0.0, score_err=float("inf"))
    if m == 0:
        return dict(ok=True, why="", recall=1.0, recall_ties=1.0, score_err=0.0)
    ours_ids = ours_ids.to(db.device)
    ref_ids = ref_ids[:m].to(db.device)
    if bool(((ours_ids < 0) | (ours_ids >= n)).any()):
        return dict(ok=False, why="id out of range", recall=0.0, recall_ties=0.0, score_err=float("inf"))
    sorted_ids, _ = torch.sort(ours_ids, dim=1)
    if want > 1 and bool((sorted_ids[:, 1:] == sorted_ids[:, :-1]).any()):
        return dict(ok=False, why="repeated id within a query", recall=0.0, recall_ties=0.0,
                    score_err=float("inf"))
    qm = q[:m]
    ours_exact = exact_scores(torch, db, qm, ours_ids, metric)
    ours_scale = pair_scale(torch, db, qm, ours_ids, metric)
    score_err = float(((ours_scores.to(db.device).double() - ours_exact).abs() / ours_scale).max())
    ref_exact = exact_scores(torch, db, qm, ref_ids, metric)
    ref_scale = pair_scale(torch, db, qm, ref_ids, metric)
    if metric == "l2":
        kth = ref_exact.max(dim=1, keepdim=True).values
        good = ours_exact <= kth + TIE_REL * torch.maximum(ours_scale, ref_scale.max(dim=1, keepdim=True).values)
    else:
        kth = ref_exact.min(dim=1, keepdim=True).values
        good = ours_exact >= kth - TIE_REL * torch.maximum(ours_scale, ref_scale.max(dim=1, keepdim=True).values)
    recall_ties = float(good.double().mean())
    hits = (ours_ids.unsqueeze(2) == ref_ids.unsqueeze(1)).any(dim=2)
    recall = float(hits.double().mean())
    why = []
    if recall_ties < 1.0:
        why.append(f"recall with ties {recall_ties:.6f} < 1")
    if not score_err <= REL:
        why.append(f"score error {score_err:.3g} of the scale > {REL}")
    return dict(ok=not why, why="; ".join(why), recall=recall, recall_ties=recall_ties, score_err=score_err)


def cases_for(quick, device_mem_bytes, host_mem_bytes, only_q=None, only_k=None):
    """The benchmark matrix, grouped by database (n, d, metric) so each is built once per side.

    Groups come in an order that spreads a time-limited run over the matrix: the middle dimension on
    both metrics first, then the extremes of d and n for the inner product, then the rest."""
    if quick:
        groups = [(20000, d, m) for d in (32, 96) for m in ("ip", "l2")]
        qs, ks = [1, 16, 200], [10, 100]
    else:
        first = [(10 ** 6, 384, "ip"), (10 ** 6, 384, "l2"), (10 ** 7, 768, "ip"), (10 ** 6, 128, "ip"),
                 (10 ** 6, 768, "ip"), (10 ** 7, 128, "ip"), (10 ** 7, 384, "ip")]
        every = [(n, d, m) for n in (10 ** 6, 10 ** 7) for d in (128, 384, 768) for m in ("ip", "l2")]
        groups = first + [g for g in every if g not in first]
        qs, ks = [1, 16, 1000, 10000], [10, 100, 1000]
    if only_q:
        qs = [q for q in qs if q in only_q] or list(only_q)
    if only_k:
        ks = [k for k in ks if k in only_k] or list(only_k)
    cases, skipped = [], []
    for n, d, metric in groups:
        need = 4 * n * d
        for q in qs:
            for k in ks:
                c = dict(id=f"n{n}_d{d}_{metric}_q{q}_k{k}", n=n, d=d, q=q, k=k, metric=metric)
                if device_mem_bytes and need * 1.25 > device_mem_bytes:
                    skipped.append((c, f"database {need / 2**30:.1f} GiB does not fit device memory"))
                elif host_mem_bytes and need * 1.25 > host_mem_bytes:
                    skipped.append((c, f"database {need / 2**30:.1f} GiB does not fit host memory"))
                else:
                    cases.append(c)
    return cases, skipped


def host_available_bytes():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Clock:
    """Times a callable on the device: CUDA events on a GPU, perf_counter (after a sync) elsewhere."""

    def __init__(self, torch, device):
        self.torch = torch
        self.cuda = device.type == "cuda"

    def time_ms(self, fn):
        torch = self.torch
        if self.cuda:
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            out = fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end), out
        t = time.perf_counter()
        out = fn()
        return (time.perf_counter() - t) * 1000.0, out


def ceilings(torch, device, log):
    """Copy bandwidth (bytes read + written per second) and mm rates, measured here."""
    clock = Clock(torch, device)
    cuda = device.type == "cuda"
    size = (1 << 30) if cuda else (1 << 28)
    src = torch.empty(size // 4, dtype=torch.float32, device=device).fill_(1.0)
    dst = torch.empty_like(src)
    times = []
    for _ in range(6):
        t, _ = clock.time_ms(lambda: dst.copy_(src))
        times.append(t)
    copy_ms = sorted(times[1:])[len(times[1:]) // 2]
    bandwidth = 2 * size / (copy_ms / 1000.0)
    del src, dst
    n = 8192 if cuda else 1024
    a = torch.rand(n, n, device=device)
    b = torch.rand(n, n, device=device)
    rates = {}
    old = torch.backends.cuda.matmul.allow_tf32 if cuda else None
    for name, tf32 in (("fp32", False), ("tf32", True)):
        if cuda:
            torch.backends.cuda.matmul.allow_tf32 = tf32
        elif tf32:
            rates[name] = rates["fp32"]
            continue
        times = []
        for _ in range(6):
            t, _ = clock.time_ms(lambda: torch.mm(a, b))
            times.append(t)
        ms = sorted(times[1:])[len(times[1:]) // 2]
        rates[name] = 2.0 * n ** 3 / (ms / 1000.0)
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = old
    del a, b
    log(f"ceilings: copy {bandwidth / 1e9:.0f} GB/s (read + write of {size >> 20} MiB), "
        f"mm fp32 {flops_text(rates['fp32'])}, mm with TF32 {flops_text(rates['tf32'])} ({n}^3)"
        + ("" if cuda else "; on a CPU these are torch's own rates, not the machine's peak"))
    return dict(copy_bytes_per_s=bandwidth, mm_fp32_flops=rates["fp32"], mm_tf32_flops=rates["tf32"])


def flops_text(x):
    return f"{x / 1e12:.1f} TFLOP/s" if x >= 1e12 else f"{x / 1e9:.1f} GFLOP/s"


def floor_ms(case, ceil):
    n, d, q, k = case["n"], case["d"], case["q"], case["k"]
    bytes_ = 4 * n * d + 4 * q * d + 12 * q * min(k, n)
    flops = 2.0 * q * n * d
    mem = bytes_ / ceil["copy_bytes_per_s"] * 1000.0
    comp = flops / ceil["mm_tf32_flops"] * 1000.0
    return max(mem, comp), ("memory" if mem >= comp else "compute")


def default_latent_command(here):
    """The Java driver: the bundle's own runtime and jars, else this repository's build."""
    if (here / "runtime" / "bin" / "java").exists():
        cp = os.pathsep.join(str(p) for p in sorted((here / "lib").glob("*.jar")))
        return [str(here / "runtime" / "bin" / "java"), "-cp", cp, "dev.latent.bench.KnnBench"]
    root = here.parents[2]
    jar = root / "target" / "latent.jar"
    if jar.exists():
        cp = os.pathsep.join([str(jar)] + [str(p) for p in sorted((root / "target" / "lib").glob("*.jar"))])
        return ["java", "-cp", cp, "dev.latent.bench.KnnBench"]
    return None


def run_latent(args, cases, work, log):
    cmd = shlex.split(args.latent) if args.latent else default_latent_command(Path(__file__).resolve().parent)
    if cmd is None:
        log("ours: no Java driver found (run `mvn package` or pass --latent)")
        return {}
    cases_file = work / "cases.jsonl"
    out_file = work / "latent.jsonl"
    dump = work / "dump"
    cases_file.write_text("".join(json.dumps(c) + "\n" for c in cases))
    if out_file.exists():
        out_file.unlink()
    java_opts = [f"-Dlatent.backend={args.backend}", f"-Dorg.bytedeco.javacpp.cachedir={work / 'javacpp-cache'}"]
    full = cmd[:1] + java_opts + cmd[1:] + [
        "--cases", str(cases_file), "--out", str(out_file), "--dump", str(dump), "--seed", str(args.seed),
        "--check-queries", str(args.check_queries), "--budget-seconds", str(args.latent_budget),
        "--case-seconds", str(args.case_seconds)]
    log("ours: " + " ".join(shlex.quote(c) for c in full))
    try:
        # The driver starts no database past its budget; one started just before may take a while.
        proc = subprocess.run(full, timeout=args.latent_budget * 1.5 + 30 if args.latent_budget else None)
        if proc.returncode != 0:
            log(f"ours: the Java driver exited with {proc.returncode}")
    except subprocess.TimeoutExpired:
        log("ours: the Java driver ran past its time limit; cases without a result are missing")
    results = {}
    if out_file.exists():
        for line in out_file.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                results[r["id"]] = r
    return results


def read_dump(torch, work, case_id, k_count):
    ids_path = work / "dump" / f"{case_id}.ids"
    scores_path = work / "dump" / f"{case_id}.scores"
    if not ids_path.exists() or not scores_path.exists():
        return None, None
    ids = torch.frombuffer(bytearray(ids_path.read_bytes()), dtype=torch.int64)
    scores = torch.frombuffer(bytearray(scores_path.read_bytes()), dtype=torch.float32)
    if k_count == 0 or ids.numel() % k_count != 0 or scores.numel() != ids.numel():
        return None, None
    return ids.reshape(-1, k_count), scores.reshape(-1, k_count)


def run_torch(torch, args, cases, ours, work, device, ceil, log, rows, save):
    """Appends one row per case to `rows`, calling save() after each database (so a run cut short by
    a time limit keeps what it measured)."""
    clock = Clock(torch, device)
    start = time.time()
    groups = []
    for c in cases:
        key = (c["n"], c["d"], c["metric"])
        if not groups or groups[-1][0] != key:
            groups.append((key, []))
        groups[-1][1].append(c)
    for (n, d, metric), group in groups:
        why = None
        if args.torch_budget and time.time() - start > args.torch_budget:
            why = "torch skipped: time budget spent"
        elif not args.skip_latent and not any((ours.get(c["id"]) or {}).get("status") == "ok" for c in group):
            # Our side has no result for this database (its budget ran out): timing torch alone compares
            # nothing and can spend the step's whole time limit on the largest databases.
            why = "torch skipped: no result of ours to compare"
        if why:
            for c in group:
                rows.append(dict(case=c, ours=ours.get(c["id"]), torch=None, check=None, note=why))
            continue
        t0 = time.time()
        db = bench_matrix(torch, n, d, args.seed, 0, device)
        qmax = max(c["q"] for c in group)
        queries = bench_matrix(torch, qmax, d, args.seed, 1, device)
        db_sq = (db * db).sum(1) if metric == "l2" else None
        if device.type == "cuda":
            torch.cuda.synchronize()
        log(f"torch: n={n} d={d} {metric}: data on {device} in {time.time() - t0:.1f} s")
        for c in group:
            q = queries[:c["q"]]
            k = c["k"]
            row = dict(case=c, ours=ours.get(c["id"]), torch=None, check=None, note="")
            try:
                first_ms, (ref_s, ref_i) = clock.time_ms(lambda: torch_knn(torch, db, db_sq, q, k, metric))
                times = []
                t_case = time.time()
                while len(times) < 20:
                    t, _ = clock.time_ms(lambda: torch_knn(torch, db, db_sq, q, k, metric))
                    times.append(t)
                    spent = time.time() - t_case
                    if spent >= args.case_seconds or (len(times) >= 3 and spent >= 0.5):
                        break
                times.sort()
                row["torch"] = dict(median_ms=times[len(times) // 2] if len(times) % 2 else
                                    (times[len(times) // 2 - 1] + times[len(times) // 2]) / 2,
                                    min_ms=times[0], max_ms=times[-1], runs=len(times), warmup_ms=first_ms)
                o = row["ours"]
                if o is not None and o.get("status") == "ok":
                    ours_ids, ours_scores = read_dump(torch, work, c["id"], min(k, n))
                    if ours_ids is None:
                        row["check"] = dict(ok=False, why="no dump of our results")
                    else:
                        row["check"] = cross_check(torch, db, q, ours_ids, ours_scores, ref_i, metric, k)
                del ref_s, ref_i
            except RuntimeError as e:  # out of memory and the like: report, go on
                row["note"] = f"torch failed: {str(e).splitlines()[0]}"
                if device.type == "cuda":
                    torch.cuda.empty_cache()
            rows.append(row)
            log(format_row(row, ceil))
        del db, queries, db_sq
        if device.type == "cuda":
            torch.cuda.empty_cache()
        save()


def fmt_ms(r):
    if r is None:
        return "-"
    return f"{r['median_ms']:.3g} ({r['min_ms']:.3g}-{r['max_ms']:.3g})"


def format_row(row, ceil):
    c = row["case"]
    o = row["ours"] if row["ours"] and row["ours"].get("status") == "ok" else None
    t = row["torch"]
    fl, bound = floor_ms(c, ceil)
    ratio = f"{t['median_ms'] / o['median_ms']:.2f}x" if o and t else "-"
    pct = f"{100.0 * fl / o['median_ms']:.0f}%" if o else "-"
    chk = row["check"]
    if chk is None:
        check = "-"
    elif chk.get("ok"):
        check = f"ok r={chk['recall']:.3f}"
    else:
        check = "FAIL " + chk.get("why", "")
    note = row.get("note") or ""
    if row["ours"] and row["ours"].get("status") != "ok":
        note = (note + "; " if note else "") + f"ours {row['ours'].get('status')}: {row['ours'].get('error', '')}"
    return (f"{c['metric']:>2} n={c['n']:>8} d={c['d']:>4} q={c['q']:>5} k={c['k']:>4} | ours {fmt_ms(o):>24} | "
            f"torch {fmt_ms(t):>24} | {ratio:>6} | floor {fl:.3g} ms {bound:<7} | {pct:>4} | {check} {note}").rstrip()


def markdown(rows, ceil, header):
    lines = [header, "",
             f"Ceilings measured in this run: device copy {ceil['copy_bytes_per_s'] / 1e9:.0f} GB/s, "
             f"mm fp32 {flops_text(ceil['mm_fp32_flops'])}, mm TF32 {flops_text(ceil['mm_tf32_flops'])}.",
             "",
             "| metric | n | d | q | k | ours ms, median (min-max) | torch ms | torch / ours | floor ms | ours % of floor | check |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        c = row["case"]
        o = row["ours"] if row["ours"] and row["ours"].get("status") == "ok" else None
        t = row["torch"]
        fl, bound = floor_ms(c, ceil)
        chk = row["check"]
        check = "-" if chk is None else (f"ok, recall {chk['recall']:.3f}" if chk.get("ok") else "FAIL: " + chk.get("why", ""))
        if row.get("note"):
            check += " (" + row["note"] + ")"
        if row["ours"] and row["ours"].get("status") != "ok":
            check += f" (ours {row['ours'].get('status')}: {row['ours'].get('error', '')})"
        lines.append(f"| {c['metric']} | {c['n']} | {c['d']} | {c['q']} | {c['k']} | {fmt_ms(o)} | {fmt_ms(t)} | "
                     f"{(t['median_ms'] / o['median_ms']) if (o and t) else float('nan'):.2f} | {fl:.3g} ({bound}) | "
                     f"{(100.0 * fl / o['median_ms']) if o else float('nan'):.0f} | {check} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="a small matrix (minutes on a CPU)")
    p.add_argument("--out", default=os.environ.get("OUT", "bench-out"), help="folder for results (default $OUT)")
    p.add_argument("--work", default=None, help="scratch folder (default: a folder under /tmp)")
    p.add_argument("--backend", default="auto", help="Latent backend for our side: cuda, cpu, java or auto")
    p.add_argument("--device", default=None, help="torch device (default: cuda when available, else cpu)")
    p.add_argument("--latent", default=None, help="command that runs dev.latent.bench.KnnBench")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--check-queries", type=int, default=32)
    p.add_argument("--latent-budget", type=float, default=0, help="seconds for our side (0: no limit)")
    p.add_argument("--torch-budget", type=float, default=0, help="seconds for torch's side (0: no limit)")
    p.add_argument("--case-seconds", type=float, default=6.0, help="timing per case, at most (after one run)")
    p.add_argument("--skip-latent", action="store_true", help="torch only")
    p.add_argument("--q-values", default="", help="only these query counts, comma-separated (default: the whole matrix)")
    p.add_argument("--k-values", default="", help="only these k, comma-separated (default: the whole matrix)")
    args = p.parse_args(argv)

    import torch

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.work) if args.work else Path("/tmp") / f"latent-bench-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    log_file = open(out / "bench.log", "a")

    def log(msg):
        line = f"[bench {time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if args.backend == "cuda" and device.type != "cuda":
        log("ours would run on the CUDA backend but torch sees no CUDA device here: nothing to compare "
            "(use --backend cpu --device cpu to check the script on a CPU)")
        return 2
    if device.type == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({os.cpu_count()} threads)"
    header = f"torch {torch.__version__} on {name}; seed {args.seed}; ours on backend '{args.backend}'"
    log(header)
    ceil = ceilings(torch, device, log)
    dev_mem = torch.cuda.mem_get_info(device)[0] if device.type == "cuda" else 0
    def ints(text):
        return [int(x) for x in text.split(",") if x.strip()]

    cases, skipped = cases_for(args.quick, dev_mem, host_available_bytes(), ints(args.q_values), ints(args.k_values))
    for c, why in skipped:
        log(f"skipped {c['id']}: {why}")
    ours = {} if args.skip_latent else run_latent(args, cases, work, log)
    rows = [dict(case=c, ours=None, torch=None, check=None, note="skipped: " + why) for c, why in skipped]

    def save():
        md = markdown(rows[len(skipped):] + rows[:len(skipped)], ceil, header)
        for name, text in (("results.md", md),
                           ("results.json", json.dumps(dict(header=header, ceilings=ceil, rows=rows), indent=1))):
            tmp = out / (name + ".tmp")
            tmp.write_text(text)
            os.replace(tmp, out / name)
        return md

    run_torch(torch, args, cases, ours, work, device, ceil, log, rows, save)
    md = save()
    print()
    print(md)
    failed = [r for r in rows if r["check"] is not None and not r["check"].get("ok")]
    missing = [r for r in rows if r["ours"] is None or r["ours"].get("status") != "ok"]
    log(f"{len(rows)} cases: {len(failed)} cross-check failures, {len(missing)} without a result of ours")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
