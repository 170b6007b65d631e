#!/usr/bin/env bash
# k-means restarts one after the other against the same restarts in parallel (KMeans.parallel), and one run
# with plain and with greedy k-means++ seeding, alternating round by round in one JVM (RestartsTiming.java).
#
#   bash jmh/kmeans/restarts-timing.sh WORKDIR [ROUNDS]     (after mvn package; WORKDIR holds digits.npy and
#   glosses.npy as jmh/kmeans/restarts_vs_sklearn.py leaves them)
#
# Data: sklearn's digits (1797 x 64, L2, k = 10), the sample corpus's embeddings (5000 x 384, cosine, k = 20)
# and, when /work/data/wordnet.npy exists, its first 50,000 rows (cosine, k = 100). 10 restarts each.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$1"; rounds="${2:-5}"
cp="$root/target/latent.jar:$root/target/lib/*"
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(grep -m1 -o 'avx512f' /proc/cpuinfo || echo 'no avx512f')"
run() { java -cp "$cp" "$root/jmh/kmeans/RestartsTiming.java" "$@"; echo; }
run "$work/digits.npy" l2 10 10 "$rounds"
run "$work/glosses.npy" cosine 20 10 "$rounds"
if [ -f /work/data/wordnet.npy ]; then
  /usr/bin/python3 -c "import numpy as np, sys; np.save(sys.argv[2], np.load(sys.argv[1], mmap_mode='r')[:50000])" \
    /work/data/wordnet.npy "$work/wordnet-50k.npy"
  run "$work/wordnet-50k.npy" cosine 100 10 "$(( rounds < 3 ? rounds : 3 ))"
fi
