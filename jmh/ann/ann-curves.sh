#!/usr/bin/env bash
# Recall@10 against queries per second: Latent's indexes, FAISS (Debian's python3-faiss on OpenBLAS) and
# Lucene's HNSW, one after another on the same cores and the same data, printed as one table.
#
#   bash jmh/ann/ann-curves.sh DATA_DIR [WHICH...]
#     DATA_DIR holds base.npy, queries.npy and truth.npy (jmh/ann/prepare.py makes them);
#     WHICH: any of latent-flat latent-ivf latent-ivf-sq8 faiss-ivfflat faiss-ivfsq8 faiss-ivfpq faiss-hnsw
#     lucene-hnsw (default: all).
#   Needs: mvn -B -q package -DskipTests at the root, the JMH module built (jmh/README.md), a JDK 21+ as
#   $JAVA (default: Temurin 25), apt-get install python3-faiss libopenblas0-pthread.
#
# Data sets used in docs/index-kinds.md:
#   python3 jmh/ann/wordnet-glosses.py /tmp/ann/wordnet.jsonl
#   java -jar target/latent.jar embed /tmp/ann/wordnet.jsonl -o /tmp/ann/wordnet.npy
#   python3 jmh/ann/prepare.py /tmp/ann/wordnet.npy /tmp/ann/wordnet 1000
#   python3 jmh/ann/synth.py /tmp/ann/wordnet.npy 1001000 /tmp/ann/synth.npy
#   python3 jmh/ann/prepare.py /tmp/ann/synth.npy /tmp/ann/synth 1000
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
data="${1:?usage: ann-curves.sh DATA_DIR [WHICH...]}"; shift
which=("$@")
[ ${#which[@]} -gt 0 ] || which=(latent-flat latent-ivf latent-ivf-sq8 faiss-ivfflat faiss-ivfsq8 faiss-ivfpq faiss-hnsw lucene-hnsw)
java="${JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}"
jar="$root/jmh/target/benchmarks.jar"
py=/usr/bin/python3
n=$("$py" -c "import numpy as np, sys; print(np.load(sys.argv[1], mmap_mode='r').shape[0])" "$data/base.npy")
lists=$("$py" -c "import math, sys; n = int(sys.argv[1]); print(max(1, min(round(4 * math.sqrt(n)), n // 8)))" "$n")
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(grep -m1 -o 'avx512f' /proc/cpuinfo || echo 'no avx512f')"
echo "data: $data, $n base vectors, $("$py" -c "import numpy as np, sys; print(np.load(sys.argv[1]).shape[0])" "$data/queries.npy") queries; lists $lists (4 sqrt n)"
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="$(nproc)"
for w in "${which[@]}"; do
  case "$w" in
    latent-flat) "$java" -cp "$jar" dev.latent.jmh.AnnCurves "$data" latent-flat ;;
    latent-ivf) "$java" -cp "$jar" dev.latent.jmh.AnnCurves "$data" latent-ivf "$lists" ;;
    latent-ivf-sq8) "$java" -cp "$jar" dev.latent.jmh.AnnCurves "$data" latent-ivf-sq8 "$lists" ;;
    faiss-ivfflat) "$py" "$root/jmh/ann/faiss_ann.py" "$data/base.npy" "$data/queries.npy" "$data/truth.npy" ivfflat "$lists" ;;
    faiss-ivfsq8) "$py" "$root/jmh/ann/faiss_ann.py" "$data/base.npy" "$data/queries.npy" "$data/truth.npy" ivfsq8 "$lists" ;;
    faiss-ivfpq) "$py" "$root/jmh/ann/faiss_ann.py" "$data/base.npy" "$data/queries.npy" "$data/truth.npy" ivfpq "$lists" 48 ;;
    faiss-hnsw) "$py" "$root/jmh/ann/faiss_ann.py" "$data/base.npy" "$data/queries.npy" "$data/truth.npy" hnsw 32 ;;
    lucene-hnsw) "$java" -cp "$jar" dev.latent.jmh.AnnCurves "$data" lucene-hnsw 32 ;;
    *) echo "ann-curves: unknown $w" >&2; exit 2 ;;
  esac 2>&1 | grep -v -e '^WARNING' -e '^INFO' -e '^[A-Z][a-z][a-z] [0-9]' -e '^$'
done
