"""k-means quality, Latent (`latent cluster`) against scikit-learn's KMeans, same seeds, side by side.

    /usr/bin/python3 jmh/kmeans/restarts_vs_sklearn.py JAR WORKDIR [SEEDS]

Data sets:
  digits: sklearn's bundled load_digits() (1797 x 64 pixels, L2, k = 10), ARI against the true digit;
  text:   WORKDIR/glosses.npy, the sample corpus embedded by our encoder (cosine, k = 20). No true classes:
          ARI against scikit-learn's n_init=10 partition with the same seed (agreement), and the inertia.
Inertia is computed here, the same way for every partition: digits, the sum of squared L2 distances to
each cluster's mean (scikit-learn's objective); text, the sum of cosine distances to each cluster's mean
direction (Latent's spherical objective; scikit-learn runs Euclidean k-means on the unit vectors).
Latent configurations: restarts 1 or 10, seeding with 1 candidate per k-means++ step (plain k-means++,
the old default) or 2 + ln k (greedy, scikit-learn's choice). scikit-learn: KMeans(init='k-means++',
n_init=1 or 10, random_state=seed), its defaults otherwise (greedy k-means++ on all points, Lloyd,
max_iter 300). Prints one line per run, then mean (min-max) per configuration, then the stability of each
configuration: the ARI between its partitions for every two seeds (45 pairs for 10 seeds), mean (min-max):
1 would mean the result does not depend on the seed at all.
"""
import os
import subprocess
import sys

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score

jar, work = sys.argv[1], sys.argv[2]
seeds = list(range(int(sys.argv[3]) if len(sys.argv) > 3 else 10))


def inertia(x, labels, metric):
    total = 0.0
    for c in np.unique(labels):
        m = x[labels == c].astype(np.float64)
        if metric == "l2":
            total += ((m - m.mean(axis=0)) ** 2).sum()
        else:
            mean = m.sum(axis=0)
            mean /= np.linalg.norm(mean)
            total += (1.0 - m @ mean).sum()
    return total


def latent(path, metric, k, seed, restarts, candidates):
    out = os.path.join(work, "assign.tsv")
    if os.path.exists(out):
        os.remove(out)
    subprocess.run(["java", "-jar", jar, "cluster", path, "-k", str(k), "--metric", metric, "--seed", str(seed),
                    "--restarts", str(restarts), "--seed-candidates", str(candidates), "--assignments", out,
                    "--show", "0", "-q"], check=True, stdout=subprocess.DEVNULL)
    rows = np.loadtxt(out, skiprows=1, dtype=np.float64)
    order = np.argsort(rows[:, 0])
    return rows[order, 1].astype(int)


def sklearn(x, k, seed, n_init):
    return KMeans(n_clusters=k, init="k-means++", n_init=n_init, random_state=seed).fit(x).labels_


digits = load_digits()
xd = digits.data.astype(np.float32)
np.save(os.path.join(work, "digits.npy"), xd)
xt = np.load(os.path.join(work, "glosses.npy")).astype(np.float32)
xt_unit = xt / np.linalg.norm(xt, axis=1, keepdims=True)
sets = [("digits", os.path.join(work, "digits.npy"), xd, "l2", 10, digits.target),
        ("text", os.path.join(work, "glosses.npy"), xt_unit, "cosine", 20, None)]
configs = [("latent plain++ r1", 1, 1), ("latent greedy++ r1", 1, 0), ("latent plain++ r10", 10, 1),
           ("latent greedy++ r10", 10, 0), ("sklearn n_init=1", None, 1), ("sklearn n_init=10", None, 10)]
print("data set | configuration | seed | ARI | inertia")
summary = {}
partitions = {}
for name, path, x, metric, k, truth in sets:
    for seed in seeds:
        ref = sklearn(x, k, seed, 10) if truth is None else truth
        for cname, restarts, opt in configs:
            if restarts is None:
                labels = ref if (truth is None and opt == 10) else sklearn(x, k, seed, opt)
            else:
                labels = latent(path, metric, k, seed, restarts, opt)
            ari = adjusted_rand_score(ref, labels)
            j = inertia(x, labels, metric)
            summary.setdefault((name, cname), []).append((ari, j))
            partitions.setdefault((name, cname), []).append(labels)
            print(f"{name} | {cname} | {seed} | {ari:.4f} | {j:.6g}", flush=True)
print()
print("ARI: digits against the true digit; text against scikit-learn n_init=10 with the same seed")
print(f"{'data set':8} {'configuration':22} {'ARI mean (min-max)':26} {'inertia mean (min-max)'}")
for (name, cname), v in summary.items():
    a = np.array([p[0] for p in v])
    j = np.array([p[1] for p in v])
    print(f"{name:8} {cname:22} {a.mean():.3f} ({a.min():.3f}-{a.max():.3f})        "
          f"{j.mean():.6g} ({j.min():.6g}-{j.max():.6g})")
print()
print("stability: ARI between the partitions of every two seeds")
print(f"{'data set':8} {'configuration':22} {'ARI mean (min-max)'}")
for (name, cname), ls in partitions.items():
    a = np.array([adjusted_rand_score(ls[i], ls[j]) for i in range(len(ls)) for j in range(i + 1, len(ls))])
    print(f"{name:8} {cname:22} {a.mean():.3f} ({a.min():.3f}-{a.max():.3f})")
