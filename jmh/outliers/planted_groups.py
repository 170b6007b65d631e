"""Outlier scores on planted groups of foreign texts among the WordNet glosses, all embedded by our encoder.

    /usr/bin/python3 jmh/outliers/planted_groups.py JAR WORKDIR [TRIALS] [SCORES]

The reference is the sample corpus (models/corpus/wordnet-glosses.jsonl, 5,000 glosses) plus m planted
texts of one foreign kind, m in 1, 5, 20, 50 (and m = 0, once: how often the warning fires on the clean
corpus), drawn at random (seed = trial) from a pool:
  code: 400 distinct lines of Java source of this repository (src/*/main/java, 30-120 characters, with '(' or
  ';'), drawn with numpy seed 0; the pool depends on the sources, so it is kept as WORKDIR/code.jsonl and its
  embeddings as WORKDIR/code.npy, and a WORKDIR that holds them is reused as it is (the pool of the committed
  results is jmh/results/analyse3-20261206/code-pool.jsonl);
the planted texts resemble each other, so for m > 1 they form a small dense group of their own.
Each planted set is scored by `latent outliers` (every --score in SCORES, k = 10, cosine, the reference
scoring itself; SCORE@K runs with -k K: knn@50 by default, k above every planted group) and by
scikit-learn's LocalOutlierFactor (n_neighbors 10 and 20, Euclidean on the unit
vectors, i.e. the chord Latent uses) and IsolationForest (random_state = trial). Reported: precision at the
planted count (planted among the m highest scores) and ROC AUC (planted = positive), per run, then the mean
(min-max) over the trials. Also two offline ensembles of Latent's lof and knn scores (their rank average,
and the sum of their robust z-scores: what an ensemble of normalised scores would give), and whether the
tight-group warning of `latent outliers` fired on its top 20 (the default --top).
"""
import json
import os
import re
import subprocess
import sys

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import LocalOutlierFactor
from scipy.stats import rankdata

jar, work = sys.argv[1], sys.argv[2]
trials = int(sys.argv[3]) if len(sys.argv) > 3 else 5
scores = (sys.argv[4] if len(sys.argv) > 4 else "knn,mean-knn,centroid,lof,knn@50").split(",")
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sizes = [0, 1, 5, 20, 50]


def embed(texts, name):
    src = os.path.join(work, name + ".jsonl")
    out = os.path.join(work, name + ".npy")
    if not os.path.exists(out):
        with open(src, "w") as f:
            for i, t in enumerate(texts):
                f.write(json.dumps({"id": str(i), "text": t}) + "\n")
        subprocess.run(["java", "-jar", jar, "embed", src, "-o", out], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    x = np.load(out).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def code_lines():
    seen = set()
    lines = []
    for d, _, files in sorted(os.walk(os.path.join(root, "src"))):
        if "/main/java" not in d.replace(os.sep, "/"):
            continue
        for fn in sorted(files):
            if not fn.endswith(".java"):
                continue
            for line in open(os.path.join(d, fn), encoding="utf-8"):
                s = line.strip()
                if 30 <= len(s) <= 120 and ("(" in s or ";" in s) and not s.startswith(("*", "/", "import", "@")) \
                        and s not in seen:
                    seen.add(s)
                    lines.append(s)
    rng = np.random.default_rng(0)
    return [lines[i] for i in rng.choice(len(lines), 400, replace=False)]


glosses = [json.loads(l)["text"] for l in open(os.path.join(root, "models/corpus/wordnet-glosses.jsonl"))]
base = embed(glosses, "glosses")
pools = {"code": embed(code_lines(), "code")}


def latent(path, score):
    """`latent outliers` with --score SCORE (SCORE@K: with -k K instead of 10)."""
    out = os.path.join(work, "scores.tsv")
    if os.path.exists(out):
        os.remove(out)
    score, _, k = score.partition("@")
    p = subprocess.run(["java", "-jar", jar, "outliers", path, "--score", score, "-k", k or "10", "--metric", "cosine",
                        "--top", "20", "-o", out, "-q"], check=True, capture_output=True, text=True)
    warn = [l for l in (p.stdout + p.stderr).splitlines() if "warning" in l.lower()]
    rows = np.loadtxt(out, skiprows=1, usecols=(0, 1))
    return rows[np.argsort(rows[:, 0]), 1], (warn[0] if warn else "")


def robust_z(s):
    """(s - median) / (1.4826 MAD): a score standardised on the reference's own distribution."""
    med = np.median(s)
    return (s - med) / (1.4826 * np.median(np.abs(s - med)))


def measure(y, s, m):
    top = np.argsort(-s, kind="stable")[:m]
    return y[top].mean(), roc_auc_score(y, s)


results = {}
print("kind | m | trial | score | precision@m | ROC AUC | warning")
for kind, pool in pools.items():
    for m in sizes:
        for t in range(trials if m > 0 else 1):
            rng = np.random.default_rng(1000 * m + t)
            planted = pool[rng.choice(len(pool), m, replace=False)]
            x = np.vstack([base, planted]).astype(np.float32)
            y = np.r_[np.zeros(len(base)), np.ones(m)]
            path = os.path.join(work, "planted.npy")
            np.save(path, x)
            got = {}
            warns = {}
            for sc in scores:
                got["latent " + sc], warns["latent " + sc] = latent(path, sc)
            if "latent lof" in got and "latent knn" in got:
                got["offline rank-avg(lof, knn)"] = (rankdata(got["latent lof"]) + rankdata(got["latent knn"])) / 2
                got["offline robust-z(lof) + z(knn)"] = robust_z(got["latent lof"]) + robust_z(got["latent knn"])
            for nn in (10, 20):
                lof = LocalOutlierFactor(n_neighbors=nn).fit(x)
                got[f"sklearn LOF n_neighbors={nn}"] = -lof.negative_outlier_factor_
            iso = IsolationForest(random_state=t).fit(x)
            got["sklearn IsolationForest"] = -iso.score_samples(x)
            for name, s in got.items():
                if m == 0:
                    results.setdefault((kind, m, name), []).append((np.nan, np.nan, bool(warns.get(name))))
                    print(f"{kind} | 0 | {t} | {name} | - | - | {warns.get(name, '')}", flush=True)
                    continue
                p, auc = measure(y, np.asarray(s, dtype=np.float64), m)
                results.setdefault((kind, m, name), []).append((p, auc, bool(warns.get(name))))
                print(f"{kind} | {m} | {t} | {name} | {p:.3f} | {auc:.4f} | {warns.get(name, '')}", flush=True)
print()
print(f"{'kind':5} {'m':>3} {'score':32} {'precision@m mean (min-max)':28} {'ROC AUC mean (min-max)':26} warned")
for (kind, m, name), v in results.items():
    p = np.array([a[0] for a in v])
    a = np.array([a[1] for a in v])
    w = f"{sum(x[2] for x in v)}/{len(v)}" if name.startswith("latent") else ""
    if m == 0:
        print(f"{kind:5} {m:3d} {name:32} {'-':28} {'-':26} {w}")
        continue
    print(f"{kind:5} {m:3d} {name:32} {p.mean():.3f} ({p.min():.2f}-{p.max():.2f})           "
          f"{a.mean():.4f} ({a.min():.4f}-{a.max():.4f})     {w}")
