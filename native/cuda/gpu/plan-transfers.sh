#!/usr/bin/env bash
# Prints the transfers that take the kNN bundle and the encoder bundle's parts to a lent GPU machine, with
# each call's carry list, measured against the 64 MiB one call may carry (this repository's files count
# too, so run it again right before the first call). The first call carries the kNN bundle and the smallest
# part; each later call one part; every call carries the manifest.
#
#   bash native/cuda/gpu/plan-transfers.sh        (from the repository; reads .gpu/latent-gpu.tar.xz, .gpu/encoder)
#
# Exit status 0 when every call fits, 1 when one does not or the parts are missing.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$root" || exit 1
mib=1048576 limit=$((64 * 1048576))
to_mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
size() { stat -c %s "$1" 2> /dev/null || echo 0; }

shopt -s nullglob
parts=(.gpu/encoder/part-*)
manifest=.gpu/encoder/MANIFEST.sha256
[ "${#parts[@]}" -gt 0 ] && [ -f "$manifest" ] || { echo "plan: no parts in .gpu/encoder (bash native/cuda/gpu-bundle.sh --encoder)" >&2; exit 1; }
knn=.gpu/latent-gpu.tar.xz
knn_bytes=$(size "$knn")
if [ "$knn_bytes" = 0 ]; then
  knn_bytes=$((20 * mib))
  echo "plan: note: $knn is not built yet (bash native/cuda/gpu-bundle.sh); counted as 20 MiB below"
fi
tree=$(git ls-files -z -c -o --exclude-standard | xargs -0 stat -c %s 2> /dev/null | awk '{ s += $1 } END { print s + 0 }')
[ -d shared ] && tree=$((tree + $(du -sb shared | cut -f1)))
m=$(size "$manifest")

# The smallest part rides with the kNN bundle.
small="${parts[0]}"
for p in "${parts[@]}"; do [ "$(size "$p")" -lt "$(size "$small")" ] && small="$p"; done
echo "Transfers of at most 64 MiB each (this repository's files: $(to_mib "$tree") MiB, counted now):"
over=0 call=1
line() {  # line BYTES CARRY...
  local bytes="$1" list
  shift
  list="$(printf '"%s", ' "$@" | sed 's/, $//')"
  local flag=""
  [ "$bytes" -le "$limit" ] || { flag="  OVER 64 MiB"; over=1; }
  printf '  call %d  %5s MiB  carry [%s]%s\n' "$call" "$(to_mib "$bytes")" "$list" "$flag"
  call=$((call + 1))
}
first=$((tree + knn_bytes + $(size "$small") + m))
if [ "$first" -le "$limit" ]; then
  line "$first" "$knn" "$small" "$manifest"
  rest=()
  for p in "${parts[@]}"; do [ "$p" = "$small" ] || rest+=("$p"); done
else
  line $((tree + knn_bytes)) "$knn"
  rest=("${parts[@]}")
fi
for p in "${rest[@]}"; do line $((tree + $(size "$p") + m)) "$p" "$manifest"; done
echo "  $((call - 1)) calls; the last one also joins the parts and runs the encoder proof"
[ "$over" = 0 ] || { echo "plan: a call is over 64 MiB: rebuild with a smaller --part-size" >&2; exit 1; }
