#!/usr/bin/env bash
# Resident memory of `latent serve` under a long, bounded load: is it flat once warm, and what part is the JVM's?
#
#   bash jmh/memory/serve-rss.sh [ROUNDS] [CONFIG...]      (after mvn package)
#
# Serves the demo index (5,000 WordNet glosses, the default int8 model) and drives ROUNDS rounds (default 20)
# from 16 client threads on loopback; each round is 500 text searches and 3 embeds of 256 texts. After each
# round it samples, from outside the process: RSS (/proc/PID/status VmRSS), the Java heap in use and committed
# (jcmd GC.heap_info), and the JVM's own committed total by Native Memory Tracking (jcmd VM.native_memory),
# whose difference to RSS is memory the JVM does not track (ONNX Runtime's arena, our native index, malloc).
# CONFIG is a set of JVM flags per run, e.g. "-Xmx512m" (default: the JVM's defaults, then -Xmx512m -Xmn64m).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
rounds="${1:-20}"
shift || true
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=("" "-Xmx512m -Xmn64m")
jar="$root/target/latent.jar"
[ -f "$jar" ] || { echo "serve-rss: build first: mvn -B -q package -DskipTests" >&2; exit 1; }
work="$(mktemp -d)"
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
java -jar "$jar" demo --index "$work/demo.lidx" --map none --quiet > /dev/null
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $(java -version 2>&1 | head -1)"
echo "load per round: 500 text searches + 3 embeds of 256 texts, 16 client threads; $rounds rounds"

cat > "$work/load.py" <<'PY'
import http.client, json, sys, threading, random
port, seed = int(sys.argv[1]), int(sys.argv[2])
texts = [json.loads(l)["text"] for l in open(sys.argv[3], encoding="utf-8")]
rnd = random.Random(seed)
jobs = [("search", {"text": rnd.choice(texts), "k": 10}) for _ in range(500)]
jobs += [("embed", {"texts": [rnd.choice(texts) for _ in range(256)]}) for _ in range(3)]
rnd.shuffle(jobs)
lock = threading.Lock()
failures = []
def worker():
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    while True:
        with lock:
            if not jobs:
                break
            kind, body = jobs.pop()
        conn.request("POST", "/v1/" + kind, json.dumps(body), {"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            failures.append((r.status, data[:200]))
threads = [threading.Thread(target=worker) for _ in range(16)]
for t in threads: t.start()
for t in threads: t.join()
if failures:
    print("failures:", len(failures), failures[:3], file=sys.stderr)
    sys.exit(1)
PY
unzip -p "$jar" dev/latent/encode/models/corpus/wordnet-glosses.jsonl > "$work/corpus.jsonl" 2>/dev/null \
  || cp "$root/models/corpus/wordnet-glosses.jsonl" "$work/corpus.jsonl"

mib() { awk '{printf "%.0f", $1 / 1024}'; }
for config in "${configs[@]}"; do
  echo
  echo "== JVM flags: ${config:-(defaults)}"
  # shellcheck disable=SC2086
  java $config -XX:NativeMemoryTracking=summary -jar "$jar" serve "$work/demo.lidx" --port 0 > "$work/serve.out" 2>&1 &
  server=$!
  port=""
  for _ in $(seq 1 200); do
    port="$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.out" | head -1 | sed 's/.*://')" || true
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$work/serve.out" >&2; exit 1; }
  printf "%-6s %8s %8s %10s %12s %10s\n" round seconds rss_MiB heap_used heap_commit nmt_MiB
  for r in $(seq 0 "$rounds"); do
    t0=$(date +%s.%N)
    [ "$r" -gt 0 ] && python3 "$work/load.py" "$port" "$r" "$work/corpus.jsonl"
    secs=$(echo "$(date +%s.%N) - $t0" | bc)
    sleep 1
    rss="$(awk '/VmRSS/ {print $2}' /proc/$server/status | mib)"
    heap="$(jcmd $server GC.heap_info 2>/dev/null | awk '/garbage-first heap/ {gsub("[K,]","",$4); gsub("[K,]","",$6); print $4, $6; exit}')"
    used="$(echo "$heap" | awk '{printf "%.0f", $2 / 1024}')"
    committed="$(echo "$heap" | awk '{printf "%.0f", $1 / 1024}')"
    nmt="$(jcmd $server VM.native_memory summary 2>/dev/null | awk '/^Total:/ {for (i=1;i<=NF;i++) if ($i ~ /^committed=/) {sub("committed=","",$i); sub("KB","",$i); print $i}}' | mib)"
    printf "%-6s %8.1f %8s %10s %12s %10s\n" "$r" "$secs" "$rss" "$used" "$committed" "$nmt"
  done
  kill "$server"
  wait "$server" 2>/dev/null || true
  server=""
done
