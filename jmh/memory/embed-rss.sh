#!/usr/bin/env bash
# Peak resident memory of `latent embed` on 5,000 and on 50,000 distinct texts: memory must stay flat
# whatever the corpus size. Peak RSS is what /usr/bin/time -v reports ("Maximum resident set size").
#
#   bash jmh/memory/embed-rss.sh [RUNS]      (after mvn package; needs /usr/share/wordnet: apt-get install wordnet-base)
#
# Two JVM configurations, same for both sizes:
#   default   java -jar target/latent.jar ...: G1 sizes its young generation itself (it grew to about
#             450 MB here), so the first pass through it adds to RSS as the run goes on;
#   -Xmn64m   the young generation fixed: what remains is what Latent itself holds.
# Prints median (min-max) peak RSS per configuration and size, and the 50,000 / 5,000 ratio.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
runs="${1:-3}"
jar="$root/target/latent.jar"
[ -f "$jar" ] || { echo "embed-rss: build first: mvn -B -q package -DskipTests" >&2; exit 1; }
[ -d /usr/share/wordnet ] || { echo "embed-rss: needs WordNet's data files: apt-get install wordnet-base" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "embed-rss: needs GNU time: apt-get install time" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for n in 5000 50000; do
  python3 "$root/models/tools/make_wordnet_corpus.py" /usr/share/wordnet "$work" "$n" > /dev/null
done
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $(java -version 2>&1 | head -1)"
declare -A median
for config in default -Xmn64m; do
  flags=()
  [ "$config" != default ] && flags=("$config")
  for n in 5000 50000; do
    values=()
    for r in $(seq "$runs"); do
      /usr/bin/time -v java "${flags[@]}" -jar "$jar" embed "$work/wordnet-glosses-$n.jsonl" -o "$work/v.npy" --quiet \
        > "$work/out.txt" 2> "$work/time.txt"
      kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$work/time.txt")
      values+=("$kb")
      echo "  $config n=$n run $r: peak RSS $((kb / 1024)) MB; $(tail -1 "$work/out.txt")"
    done
    sorted=($(printf '%s\n' "${values[@]}" | sort -n))
    med=${sorted[$(( ${#sorted[@]} / 2 ))]}
    median[$config-$n]=$med
    echo "$config n=$n: peak RSS median $((med / 1024)) MB ($((sorted[0] / 1024))-$((sorted[-1] / 1024)))"
  done
  awk -v a="${median[$config-5000]}" -v b="${median[$config-50000]}" -v c="$config" \
    'BEGIN { printf "%s: 50,000 / 5,000 = %.2f (%+.0f %%)\n", c, b / a, (b / a - 1) * 100 }'
done
