#!/usr/bin/env bash
# Builds liblatentcpu.a (static, -fPIC) into $1 for JavaCPP to link into the JNI library.
# Each ISA's kernels get their own -m flags; everything else is built for baseline x86-64, so
# the library loads on any x86-64 CPU and picks a kernel level at run time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:?usage: build.sh <work folder>}"
mkdir -p "$work/cpu-obj"
cxx="${CXX:-g++}"
flags=(-std=c++17 -O3 -fPIC -fno-math-errno -Wall -Wextra -pthread -I"$here")
obj="$work/cpu-obj"

# The engine (baseline flags): one object per job; see native/README.md.
engine=(api dispatch pool search sq8 cluster vectors files)
for f in "${engine[@]}"; do
  "$cxx" "${flags[@]}" -c "$here/$f.cpp" -o "$obj/$f.o" &
done
"$cxx" "${flags[@]}" -c "$here/kernels_scalar.cpp" -o "$obj/kernels_scalar.o" &
"$cxx" "${flags[@]}" -mavx2 -mfma -c "$here/kernels_avx2.cpp" -o "$obj/kernels_avx2.o" &
"$cxx" "${flags[@]}" -mavx512f -mfma -Wno-uninitialized -c "$here/kernels_avx512.cpp" -o "$obj/kernels_avx512.o" &
"$cxx" "${flags[@]}" -mavx512f -mavx512bw -mavx512vnni -mfma -Wno-uninitialized -c "$here/kernels_avx512_vnni.cpp" -o "$obj/kernels_avx512_vnni.o" &
fail=0
for job in $(jobs -p); do wait "$job" || fail=1; done
[ "$fail" = 0 ] || { echo "[latent native] CPU kernel build failed" >&2; exit 1; }

rm -f "$work/liblatentcpu.a"
objects=()
for f in "${engine[@]}" kernels_scalar kernels_avx2 kernels_avx512 kernels_avx512_vnni; do objects+=("$obj/$f.o"); done
ar rcs "$work/liblatentcpu.a" "${objects[@]}"
echo "[latent native] built $work/liblatentcpu.a"
