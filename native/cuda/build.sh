#!/usr/bin/env bash
# Builds liblatentcuda.so: the CUDA kernels and their C API (latent_cuda.h), static CUDA runtime.
#   $1: work folder (objects; the ptxas resource report goes to <work>/cuda-resources.txt)
#   $2: output folder for liblatentcuda.so
# Environment: NVCC (default: nvcc on PATH), LATENT_CUDA_ARCHS (default "80 90": SASS for sm_80 and
# sm_90 plus compute_90 PTX for newer GPUs), LATENT_CUDA_DEBUG=1 (synchronous launches, -lineinfo).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$1"
out="$2"
nvcc_bin="${NVCC:-nvcc}"
archs="${LATENT_CUDA_ARCHS:-80 90}"
mkdir -p "$work/cuda" "$out"

gencode=()
last=""
for a in $archs; do
  gencode+=("-gencode=arch=compute_$a,code=sm_$a")
  last="$a"
done
gencode+=("-gencode=arch=compute_$last,code=compute_$last")

flags=(-std=c++17 -O3 -Xcompiler -fPIC -Xcompiler -fvisibility=hidden -Xptxas -v)
if [ "${LATENT_CUDA_DEBUG:-0}" = "1" ]; then
  flags+=(-DLATENT_CUDA_SYNC_LAUNCHES -lineinfo)
fi

report="$work/cuda-resources.txt"
# Up to date: same nvcc and flags, library newer than every source here.
stamp="$work/cuda/stamp"
config="$("$nvcc_bin" --version | tail -1) ${flags[*]} ${gencode[*]}"
if [ -f "$out/liblatentcuda.so" ] && [ -f "$report" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$config" ] \
   && [ -z "$(find "$here" "$here/../common" -newer "$out/liblatentcuda.so" -print -quit)" ]; then
  echo "[latent cuda] $out/liblatentcuda.so is up to date"
  exit 0
fi
rm -f "$stamp"
: > "$report"
objects=()
start=$(date +%s)
# Host code, one object per file; then the top-k buckets, one object per entry of latent_buckets.h.
host_sources=(errors database search sq8 cluster api)
buckets=$(sed -n 's/^ *X(\([0-9][0-9]*\),.*/\1/p' "$here/latent_buckets.h")
[ -n "$buckets" ] || { echo "[latent cuda] no buckets found in latent_buckets.h" >&2; exit 1; }
compile() {  # compile NAME SOURCE [FLAGS...]
  local name="$1" src="$2"
  shift 2
  local obj="$work/cuda/$name.o"
  {
    echo "==== $name ($(basename "$src")) ===="
    "$nvcc_bin" "${flags[@]}" "${gencode[@]}" -I"$here" "$@" -c "$src" -o "$obj" 2>&1
  } > "$work/cuda/$name.log" || { cat "$work/cuda/$name.log" >&2; return 1; }
}
pids=()
names=()
for src in "${host_sources[@]}"; do
  echo "[latent cuda] nvcc $src.cu"
  compile "$src" "$here/$src.cu" & pids+=($!); names+=("$src")
done
for k in $buckets; do
  echo "[latent cuda] nvcc topk_bucket.cu (k <= $k)"
  compile "topk_k$k" "$here/topk_bucket.cu" -DLATENT_BUCKET="$k" & pids+=($!); names+=("topk_k$k")
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
[ "$failed" = 0 ] || exit 1
for n in "${names[@]}"; do
  cat "$work/cuda/$n.log" >> "$report"
  objects+=("$work/cuda/$n.o")
done
"$nvcc_bin" -shared -cudart static "${gencode[@]}" -Xcompiler -fPIC \
  -Xlinker --version-script="$here/latent_cuda.map" -Xlinker -z,defs \
  "${objects[@]}" -o "$out/liblatentcuda.so"
# The C API must be exported (and nothing of the static CUDA runtime).
if command -v nm > /dev/null; then
  exported=$(nm -D --defined-only "$out/liblatentcuda.so" | awk '{print $3}')
  for sym in $(sed -n 's/^ *X(\(int, \|const char\*, \)\{0,1\}\([a-z_]*\),.*/latent_cuda_\2/p' "$here/latent_cuda_api.h"); do
    echo "$exported" | grep -qx "$sym" || { echo "[latent cuda] $sym is not exported" >&2; exit 1; }
  done
  if echo "$exported" | grep -qv '^latent_cuda_'; then
    echo "[latent cuda] unexpected exported symbols: $(echo "$exported" | grep -v '^latent_cuda_' | head -5 | tr '\n' ' ')" >&2
    exit 1
  fi
fi

# Summary table (kernel, architecture, registers, spills, static shared memory) after the raw report.
{
  echo "==== summary: kernel | arch | registers | spill stores/loads (bytes) | static smem ===="
  awk '
    /Compiling entry function/ { split($0, a, "\x27"); fn = a[2]; arch = a[4] }
    /bytes spill stores/ { st = $5; ld = $9 }
    /Used [0-9]+ registers/ {
      smem = "0"; if (match($0, /[0-9]+ bytes smem/)) smem = substr($0, RSTART, RLENGTH - 11)
      printf "%s | %s | %s | %s/%s | %s\n", fn, arch, $5, st, ld, smem
    }' "$report" | (command -v c++filt > /dev/null && c++filt || cat) | sort -u
} > "$report.summary"
cat "$report.summary" >> "$report"
rm -f "$report.summary"
echo "$config" > "$stamp"
echo "[latent cuda] built $out/liblatentcuda.so in $(( $(date +%s) - start )) s; resource report: $report"
# Spills are a warning, except the ones measured and accepted (kernel and architecture, with the reason):
#   scoreBlockKernel sm_90: 40 bytes at __launch_bounds__(256, 2), two blocks a multiprocessor; the float32
#   score tile ran at 21.7 TFLOP/s on an H200 with them (PERF-LOG.md, run 4), and large batches with k <= 256
#   take the tensor-core kernel instead;
#   topkChunkKernel<128, 128, 16, 64> sm_90: 8 bytes at 64 registers (four blocks a multiprocessor), in every
#   GPU run so far (PERF-LOG.md, runs 1 to 4).
accepted_spills='^latent::scoreBlockKernel\(latent::DistanceArgs\) \| sm_90 \| [0-9]+ \| 40/40 |^void latent::topkChunkKernel<128, 128, 16, 64>\(latent::ChunkArgs\) \| sm_90 \| 64 \| 8/8 '
unexpected="$(sed -n '/^==== summary/,$p' "$report" | grep -E '\| [0-9]+/[0-9]+ \|' | grep -vE '\| 0/0 \|' \
  | grep -vE "$accepted_spills" || true)"
if [ -n "$unexpected" ]; then
  echo "[latent cuda] WARNING: register spills, see $report:" >&2
  echo "$unexpected" | sed 's/^/  /' >&2
fi
