#!/usr/bin/env bash
# Builds and runs the host simulation of the CUDA kernels (no GPU needed):
#   bash native/cuda/sim/run.sh [work]        full run (-O2)
#   LATENT_SIM_TSAN=1 bash ... [work]         small cases under ThreadSanitizer (shared-memory races)
#   LATENT_SIM_MODE=passes bash ... [work]    only the multi-pass merge cases
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:-/tmp/latent-cuda-sim}"
mkdir -p "$work"
if [ "${LATENT_SIM_TSAN:-0}" = "1" ]; then
  g++ -std=c++20 -O1 -g -fsanitize=thread -pthread -Wno-unknown-pragmas -DLATENT_SIM_THREADS -I"$here" "$here/topk_sim.cpp" -o "$work/topk_sim_tsan"
  TSAN_OPTIONS="halt_on_error=1" "$work/topk_sim_tsan" quick "${LATENT_SIM_SEED:-42}"
else
  g++ -std=c++20 -O2 -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=0 -pthread -Wall -Wextra -Wno-unknown-pragmas -I"$here" "$here/topk_sim.cpp" -o "$work/topk_sim"
  "$work/topk_sim" "${LATENT_SIM_MODE:-full}" "${LATENT_SIM_SEED:-42}"
fi
