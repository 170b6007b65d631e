// Error checking for every CUDA call and kernel launch in liblatentcuda.
#pragma once

#include <cuda_runtime.h>

namespace latent {

/// Records the failure of `what` at file:line with its code and text for
/// latent_cuda_last_error() (thread-local); also prints it when LATENT_CUDA_VERBOSE is set.
void recordError(int code, const char* what, const char* file, int line);

}  // namespace latent

/// Evaluates a CUDA runtime call; on failure records code + cudaGetErrorString and returns the
/// cudaError_t from the enclosing function (which must return cudaError_t).
#define LATENT_CUDA_CHECK(call)                                                       \
  do {                                                                                \
    const cudaError_t latentErr_ = (call);                                            \
    if (latentErr_ != cudaSuccess) {                                                  \
      ::latent::recordError(static_cast<int>(latentErr_), #call, __FILE__, __LINE__); \
      return latentErr_;                                                              \
    }                                                                                 \
  } while (0)

/// Checks a kernel launch just made on `stream`: launch-configuration errors always, and with
/// -DLATENT_CUDA_SYNC_LAUNCHES (debug builds) also the kernel's execution, by synchronising.
#ifdef LATENT_CUDA_SYNC_LAUNCHES
#define LATENT_CUDA_LAUNCH_CHECK(stream)            \
  do {                                              \
    LATENT_CUDA_CHECK(cudaGetLastError());          \
    LATENT_CUDA_CHECK(cudaStreamSynchronize(stream)); \
  } while (0)
#else
#define LATENT_CUDA_LAUNCH_CHECK(stream) LATENT_CUDA_CHECK(cudaGetLastError())
#endif

/// Launches `kernel` (a __global__ function, or a variable holding one: template arguments would
/// split the macro's arguments) on `grid` x `threads` with `smem` bytes of dynamic shared memory on
/// `stream`. The host simulator (sim/include/cuda_runtime.h) runs the same line on its fibers, so
/// the host code above the kernels is simulated too.
#ifdef LATENT_CUDA_HOST_SIM
#define LATENT_LAUNCH(kernel, grid, threads, smem, stream, ...) \
  ((void)(stream), ::sim::launch((grid), (threads), (smem), [&] { kernel(__VA_ARGS__); }))
#else
#define LATENT_LAUNCH(kernel, grid, threads, smem, stream, ...) \
  kernel<<<(grid), (threads), (smem), (stream)>>>(__VA_ARGS__)
#endif
