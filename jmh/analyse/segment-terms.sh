#!/usr/bin/env bash
# Segment names before and after the refinement of issue 28 (item 3), on the sample corpus (5,000 WordNet
# glosses) and on a corpus the defaults were not tuned on (5,000 Debian package descriptions from the local APT
# lists, built by debian_corpus.py). Each corpus is embedded once into an index (model recorded: the default
# all-minilm-l6-v2-q), clustered with `latent cluster` (seed 42) for each k, and named three ways on the same
# clusters:
#   before  --plain-terms --common-terms 1   class-based TF-IDF alone (what `cluster` printed before)
#   filter  --plain-terms                    c-TF-IDF and the common-term filter
#   after   (defaults)                       filter, 30 candidates re-ranked by similarity to the centroid, MMR 0.3
# then joined into one markdown table per corpus and k (segments.py). SegmentTermsBench then scores the names of
# each variant, and re-ranking at several MMR λ, on the same clusters: coverage and exclusivity (from the texts
# alone), relevance and redundancy (cosines of the terms' embeddings). Quality only: no timing is reported.
#
#   bash jmh/analyse/segment-terms.sh OUTDIR [K...]      (after mvn package; default K: 12 24)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:?usage: segment-terms.sh OUTDIR [K...]}"; shift
ks=("$@"); [ ${#ks[@]} -gt 0 ] || ks=(12 24)
jar="$root/target/latent.jar"
[ -f "$jar" ] || { echo "segment-terms: build first: mvn -B -q package -DskipTests" >&2; exit 1; }
mkdir -p "$out"
: > "$out/commands.txt"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
latent() { echo "\$ latent $*" | sed "s|$work/|WORK/|g; s|$root/||g" >&2; java -jar "$jar" "$@"; }
python3 "$root/jmh/analyse/debian_corpus.py" "$work/debian.jsonl" 5000 1 | tee "$out/debian-corpus.txt"
cp "$work/debian.jsonl" "$out/debian-packages.jsonl"
declare -A corpus=([wordnet]="$root/models/corpus/wordnet-glosses.jsonl" [debian]="$work/debian.jsonl")
for name in wordnet debian; do
  latent embed "${corpus[$name]}" -o "$work/$name.npy" --index "$work/$name.lidx" --quiet 2>&1 | tail -1
  for k in "${ks[@]}"; do
    base="$out/$name-k$k"
    { latent cluster "$work/$name.lidx" -k "$k" --corpus "${corpus[$name]}" --show 100 --quiet --plain-terms --common-terms 1 \
        --assignments "$work/$name-k$k.tsv" > "$base-before.txt"; } 2>> "$out/commands.txt"
    { latent cluster "$work/$name.lidx" -k "$k" --corpus "${corpus[$name]}" --show 100 --quiet --plain-terms > "$base-filter.txt"; } 2>> "$out/commands.txt"
    { latent cluster "$work/$name.lidx" -k "$k" --corpus "${corpus[$name]}" --show 100 --quiet > "$base-after.txt"; } 2>> "$out/commands.txt"
    python3 "$root/jmh/analyse/segments.py" "$base" "${corpus[$name]}" "$work/$name-k$k.tsv" > "$base.md"
    echo "== $name, k = $k: $base.md"
    cat "$base.md"
  done
  klist=$(IFS=,; echo "${ks[*]}")
  echo "\$ java -cp target/latent.jar:target/lib/* dev.latent.bench.SegmentTermsBench WORK/$name.npy ${corpus[$name]#$work/} -k $klist" \
    | sed "s|$root/||g; s|$work/|WORK/|g" >> "$out/commands.txt"
  java -cp "$jar:$root/target/lib/*" dev.latent.bench.SegmentTermsBench "$work/$name.npy" "${corpus[$name]}" -k "$klist" \
    2>/dev/null | tee "$out/$name-scores.md"
done
