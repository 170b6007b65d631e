#!/usr/bin/env bash
# k-means, Latent against FAISS (faiss.Kmeans from Debian's python3-faiss) on the same data and the same
# cores, alternating run by run. Both sides time the clustering only (data already in memory; for Latent the
# fit time `latent cluster` reports, JVM start and file reading excluded): FAISS's train() plus its final
# index.search(x, 1) for the labels, against Latent's fit, which returns labels matching its centroids.
# Both do ITER centroid updates; FAISS seeds with random points, Latent with k-means++ on a sample.
#
#   bash jmh/kmeans/kmeans-vs-faiss.sh [N] [D] [K] [ITER] [RUNS]    default 200000 384 1024 10 3
#   (after mvn package; apt-get install python3-faiss libopenblas0-pthread: without OpenBLAS, FAISS falls
#   back to the reference BLAS and runs some 40 times slower)
#
# Data: N unit vectors of dimension D, standard normal then normalised, numpy seed 42. Prints each run, then
# medians (min-max) and FAISS / Latent, and the CPU it ran on.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
n="${1:-200000}"; d="${2:-384}"; k="${3:-1024}"; iters="${4:-10}"; runs="${5:-3}"
py=/usr/bin/python3
jar="$root/target/latent.jar"
[ -f "$jar" ] || { echo "kmeans-vs-faiss: build first: mvn -B -q package -DskipTests" >&2; exit 1; }
"$py" -c "import faiss" 2>/dev/null || { echo "kmeans-vs-faiss: needs FAISS for $py: apt-get install python3-faiss" >&2; exit 1; }
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 || true)
case "$blas" in *openblas*) ;; *) echo "kmeans-vs-faiss: the system BLAS is $blas, not OpenBLAS: apt-get install libopenblas0-pthread" >&2; exit 1;; esac
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$py" - "$work/x.npy" "$n" "$d" <<'PY'
import sys
import numpy as np
path, n, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
x = np.random.default_rng(42).standard_normal((n, d), dtype=np.float32)
x /= np.linalg.norm(x, axis=1, keepdims=True)
np.save(path, x)
PY
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, flags: $(grep -m1 -o 'avx512f' /proc/cpuinfo || echo 'no avx512f') $(grep -m1 -o ' avx2' /proc/cpuinfo || true)"
echo "BLAS for FAISS: $blas"
echo "data: $n x $d unit vectors (seed 42), k = $k, $iters iterations, spherical (cosine)"
faiss_t=(); latent_t=()
for r in $(seq "$runs"); do
  f=$(OMP_WAIT_POLICY=PASSIVE "$py" "$root/jmh/kmeans/faiss_kmeans.py" "$work/x.npy" "$k" "$iters" 1 42)
  echo "run $r FAISS:  $f"
  faiss_t+=("$(echo "$f" | awk '{print $4}')")
  l=$(java -jar "$jar" cluster "$work/x.npy" -k "$k" --iterations "$iters" --tolerance 0 --seed 42 --show 0 -q | head -1)
  echo "run $r Latent: $l"
  latent_t+=("$(echo "$l" | sed -E 's/.* ([0-9.]+) s on .*/\1/')")
done
stats() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {printf "%.2f s (%.2f-%.2f)", v[int((NR+1)/2)], v[1], v[NR]}'; }
fm=$(printf '%s\n' "${faiss_t[@]}" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
lm=$(printf '%s\n' "${latent_t[@]}" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
echo "FAISS  (train + assign): $(stats "${faiss_t[@]}")"
echo "Latent (fit):            $(stats "${latent_t[@]}")"
awk -v f="$fm" -v l="$lm" -v n="$n" -v d="$d" -v k="$k" -v it="$iters" 'BEGIN {
  printf "FAISS / Latent: %.2fx; assignment work %.1f GFLOP per pass (2 n k d), %d passes\n", f / l, 2 * n * k * d / 1e9, it + 1 }'
