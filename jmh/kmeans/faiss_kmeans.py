"""FAISS's k-means on an .npy file, timed the way Latent's is: training, then the final assignment of every
point (FAISS's train() leaves it to the caller; Latent's fit() returns labels matching its centroids).
Prints one line: seconds for train, seconds for train + assignment, and the final inertia as Latent defines
it (sum of cosine distances 1 - cos for spherical, of squared L2 otherwise).

    OMP_WAIT_POLICY=PASSIVE python3 faiss_kmeans.py X.npy K ITERATIONS SPHERICAL(0|1) SEED
"""
import sys
import time

import faiss
import numpy as np

path, k, niter, spherical, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1", int(sys.argv[5])
x = np.load(path)
n, d = x.shape
km = faiss.Kmeans(d, k, niter=niter, seed=seed, spherical=spherical, verbose=False,
                  max_points_per_centroid=max(256, (n + k - 1) // k))
t0 = time.perf_counter()
km.train(x)
t1 = time.perf_counter()
dist, labels = km.index.search(x, 1)
t2 = time.perf_counter()
inertia = float(np.sum(1.0 - dist[:, 0].astype(np.float64))) if spherical else float(np.sum(dist[:, 0].astype(np.float64)))
print(f"train {t1 - t0:.3f} total {t2 - t0:.3f} inertia {inertia:.6g} threads {faiss.omp_get_max_threads()}")
