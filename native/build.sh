#!/usr/bin/env bash
# Builds the native parts of Latent; called by Maven in the compile phase.
#   $1: work folder for intermediate outputs (target/native): liblatentcpu.a is linked there by JavaCPP
#   $2: folder whose files are packed into the jar (the JavaCPP binding package's platform folder)
# native/cpu/build.sh always runs (g++). native/cuda/build.sh runs when nvcc is found; without it
# the CUDA library is skipped with a message and the CUDA backend reports itself unavailable.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$1"
out="$2"
mkdir -p "$work" "$out"

# The CPU kernels and the JNI layer need a C++17 compiler (g++ by default, or $CXX): say so in one line.
cxx="${CXX:-g++}"
if ! command -v "$cxx" > /dev/null 2>&1; then
  echo "[latent native] ERROR: the build needs a C++17 compiler, and '$cxx' is not installed (or not on the PATH)." \
    "Install g++ (Debian/Ubuntu: apt-get install g++; Fedora: dnf install gcc-c++) or set CXX to your compiler." >&2
  exit 1
fi
if ! printf 'int main() { if constexpr (true) { return 0; } }\n' | "$cxx" -std=c++17 -x c++ -fsyntax-only - 2> /dev/null; then
  echo "[latent native] ERROR: '$cxx' does not compile C++17; the build needs g++ 7 or newer (or set CXX)." >&2
  exit 1
fi

bash "$here/cpu/build.sh" "$work"

nvcc_bin="${NVCC:-$(command -v nvcc || true)}"
if [ -z "$nvcc_bin" ] && [ -x /usr/local/cuda/bin/nvcc ]; then
  nvcc_bin=/usr/local/cuda/bin/nvcc
fi
if [ "${LATENT_SKIP_CUDA:-0}" = "1" ]; then
  echo "[latent native] CUDA library skipped: LATENT_SKIP_CUDA=1"
  rm -f "$out/liblatentcuda.so"
elif [ -z "$nvcc_bin" ]; then
  echo "[latent native] CUDA library skipped: nvcc not found on PATH or in /usr/local/cuda/bin (the CUDA backend will report itself unavailable)"
  rm -f "$out/liblatentcuda.so"
else
  NVCC="$nvcc_bin" bash "$here/cuda/build.sh" "$work" "$out"
fi
