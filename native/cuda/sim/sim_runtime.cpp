// Out-of-line part of the simulated CUDA runtime (include/cuda_runtime.h).
#include "include/cuda_runtime.h"

extern "C" __attribute__((visibility("default"))) long long latent_cuda_sim_live_allocations(void) {
  std::lock_guard<std::mutex> lock(sim::allocations().mutex);
  return static_cast<long long>(sim::allocations().live.size());
}
