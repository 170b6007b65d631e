# The step helpers of run.sh and proof.sh (sourced, not run): a step table, notes with the time, and
# commands under a time limit. The sourcing script sets step_tag (its name in messages) and step_width (the
# width of the step column) first.
declare -a table=()
failed=0
note() { echo "[$step_tag $(date -u +%H:%M:%S)] $*"; }
record() {  # step status seconds detail
  table+=("$(printf "%-${step_width}s %-5s %6ss  %s" "$1" "$2" "$3" "$4")")
  [ "$2" = FAIL ] && failed=1
  return 0
}
# limited LIMIT LOG CMD...: runs CMD under a time limit, its output to LOG and the terminal; sets rc and secs.
limited() {
  local limit="$1" log="$2"
  shift 2
  local t0=$SECONDS
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  secs=$((SECONDS - t0))
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "[$step_tag] time limit of $limit s reached" | tee -a "$log"
  fi
}
# The machine: kernel, glibc and the GPUs as nvidia-smi lists them (for a run's header).
machine_header() {
  echo "-- uname: $(uname -srm)"
  echo "-- ldd --version: $(ldd --version 2>&1 | head -1)"
  echo "-- nvidia-smi"
  if command -v nvidia-smi > /dev/null; then nvidia-smi 2>&1; else echo "nvidia-smi not found"; fi
}
