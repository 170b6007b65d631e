#!/usr/bin/env bash
# Builds cuda_check (cuda_check.cpp), the C++ checks driver of liblatentcuda:
#   build.sh gpu OUT LIBDIR   OUT/cuda_check, linked against LIBDIR/liblatentcuda.so (found at run time
#                             through LD_LIBRARY_PATH, then RUNPATH $ORIGIN/../lib); the driver itself
#                             is plain C++, the kernels are the library's (sm_80, sm_90 + PTX)
#   build.sh sim OUT          OUT/cuda_check_sim: the same driver linked against the library's host code
#                             and kernels compiled with g++ over the host simulator (sim/include), so
#                             its reference checks run on any machine
#   build.sh simlib OUT       OUT/liblatentcuda.so: that simulated library on its own, which Java loads in place
#                             of the GPU one (-Dlatent.cuda.library=OUT/liblatentcuda.so): the CUDA backend's Java
#                             code, its JNI binding and the C API then run on the simulator (slowly; no GPU)
# Environment: CXX (default g++).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cuda="$(cd "$here/.." && pwd)"
mode="${1:?usage: build.sh gpu OUT LIBDIR | build.sh sim OUT | build.sh simlib OUT}"
out="${2:?output folder}"
cxx="${CXX:-g++}"
mkdir -p "$out"
case "$mode" in
  gpu)
    libdir="$(cd "${3:?folder holding liblatentcuda.so}" && pwd)"
    "$cxx" -std=c++17 -O2 -Wall -Wextra -I"$cuda" "$here/cuda_check.cpp" -o "$out/cuda_check" \
      -L"$libdir" -llatentcuda -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib'
    echo "[cuda_check] built $out/cuda_check against $libdir/liblatentcuda.so"
    ;;
  sim|simlib)
    objs="$out/$mode-objects"
    rm -rf "$objs"
    mkdir -p "$objs"
    flags=(-std=c++20 -O2 -fPIC -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=0 -pthread -Wall -Wextra -Wno-unknown-pragmas -I"$cuda/sim/include" -I"$cuda")
    pids=()
    for src in errors database search sq8 cluster api; do
      "$cxx" "${flags[@]}" -x c++ -c "$cuda/$src.cu" -o "$objs/$src.o" & pids+=($!)
    done
    for k in $(sed -n 's/^ *X(\([0-9][0-9]*\),.*/\1/p' "$cuda/latent_buckets.h"); do
      "$cxx" "${flags[@]}" -DLATENT_BUCKET="$k" -x c++ -c "$cuda/topk_bucket.cu" -o "$objs/topk_k$k.o" & pids+=($!)
    done
    "$cxx" "${flags[@]}" -c "$cuda/sim/sim_runtime.cpp" -o "$objs/sim_runtime.o" & pids+=($!)
    if [ "$mode" = sim ]; then
      "$cxx" "${flags[@]}" -c "$here/cuda_check.cpp" -o "$objs/cuda_check.o" & pids+=($!)
    fi
    for p in "${pids[@]}"; do wait "$p"; done
    if [ "$mode" = sim ]; then
      "$cxx" -pthread "$objs"/*.o -o "$out/cuda_check_sim"
      echo "[cuda_check] built $out/cuda_check_sim (host simulator)"
    else
      "$cxx" -shared -pthread "$objs"/*.o -o "$out/liblatentcuda.so"
      echo "[cuda_check] built $out/liblatentcuda.so (host simulator)"
    fi
    ;;
  *)
    echo "build.sh: unknown mode '$mode' (gpu, sim or simlib)" >&2
    exit 64
    ;;
esac
