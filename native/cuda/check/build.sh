#!/usr/bin/env bash
# Builds cuda_check (cuda_check.cpp), the C++ checks driver of liblatentcuda:
#   build.sh gpu OUT LIBDIR   OUT/cuda_check, linked against LIBDIR/liblatentcuda.so (found at run time
#                             through LD_LIBRARY_PATH, then RUNPATH $ORIGIN/../lib); the driver itself
#                             is plain C++, the kernels are the library's (sm_80, sm_90 + PTX)
#   build.sh sim OUT          OUT/cuda_check_sim: the same driver linked against the library's host code
#                             and kernels compiled with g++ over the host simulator (sim/include), so
#                             its reference checks run on any machine
# Environment: CXX (default g++).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cuda="$(cd "$here/.." && pwd)"
mode="${1:?usage: build.sh gpu OUT LIBDIR | build.sh sim OUT}"
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
  sim)
    objs="$out/sim-objects"
    mkdir -p "$objs"
    flags=(-std=c++20 -O2 -pthread -Wall -Wextra -Wno-unknown-pragmas -I"$cuda/sim/include" -I"$cuda")
    pids=()
    for src in latent_cuda topk_k32 topk_k128 topk_k512 topk_k2048; do
      "$cxx" "${flags[@]}" -x c++ -c "$cuda/$src.cu" -o "$objs/$src.o" & pids+=($!)
    done
    "$cxx" "${flags[@]}" -c "$cuda/sim/sim_runtime.cpp" -o "$objs/sim_runtime.o" & pids+=($!)
    "$cxx" "${flags[@]}" -c "$here/cuda_check.cpp" -o "$objs/cuda_check.o" & pids+=($!)
    for p in "${pids[@]}"; do wait "$p"; done
    "$cxx" -pthread "$objs"/*.o -o "$out/cuda_check_sim"
    echo "[cuda_check] built $out/cuda_check_sim (host simulator)"
    ;;
  *)
    echo "build.sh: unknown mode '$mode' (gpu or sim)" >&2
    exit 64
    ;;
esac
