#!/usr/bin/python3
"""Splits a set of unit vectors into base and held-out queries and computes the exact top-10 of each query.

Usage: prepare.py ALL.npy OUTDIR [QUERIES] [SEED]
Writes OUTDIR/base.npy, OUTDIR/queries.npy, OUTDIR/truth.npy (int64 row numbers into base, 100 per query,
exact inner product by FAISS's brute-force IndexFlatIP). Row numbers are the ids on every side.
"""
import os
import sys

import faiss
import numpy as np

src, outdir = sys.argv[1], sys.argv[2]
nq = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 11
x = np.load(src, mmap_mode="r")
n, d = x.shape
rng = np.random.default_rng(seed)
held = np.sort(rng.choice(n, nq, replace=False))
keep = np.ones(n, dtype=bool)
keep[held] = False
os.makedirs(outdir, exist_ok=True)
queries = np.ascontiguousarray(x[held], dtype=np.float32)
base = np.lib.format.open_memmap(os.path.join(outdir, "base.npy"), mode="w+", dtype=np.float32, shape=(n - nq, d))
w = 0
for a in range(0, n, 200_000):
    block = np.asarray(x[a:a + 200_000], dtype=np.float32)[keep[a:a + 200_000]]
    base[w:w + len(block)] = block
    w += len(block)
base.flush()
np.save(os.path.join(outdir, "queries.npy"), queries)
index = faiss.IndexFlatIP(d)
index.add(np.asarray(base))
_, truth = index.search(queries, 100)
np.save(os.path.join(outdir, "truth.npy"), truth.astype(np.int64))
print(f"{n - nq} base vectors, {nq} queries, d = {d} -> {outdir}")
