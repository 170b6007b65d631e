#!/usr/bin/env bash
# A map of sentence vectors, Latent's UMAP against scikit-learn's t-SNE (default parameters) on the same vectors
# and the same machine: the trustworthiness of each layout (scikit-learn's sklearn.manifold.trustworthiness,
# k = 10 by default; 1 is perfect) and the time of each fit. Latent's time is Umap.fit as UmapBench reports it
# (exact k-NN on the compute backend, fuzzy graph, PCA start, 500 epochs of SGD; JVM start and file reading
# excluded); t-SNE's is TSNE.fit_transform.
#
#   bash jmh/map/umap-vs-tsne.sh [VECTORS.npy] [K] [UMAP options...]
#   (after mvn package; apt-get install python3-sklearn; runs /usr/bin/python3)
#
# Without VECTORS.npy (or with "-") it embeds the bundled sample corpus (5,000 WordNet glosses, the default
# model all-minilm-l6-v2-q, unit vectors) with `latent embed` first. UMAP options go to UmapBench
# (for example --neighbors 30 --epochs 1000 --init random); the metric is cosine unless given.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
vectors="${1:--}"; k="${2:-10}"; shift $(( $# > 2 ? 2 : $# ))
py=/usr/bin/python3
jar="$root/target/latent.jar"
[ -f "$jar" ] || { echo "umap-vs-tsne: build first: mvn -B -q package -DskipTests" >&2; exit 1; }
"$py" -c "import sklearn.manifold" 2>/dev/null || { echo "umap-vs-tsne: needs scikit-learn for $py: apt-get install python3-sklearn" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [ "$vectors" = "-" ]; then
  vectors="$work/glosses.npy"
  echo "embedding the sample corpus: java -jar target/latent.jar embed models/corpus/wordnet-glosses.jsonl -o $vectors --quiet"
  java -jar "$jar" embed "$root/models/corpus/wordnet-glosses.jsonl" -o "$vectors" --quiet 2>&1 | tail -1
fi
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') (family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), model $(grep -m1 '^model[[:space:]]*:' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(nproc) cores, $(grep -m1 -o 'avx512f' /proc/cpuinfo || echo 'no avx512f'); java $(java -version 2>&1 | head -1 | cut -d'"' -f2)"
metric=(--metric cosine)
for a in "$@"; do [ "$a" = "--metric" ] && metric=(); done
umap=$(java -cp "$jar:$root/target/lib/*" dev.latent.bench.UmapBench "$vectors" -o "$work/umap.npy" "${metric[@]}" --trust "$k" "$@")
echo "$umap"
"$py" "$root/jmh/map/tsne_compare.py" "$vectors" "$work/umap.npy" "$k" | tee "$work/tsne.txt"
umap_s=$(echo "$umap" | sed -E 's/.*-> [0-9]+.*, ([0-9.]+) s \(knn.*/\1/')
tsne_s=$(awk '/^tsne seconds/ {print $3}' "$work/tsne.txt")
awk -v u="$umap_s" -v t="$tsne_s" 'BEGIN { printf "time: umap %.2f s, tsne %.2f s, tsne / umap %.1fx\n", u, t, t / u }'
