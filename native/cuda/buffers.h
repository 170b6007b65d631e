// Owned CUDA memory that grows on demand: one template for device and page-locked host memory.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

#include "latent_check.h"

namespace latent {

/// How a Buffer allocates and frees: device memory (cudaMalloc) or page-locked host memory.
struct DeviceMemory {
  static cudaError_t allocate(void** p, size_t bytes) { return cudaMalloc(p, bytes); }
  static cudaError_t free(void* p) { return cudaFree(p); }
};
struct PinnedMemory {
  static cudaError_t allocate(void** p, size_t bytes) { return cudaHostAlloc(p, bytes, cudaHostAllocDefault); }
  static cudaError_t free(void* p) { return cudaFreeHost(p); }
};

/// Memory of `capacity` elements of T, grown on demand and freed exactly once (release() forgets the
/// pointer before freeing it; the destructor releases). Not thread-safe: the owning handle serialises.
template <typename T, typename Memory>
struct Buffer {
  T* ptr = nullptr;
  size_t capacity = 0;

  /// At least `count` elements; the old content is dropped when it grows.
  cudaError_t reserve(size_t count) {
    if (count <= capacity) {
      return cudaSuccess;
    }
    LATENT_CUDA_CHECK(release());
    void* p = nullptr;
    LATENT_CUDA_CHECK(Memory::allocate(&p, count * sizeof(T)));
    ptr = static_cast<T*>(p);
    capacity = count;
    return cudaSuccess;
  }

  /// At least `count` elements, keeping the first `keep` (copied on `stream`, which is synchronised).
  cudaError_t grow(size_t count, size_t keep, cudaStream_t stream) {
    if (count <= capacity) {
      return cudaSuccess;
    }
    void* p = nullptr;
    LATENT_CUDA_CHECK(Memory::allocate(&p, count * sizeof(T)));
    if (keep > 0) {
      const cudaError_t e = cudaMemcpyAsync(p, ptr, keep * sizeof(T), cudaMemcpyDefault, stream);
      const cudaError_t s = e == cudaSuccess ? cudaStreamSynchronize(stream) : e;
      if (s != cudaSuccess) {
        Memory::free(p);
        recordError(s, "cudaMemcpyAsync(grow)", __FILE__, __LINE__);
        return s;
      }
    }
    LATENT_CUDA_CHECK(release());
    ptr = static_cast<T*>(p);
    capacity = count;
    return cudaSuccess;
  }

  cudaError_t release() {
    T* p = ptr;
    ptr = nullptr;
    capacity = 0;
    if (p != nullptr) {
      LATENT_CUDA_CHECK(Memory::free(p));
    }
    return cudaSuccess;
  }

  ~Buffer() { release(); }
};

template <typename T>
using DeviceBuffer = Buffer<T, DeviceMemory>;
template <typename T>
using PinnedBuffer = Buffer<T, PinnedMemory>;

}  // namespace latent
