#!/usr/bin/python3
"""Synthetic vectors with the spectrum and cluster structure of a real set of text embeddings.

Usage: synth.py REAL.npy N OUT.npy [SEED]    (REAL: unit vectors, e.g. every WordNet gloss embedded)

Generator, fitted to REAL:
  1. spherical k-means of REAL into C = 1,024 clusters: cluster sizes p_j, and the mean m_j of each cluster's
     members (not normalised: a loose cluster's mean is shorter, as in REAL);
  2. the residuals x - m_label: their covariance S = V diag(s) V^T (eigen-decomposition, all d components),
     and each cluster's spread g_j (its mean squared residual over the mean of all);
  3. N points: a cluster j ~ p, then one of its SUB = 12 sub-centres m_j + sqrt(g_j a) L z1, then the point
     sub-centre + sqrt(g_j (1 - a)) L z2, normalised to unit length, where L = V diag(sqrt s), z1 and z2 are
     standard normal and a, the share of the spread a sub-centre takes, is drawn per sub-centre uniformly
     from [0.2, 0.7] (tight and loose clumps, as real neighbourhoods vary in density).
So the points have REAL's mean direction and cluster weights, its residual spectrum and cluster spreads, and
clumps inside clusters. Validation (printed, and written to OUT.report.txt): the covariance
eigenvalue decay of REAL and of a same-size sample of the synthetic set, and histograms of the cosine to the
1st and 10th nearest neighbour for 2,000 points of each set within a set of REAL's size.
"""
import sys
import time

import faiss
import numpy as np

real_path, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 7
rng = np.random.default_rng(seed)
real = np.load(real_path).astype(np.float32)
m, d = real.shape
C, SUB = 1024, 12
t0 = time.time()
km = faiss.Kmeans(d, C, niter=20, seed=seed, spherical=True, verbose=False)
km.train(real)
_, lab = km.index.search(real, 1)
lab = lab[:, 0]
sizes = np.bincount(lab, minlength=C).astype(np.float64)
means = np.zeros((C, d), dtype=np.float64)
np.add.at(means, lab, real)
means = (means / np.maximum(sizes, 1)[:, None]).astype(np.float32)
resid = real - means[lab]
spread = np.bincount(lab, weights=(resid.astype(np.float64) ** 2).sum(1), minlength=C) / np.maximum(sizes, 1)
spread = (spread / spread[sizes > 0].mean()).astype(np.float32)
s, V = np.linalg.eigh(np.cov(resid, rowvar=False).astype(np.float64))
s = np.clip(s, 0, None)
L = (V * np.sqrt(s)).astype(np.float32)          # d x d: z @ L.T has covariance S
sub_a = rng.uniform(0.2, 0.7, C * SUB).astype(np.float32)
sub_g = np.repeat(spread, SUB)
subs = np.repeat(means, SUB, axis=0) + np.sqrt(sub_g * sub_a)[:, None] * (
    rng.standard_normal((C * SUB, d), dtype=np.float32) @ L.T)
sub_p = np.repeat(sizes / sizes.sum() / SUB, SUB)


def draw(count):
    pick = rng.choice(C * SUB, size=count, p=sub_p)
    x = subs[pick] + np.sqrt(sub_g[pick] * (1 - sub_a[pick]))[:, None] * (
        rng.standard_normal((count, d), dtype=np.float32) @ L.T)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


res = np.lib.format.open_memmap(out + ".part", mode="w+", dtype=np.float32, shape=(n, d))
for a in range(0, n, 100_000):
    res[a:min(n, a + 100_000)] = draw(min(n, a + 100_000) - a)
res.flush()
del res
import os
os.replace(out + ".part", out)
syn = np.load(out, mmap_mode="r")

lines = [f"generator fitted to {real_path} ({m} x {d}) in {time.time() - t0:.0f} s; {n} points -> {out}"]
def spectrum(x):
    ev = np.linalg.eigvalsh(np.cov(np.asarray(x, dtype=np.float64), rowvar=False))[::-1]
    return ev / ev.sum()
sr, ss = spectrum(real), spectrum(syn[:m])
lines.append("covariance eigenvalues, share of the total (real | synthetic):")
for i in (0, 1, 2, 4, 9, 19, 49, 99, 199, 383):
    if i < d:
        lines.append(f"  #{i + 1:<4d} {sr[i]:.5f} | {ss[i]:.5f}")
lines.append(f"  components for 50% / 90% of the variance: {np.searchsorted(np.cumsum(sr), .5) + 1} / "
             f"{np.searchsorted(np.cumsum(sr), .9) + 1} | {np.searchsorted(np.cumsum(ss), .5) + 1} / "
             f"{np.searchsorted(np.cumsum(ss), .9) + 1}")


def nn_cos(x):
    x = np.ascontiguousarray(x, dtype=np.float32)
    idx = faiss.IndexFlatIP(d)
    idx.add(x)
    q = x[rng.choice(len(x), 2000, replace=False)]
    sims, _ = idx.search(q, 11)          # the point itself first
    return sims[:, 1], sims[:, 10]
r1, r10 = nn_cos(real)
s1, s10 = nn_cos(syn[:m])
bins = np.linspace(0.2, 1.0, 17)
for name, a, b in (("1st", r1, s1), ("10th", r10, s10)):
    ha, _ = np.histogram(a, bins)
    hb, _ = np.histogram(b, bins)
    lines.append(f"cosine to the {name} nearest neighbour, 2,000 points in {m}: median {np.median(a):.3f} | {np.median(b):.3f}")
    for lo, x, y in zip(bins[:-1], ha, hb):
        lines.append(f"  [{lo:.2f}, {lo + 0.05:.2f}) {x / 20:5.1f}% | {y / 20:5.1f}%")
text = "\n".join(lines)
print(text)
with open(out + ".report.txt", "w") as f:
    f.write(text + "\n")
