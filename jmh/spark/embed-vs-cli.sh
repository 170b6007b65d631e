#!/usr/bin/env bash
# EmbedJob in Spark local mode against `latent embed` on the same texts, on this machine, one after the other:
# wall time and peak RSS of each whole process (JVM start, model load and, for Spark, the session included).
#
#   bash jmh/spark/embed-vs-cli.sh [TEXTS=20000] [RUNS=3] [MASTER=local[2]]   (after mvn -B -q package -DskipTests -Pspark-jar;
#   LATENT_SPARK_ARGS adds options to EmbedJob, e.g. "--batch 1024")
#
# The corpus is made from the bundled WordNet glosses with variations (id, text JSONL, not kept). Prints one line
# per run and the medians; the Spark class path is the job jar plus Spark's jars from the local Maven repository.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
n="${1:-20000}"
runs="${2:-3}"
master="${3:-local[2]}"
jar="$root/target/latent.jar"
job="$root/target/spark/latent-spark.jar"
[ -f "$jar" ] && [ -f "$job" ] || { echo "embed-vs-cli: build first: mvn -B -q package -DskipTests -Pspark-jar" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 - "$n" "$root/models/corpus/wordnet-glosses.jsonl" > "$work/corpus.jsonl" <<'PY'
import json, sys
n, src = int(sys.argv[1]), sys.argv[2]
texts = [json.loads(l)["text"] for l in open(src) if l.strip()]
starts = ["", "In short, ", "Roughly: ", "As a definition, ", "Informally, ", "Note that "]
ends = ["", ".", " (common usage).", " in everyday speech.", " as found in dictionaries."]
for i in range(n):
    t = texts[i % len(texts)]
    v = i // len(texts)
    print(json.dumps({"id": f"t{i}", "text": starts[v % len(starts)] + t + ends[(v // len(starts)) % len(ends)]}))
PY

mvn -B -q -o -f "$root/src/spark/pom.xml" dependency:build-classpath -Dmdep.includeScope=provided \
    -Dmdep.outputFile="$work/spark.cp" > /dev/null
opens="-XX:+IgnoreUnrecognizedVMOptions --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED"
cpu="$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs"
echo "embed-vs-cli: $n texts, $runs runs each, $cpu, $(java -version 2>&1 | head -1)"

measure() {  # measure NAME COMMAND...: prints NAME seconds rss_mib
  local name="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out.txt" 2> "$work/err.txt" \
      || { echo "embed-vs-cli: $name failed:"; tail -20 "$work/err.txt"; exit 1; }
  read -r secs kib < "$work/time"
  echo "$name $secs $((kib / 1024))"
}

for r in $(seq 1 "$runs"); do
  rm -rf "$work"/cli.* "$work"/spark.parquet
  measure cli java -jar "$jar" embed "$work/corpus.jsonl" -o "$work/cli.npy" --quiet | tee -a "$work/results"
  measure spark java $opens -cp "$job:$(cat "$work/spark.cp")" dev.latent.spark.EmbedJob --master "$master" \
      --input "$work/corpus.jsonl" --id-column id --output "$work/spark.parquet" ${LATENT_SPARK_ARGS:-} | tee -a "$work/results"
  grep -h "embedded" "$work/out.txt" || true
done
python3 - "$work/results" "$n" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
n = int(sys.argv[2])
for name in ("cli", "spark"):
    s = sorted(float(r[1]) for r in rows if r[0] == name)
    m = sorted(int(r[2]) for r in rows if r[0] == name)
    print(f"{name:5s} wall median {statistics.median(s):.1f} s (min {s[0]:.1f}, max {s[-1]:.1f}), "
          f"{n / statistics.median(s):.0f} texts/s end to end, peak RSS median {statistics.median(m)} MiB")
PY
