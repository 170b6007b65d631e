#!/usr/bin/python3
"""The FAISS side of the approximate-search benchmark (Debian's python3-faiss on OpenBLAS).

Usage: faiss_ann.py BASE.npy QUERIES.npy TRUTH.npy CONFIG [PARAM...]
  CONFIG: ivfflat NLIST | hnsw M | ivfsq8 NLIST | ivfpq NLIST M_PQ   (ivfpq is refined exactly, k_factor R)
Prints one line for the build, then one line per search setting:
  faiss <config> build <seconds> bytes/vector <b>
  faiss <config> <knob>=<v> recall@10 <r> batch_qps <q> single_p50_ms <ms>
Inner product on unit vectors (cosine). Batch: all queries in one search() call; single: one query per call,
the first 200 queries, median latency. Threads: what OMP gives (set OMP_NUM_THREADS).
"""
import sys
import time

import faiss
import numpy as np

base = np.load(sys.argv[1]).astype(np.float32)
queries = np.load(sys.argv[2]).astype(np.float32)
truth = np.load(sys.argv[3])
config = sys.argv[4]
args = [int(a) for a in sys.argv[5:]]
n, d = base.shape
k = 10


def recall(ids):
    hits = 0
    for i in range(len(queries)):
        hits += len(set(ids[i, :k].tolist()) & set(truth[i, :k].tolist()))
    return hits / (len(queries) * k)


def measure(index, label):
    t = time.perf_counter()
    _, ids = index.search(queries, k)
    batch = time.perf_counter() - t
    lat = []
    for i in range(min(200, len(queries))):
        t = time.perf_counter()
        index.search(queries[i:i + 1], k)
        lat.append(time.perf_counter() - t)
    print(f"faiss {config} {label} recall@10 {recall(ids):.4f} batch_qps {len(queries) / batch:.0f} "
          f"single_p50_ms {1000 * float(np.median(lat)):.3f}", flush=True)


t = time.perf_counter()
if config == "ivfflat":
    nlist = args[0]
    q = faiss.IndexFlatIP(d)
    index = faiss.IndexIVFFlat(q, d, nlist, faiss.METRIC_INNER_PRODUCT)
    index.train(base)
    index.add(base)
elif config == "ivfsq8":
    nlist = args[0]
    q = faiss.IndexFlatIP(d)
    index = faiss.IndexIVFScalarQuantizer(q, d, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    index.train(base)
    index.add(base)
elif config == "ivfpq":
    nlist, m = args[0], args[1]
    q = faiss.IndexFlatIP(d)
    pq = faiss.IndexIVFPQ(q, d, nlist, m, 8, faiss.METRIC_INNER_PRODUCT)
    index = faiss.IndexRefineFlat(pq)
    index.train(base)
    index.add(base)
elif config == "hnsw":
    index = faiss.IndexHNSWFlat(d, args[0], faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 40
    index.add(base)
else:
    sys.exit("unknown config " + config)
build = time.perf_counter() - t
size = faiss.serialize_index(index).size
print(f"faiss {config} build {build:.2f} bytes/vector {size / n:.1f}", flush=True)

if config == "hnsw":
    for ef in (16, 32, 64, 128, 256):
        index.hnsw.efSearch = ef
        measure(index, f"efSearch={ef}")
else:
    ivf = pq if config == "ivfpq" else faiss.extract_index_ivf(index)
    for nprobe in (1, 2, 4, 8, 16, 32, 64, 128):
        if nprobe > ivf.nlist:
            break
        ivf.nprobe = nprobe
        if config == "ivfpq":
            index.k_factor = 4
        measure(index, f"nprobe={nprobe}")
