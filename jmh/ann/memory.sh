#!/usr/bin/env bash
# Memory of a loaded inverted-list index with and without sq8 codes: builds both from DATA_DIR's base vectors,
# then opens each in a fresh JVM with a small heap, searches the queries and prints the anonymous memory the
# index added (heap and native allocations: what must stay in RAM) apart from file pages (the mapped rows,
# which the kernel may drop again). JavaCPP limits native memory to a multiple of the heap by default; the
# measuring JVM lifts that limit (its heap is small on purpose).
#
#   bash jmh/ann/memory.sh DATA_DIR        (after the builds of ann-curves.sh)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
data="${1:?usage: memory.sh DATA_DIR}"
java="${JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}"
jar="$root/jmh/target/benchmarks.jar"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for codes in float32 sq8; do
  "$java" -cp "$jar" dev.latent.jmh.AnnCurves memory-build "$data" "$work/$codes.lidx" "$codes" 2>/dev/null
  "$java" -Xms256m -Xmx256m -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -Dorg.bytedeco.javacpp.maxBytes=0 -cp "$jar" dev.latent.jmh.AnnCurves memory-load "$data" "$work/$codes.lidx" 2>&1 \
    | grep -v -e '^WARNING' -e '^INFO' -e '^[A-Z][a-z][a-z] [0-9]'
done
