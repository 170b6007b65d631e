#!/usr/bin/env bash
# Builds and runs the host simulation of the CUDA kernels (no GPU needed):
#   bash native/cuda/sim/run.sh [work]        full run (-O2)
#   LATENT_SIM_TSAN=1 bash ... [work]         small cases under ThreadSanitizer (shared-memory races)
#   LATENT_SIM_MODE=passes bash ... [work]    only the multi-pass merge cases
#   LATENT_SIM_MODE=tensor bash ... [work]    only the tensor-core cases
#   LATENT_SIM_MODE=sq8 bash ... [work]       only the 8-bit code cases (with two-pass merges)
#   LATENT_SIM_PLANT=mma-layout|tc-margin     builds the kernels with a deliberate bug (two TF32 fragment
#                                             registers exchanged, or no candidate margin): the run must fail
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:-/tmp/latent-cuda-sim}"
mkdir -p "$work"
plant=()
case "${LATENT_SIM_PLANT:-}" in
  "") ;;
  mma-layout) plant=(-DLATENT_PLANT_MMA_LAYOUT_BUG) ;;
  tc-margin) plant=(-DLATENT_PLANT_TC_NO_MARGIN) ;;
  *) echo "run.sh: unknown LATENT_SIM_PLANT '${LATENT_SIM_PLANT}' (mma-layout or tc-margin)" >&2; exit 64 ;;
esac
if [ "${LATENT_SIM_TSAN:-0}" = "1" ]; then
  g++ -std=c++20 -O1 -g -fsanitize=thread -pthread -Wno-unknown-pragmas -DLATENT_SIM_THREADS -I"$here" "$here/topk_sim.cpp" -o "$work/topk_sim_tsan"
  TSAN_OPTIONS="halt_on_error=1" "$work/topk_sim_tsan" quick "${LATENT_SIM_SEED:-42}"
else
  g++ -std=c++20 -O2 -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=0 -pthread -Wall -Wextra -Wno-unknown-pragmas "${plant[@]}" -I"$here" "$here/topk_sim.cpp" -o "$work/topk_sim"
  "$work/topk_sim" "${LATENT_SIM_MODE:-full}" "${LATENT_SIM_SEED:-42}"
fi
