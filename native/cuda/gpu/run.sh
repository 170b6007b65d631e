#!/usr/bin/env bash
# Latent GPU bundle: proves and times the CUDA half on this machine with one command, using only
# what the bundle carries (its own Java runtime, jars, native libraries and checks driver) plus the
# machine's NVIDIA driver, compute-sanitizer and a python3 with PyTorch for the comparison.
#
#   bash run.sh [OUT] [--backend cuda|cpu] [--quick] [--steps tests,check,sanitizer,bench]
#               [--bench-seconds S] [--seed N]
#
#   OUT        folder for the logs and results (default: $OUT, else ./latent-gpu-out)
#   --backend  cuda (default): the CUDA backend is required, a fall-back to the CPU fails the run;
#              cpu: the same suite on the native CPU backend (proves the bundle is complete on a
#              machine without a GPU); the sanitizer steps need cuda and are skipped
#   --quick    the small benchmark matrix (default with --backend cpu)
#   --steps    the steps to run, in this order: tests (the core, compute, space and index test suite), check
#              (cuda_check against a float64 reference), sanitizer (compute-sanitizer memcheck,
#              racecheck, synccheck, initcheck over cuda_check --quick), bench (bench_torch.py)
#   LATENT_BENCH_ARGS (environment): more arguments for bench_torch.py, for example
#              "--q-values 1,16 --k-values 10,100" for part of the matrix
#   --bench-seconds  time limit of the bench step (default 90, so that the limits of all steps add up
#              to under 9 minutes; for the whole matrix run the bench step alone:
#              --steps bench --bench-seconds 540)
#
# Every step has a time limit; a failed step is reported and the next one still runs. The exit
# status is 0 only when every step that ran passed. The last lines are the step table.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${OUT:-}"
backend=cuda
quick=""
steps="tests,check,sanitizer,bench"
bench_seconds=90
seed=42
while [ $# -gt 0 ]; do
  case "$1" in
    --backend) backend="${2:?--backend needs cuda or cpu}"; shift 2 ;;
    --quick) quick=1; shift ;;
    --steps) steps="${2:?--steps needs a list}"; shift 2 ;;
    --bench-seconds) bench_seconds="${2:?}"; shift 2 ;;
    --seed) seed="${2:?}"; shift 2 ;;
    -h|--help) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
    *) out="$1"; shift ;;
  esac
done
case "$backend" in cuda|cpu) ;; *) echo "run.sh: --backend must be cuda or cpu, got '$backend'" >&2; exit 64 ;; esac
[ "$backend" = cpu ] && quick=1
out="${out:-$PWD/latent-gpu-out}"
mkdir -p "$out" || { echo "run.sh: cannot create $out" >&2; exit 1; }
out="$(cd "$out" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/latent-gpu.XXXXXX")"
trap 'rm -rf "$work"' EXIT

java="$here/runtime/bin/java"
cp_lib="$(ls "$here"/lib/*.jar | tr '\n' ':')"
cp_tests="$(ls "$here"/tests/*.jar | tr '\n' ':')"
java_opts=(-Xss4m -Dorg.bytedeco.javacpp.cachedir="$work/javacpp-cache" -Djava.io.tmpdir="$work")

step_tag=run.sh step_width=10
# shellcheck source=steps.sh
. "$here/steps.sh"
want() { case ",$steps," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

# ---- header: what ran where ----
{
  echo "== latent GPU bundle run, $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(hostname) =="
  echo "-- bundle"
  cat "$here/BUILD-INFO" 2>/dev/null || echo "BUILD-INFO missing"
  echo "-- options: backend=$backend quick=${quick:-0} steps=$steps bench-seconds=$bench_seconds seed=$seed"
  machine_header
} > "$out/header.txt" 2>&1
cat "$out/header.txt"

# ---- glibc: the bundle's native code needs at least the version its build machine had ----
need="$(sed -n 's/^glibc needed: *//p' "$here/BUILD-INFO" 2>/dev/null)"
have="$(ldd --version 2>&1 | head -1 | grep -oE '[0-9]+\.[0-9]+$')"
native_ok=1
if [ -n "$need" ] && [ -n "$have" ] && [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then
  native_ok=0
  msg="this machine's glibc $have is older than the $need that the bundle's Java runtime and native libraries need; rebuild the bundle on a machine with glibc <= $have"
  note "ERROR: $msg"
  record glibc FAIL 0 "$msg"
else
  note "glibc: this machine has ${have:-?}, the bundle needs ${need:-?}"
fi

# ---- the backend this run requires, or why it is unavailable ----
probe_ok=0
if [ "$native_ok" = 1 ]; then
  limited 30 "$out/backend.log" "$java" "${java_opts[@]}" -Dlatent.backend="$backend" -cp "$cp_lib" \
    dev.latent.bench.BackendProbe
  if [ "$rc" = 0 ]; then
    probe_ok=1
    record backend PASS "$secs" "$(grep -m1 '^backend:' "$out/backend.log" | cut -c10-)"
  else
    record backend FAIL "$secs" "$(grep -m1 '^unavailable:' "$out/backend.log" | cut -c14- || true)"
  fi
fi

# ---- tests: the core, compute, space, index and bench test classes with the backend required ----
if want tests; then
  if [ "$native_ok" = 0 ]; then
    record tests FAIL 0 "not run: glibc too old"
  else
    note "tests: core, compute, space, index and bench suites with -Dlatent.backend=$backend required"
    # From the work folder, not a source checkout: tests that build from native/ sources (the simulator,
    # the bundle scripts) skip with their reason instead of spending the machine's time; the encoder's
    # test needs the encoder bundle (proof.sh), not this one.
    pushd "$work" > /dev/null
    limited 120 "$out/tests.log" "$java" "${java_opts[@]}" -Dlatent.backend="$backend" \
      -Dlatent.test.requireBackend="$backend" -cp "$cp_tests$cp_lib" org.junit.platform.console.ConsoleLauncher \
      execute --disable-banner --fail-if-no-tests --details=tree --reports-dir="$out/junit" \
      --select-package=dev.latent.core --select-package=dev.latent.compute \
      --select-package=dev.latent.space --select-package=dev.latent.index --select-package=dev.latent.bench \
      --exclude-classname='.*\.EncoderPeerTest'
    popd > /dev/null
    counts="$(grep -E '^\[ +[0-9]+ tests (successful|failed|skipped|aborted) +\]' "$out/tests.log" \
      | sed -E 's/^\[ +([0-9]+) tests ([a-z]+) +\]/\1 \2/' | tr '\n' ',' | sed 's/,$//; s/,/, /g')"
    if [ "$rc" = 0 ]; then record tests PASS "$secs" "$counts"; else record tests FAIL "$secs" "exit $rc: $counts"; fi
  fi
fi

# ---- check: cuda_check against its float64 reference, all cases including the large ones ----
if want check; then
  if [ "$backend" != cuda ]; then
    record check SKIP 0 "needs --backend cuda"
  elif [ "$native_ok" = 0 ]; then
    record check FAIL 0 "not run: glibc too old"
  else
    note "check: cuda_check --large"
    limited 60 "$out/cuda_check.log" "$here/bin/cuda_check" --large --seed "$seed"
    summary="$(grep -m1 '^cuda_check: [0-9]* cases' "$out/cuda_check.log" || tail -1 "$out/cuda_check.log")"
    if [ "$rc" = 0 ]; then record check PASS "$secs" "$summary"; else record check FAIL "$secs" "exit $rc: $summary"; fi
  fi
fi

# ---- sanitizer: compute-sanitizer over cuda_check --quick, on the -lineinfo, synchronous-launch build ----
if want sanitizer; then
  sanitizer="$(command -v compute-sanitizer || true)"
  for c in /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
    [ -z "$sanitizer" ] && [ -x "$c" ] && sanitizer="$c"
  done
  for tool in memcheck racecheck synccheck initcheck; do
    if [ "$backend" != cuda ]; then
      record "$tool" SKIP 0 "needs --backend cuda"
    elif [ -z "$sanitizer" ]; then
      record "$tool" FAIL 0 "compute-sanitizer not found on PATH or under /usr/local/cuda"
    elif [ "$native_ok" = 0 ]; then
      record "$tool" FAIL 0 "not run: glibc too old"
    else
      note "sanitizer: $tool"
      extra=()
      limit=30
      [ "$tool" = memcheck ] && extra=(--leak-check full) && limit=45
      [ "$tool" = racecheck ] && extra=(--racecheck-report all) && limit=120  # 67 of 78 cases in 60 s on an H200
      LD_LIBRARY_PATH="$here/lib-debug" limited "$limit" "$out/sanitizer-$tool.log" "$sanitizer" --tool "$tool" \
        "${extra[@]}" --error-exitcode 3 --print-limit 30 "$here/bin/cuda_check" --quick --seed "$seed"
      summary="$(grep -m1 'ERROR SUMMARY' "$out/sanitizer-$tool.log" | sed 's/^=* *//' || true)"
      checks="$(grep -m1 '^cuda_check: [0-9]* cases' "$out/sanitizer-$tool.log" || true)"
      if [ "$rc" = 0 ]; then record "$tool" PASS "$secs" "$summary; $checks"; else record "$tool" FAIL "$secs" "exit $rc: $summary; $checks"; fi
    fi
  done
fi

# ---- bench: ours against torch mm + topk on the same data ----
if want bench; then
  py=""
  for c in python3 /opt/torch/.venv/bin/python3 /usr/bin/python3; do
    if command -v "$c" > /dev/null && "$c" -c 'import torch' > /dev/null 2>&1; then py="$(command -v "$c")"; break; fi
  done
  if [ -z "$py" ]; then
    record bench FAIL 0 "no python3 with torch found (python3, /opt/torch/.venv/bin/python3, /usr/bin/python3)"
  elif [ "$native_ok" = 0 ]; then
    record bench FAIL 0 "not run: glibc too old"
  else
    note "bench: $py bench_torch.py (limit $bench_seconds s)"
    share=$(( bench_seconds * 45 / 100 ))
    device=()
    [ "$backend" = cpu ] && device=(--device cpu)
    limited "$bench_seconds" "$out/bench.log" "$py" "$here/bench_torch.py" ${quick:+--quick} --backend "$backend" \
      "${device[@]}" --out "$out/bench" --work "$work/bench" --seed "$seed" \
      --latent "$java ${java_opts[*]} -cp $cp_lib dev.latent.bench.KnnBench" \
      --latent-budget "$share" --torch-budget "$share" ${LATENT_BENCH_ARGS:-}
    summary="$(grep -m1 'cases: .* cross-check failures' "$out/bench.log" | sed 's/^\[bench [0-9:]*\] //' || true)"
    [ -n "$summary" ] || summary="$(tail -1 "$out/bench.log" | sed 's/^\[bench [0-9:]*\] //')"
    if [ "$rc" = 0 ]; then record bench PASS "$secs" "$summary"; else record bench FAIL "$secs" "exit $rc: $summary"; fi
  fi
fi

{
  echo
  echo "== latent GPU bundle: steps (logs in $out) =="
  printf '%s\n' "${table[@]}"
  if [ "$failed" = 0 ]; then echo "RESULT: PASS"; else echo "RESULT: FAIL"; fi
} | tee "$out/summary.txt"
exit "$failed"
