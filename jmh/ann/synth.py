#!/usr/bin/python3
"""Synthetic vectors with the spectrum and cluster structure of a real set of text embeddings.

Usage: synth.py REAL.npy N OUT.npy [SEED]    (REAL: unit vectors, e.g. every WordNet gloss embedded)

Generator, fitted to REAL:
  1. spherical k-means of REAL into C = 1,024 clusters: cluster sizes p_j, and the mean m_j of each cluster's
     members (not normalised: a loose cluster's mean is shorter, as in REAL);
  2. the residuals x - m_label: their covariance S = V diag(s) V^T (eigen-decomposition, all d components),
     and each cluster's spread g_j (its mean squared residual over the mean of all);
  3. N points: a cluster j ~ p, then one of its SUB sub-centres m_j + sqrt(g_j a) L z1, then the point
     sub-centre + sqrt(g_j (1 - a)) L z2, normalised to unit length, where L = V diag(sqrt s), z1 and z2 are
     standard normal and a, the share of the spread a sub-centre takes, is drawn per sub-centre uniformly
     from [0.2, 0.7] (tight and loose clumps, as real neighbourhoods vary in density).
So the points have REAL's mean direction and cluster weights, its residual spectrum and cluster spreads, and
clumps inside clusters. SUB = 12 * N / len(REAL) (at least 12): about seven points per sub-centre at any N, so
a larger set has REAL's neighbourhood density and more clumps (more topics), not denser ones: with a fixed SUB
a million points crowd each clump and the 10 nearest neighbours of a query nearly always share its list. Validation (printed, and written to OUT.report.txt): the covariance
eigenvalue decay of REAL and of a set of REAL's size drawn by the same rule, and histograms of the cosine to
the 1st and 10th nearest neighbour for 2,000 points of each; then the same medians within the full output.
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
C = 1024
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


def generator(total):
    """draw(count) for a set of `total` points: its sub-centres, as many as the rule gives for that size."""
    sub = max(12, round(12 * total / m))
    a = rng.uniform(0.2, 0.7, C * sub).astype(np.float32)
    g = np.repeat(spread, sub)
    centres = np.repeat(means, sub, axis=0) + np.sqrt(g * a)[:, None] * (
        rng.standard_normal((C * sub, d), dtype=np.float32) @ L.T)
    p = np.repeat(sizes / sizes.sum() / sub, sub)

    def draw(count):
        pick = rng.choice(C * sub, size=count, p=p)
        x = centres[pick] + np.sqrt(g[pick] * (1 - a[pick]))[:, None] * (
            rng.standard_normal((count, d), dtype=np.float32) @ L.T)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x.astype(np.float32)
    return draw, sub


draw, SUB = generator(n)
res = np.lib.format.open_memmap(out + ".part", mode="w+", dtype=np.float32, shape=(n, d))
for a in range(0, n, 100_000):
    res[a:min(n, a + 100_000)] = draw(min(n, a + 100_000) - a)
res.flush()
del res
import os
os.replace(out + ".part", out)
syn = np.load(out, mmap_mode="r")
same_size = generator(m)[0](m)    # REAL's size by the same rule, for the comparison

lines = [f"generator fitted to {real_path} ({m} x {d}) in {time.time() - t0:.0f} s; {n} points ({SUB} sub-centres "
         f"per cluster) -> {out}; compared below with {m} points drawn by the same rule (12 per cluster)"]
def spectrum(x):
    ev = np.linalg.eigvalsh(np.cov(np.asarray(x, dtype=np.float64), rowvar=False))[::-1]
    return ev / ev.sum()
sr, ss = spectrum(real), spectrum(same_size)
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
s1, s10 = nn_cos(same_size)
bins = np.linspace(0.2, 1.0, 17)
for name, a, b in (("1st", r1, s1), ("10th", r10, s10)):
    ha, _ = np.histogram(a, bins)
    hb, _ = np.histogram(b, bins)
    lines.append(f"cosine to the {name} nearest neighbour, 2,000 points in {m}: median {np.median(a):.3f} | {np.median(b):.3f}")
    for lo, x, y in zip(bins[:-1], ha, hb):
        lines.append(f"  [{lo:.2f}, {lo + 0.05:.2f}) {x / 20:5.1f}% | {y / 20:5.1f}%")
f1, f10 = nn_cos(syn)
lines.append(f"within the full {n}-point output: cosine to the 1st / 10th nearest neighbour, median {np.median(f1):.3f} / "
             f"{np.median(f10):.3f}")
text = "\n".join(lines)
print(text)
with open(out + ".report.txt", "w") as f:
    f.write(text + "\n")
