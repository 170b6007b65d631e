#!/usr/bin/env bash
# Heap an index's records hold once it is opened from its file: writes N vectors (dimension D) with records (key,
# a 200-byte text, two payload fields), then opens the file in a JVM with a small heap (-Xmx, default 128m) and
# prints the heap in use after a full collection before and after the load (the vectors are off-heap).
#
#   bash jmh/memory/records-heap.sh [N] [D] [XMX]        default 1000000 16 128m   (after the JMH build)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
n="${1:-1000000}"; d="${2:-16}"; xmx="${3:-128m}"
java="${JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}"
jar="$root/jmh/target/benchmarks.jar"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$java" -Xmx3g -cp "$jar" dev.latent.jmh.RecordsMemory build "$work/records.lidx" "$n" "$d" 2>&1 | grep -v -e '^WARNING' -e '^INFO'
"$java" -Xms"$xmx" -Xmx"$xmx" -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -Dorg.bytedeco.javacpp.maxBytes=0 -cp "$jar" \
  dev.latent.jmh.RecordsMemory load "$work/records.lidx" 2>&1 | grep -v -e '^WARNING' -e '^INFO'
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p') family $(lscpu | sed -n 's/^CPU family: *//p') model $(lscpu | sed -n 's/^Model: *//p'), $(nproc) cpus; java: $("$java" -version 2>&1 | head -1)"
