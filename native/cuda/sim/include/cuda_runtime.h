// The part of the CUDA runtime API that liblatentcuda's host code (latent_cuda.cu, latent_topk.cuh)
// uses, implemented on the host over the kernel simulator in ../cuda_sim.h. With this folder first on
// the include path, g++ compiles the real host code and kernels into a "simulated" liblatentcuda:
// device memory is host memory, streams and events are synchronous, and a launch runs the kernel's
// blocks one after another on fibers. The checks driver (../../check/) links against it to prove its
// reference checks without a GPU, and the host code's batching, plans and merges with them.
//
// What the simulation adds beyond a plain host build: every device allocation is tracked (freeing an
// unknown pointer or freeing twice fails with cudaErrorInvalidValue; latent_cuda_sim_live_allocations()
// reports leaks), fresh device memory is filled with a NaN pattern (uninitialised reads show up), and
// LATENT_SIM_SMS (default 4) sets the multiprocessor count, so small problems still split into several
// chunks and merge passes. It says nothing about speed or the GPU memory model beyond barriers.
#pragma once

#include "../cuda_sim.h"

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidDevice = 101,
};

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount = 16, cudaDevAttrComputeCapabilityMajor = 75 };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };

struct CUstream_st {};
struct CUevent_st {};
using cudaStream_t = CUstream_st*;
using cudaEvent_t = CUevent_st*;

constexpr unsigned cudaStreamNonBlocking = 1;
constexpr unsigned cudaEventDisableTiming = 2;
constexpr unsigned cudaHostAllocDefault = 0;

struct cudaDeviceProp {
  char name[256];
  int major;
  int minor;
  int multiProcessorCount;
  size_t totalGlobalMem;
  size_t sharedMemPerBlockOptin;
};

namespace sim {

/// Device allocations: pointer -> bytes.
struct Allocations {
  std::mutex mutex;
  std::unordered_map<void*, size_t> live;
};

inline Allocations& allocations() {
  static Allocations a;
  return a;
}

inline int multiprocessors() {
  static const int sms = [] {
    const char* env = std::getenv("LATENT_SIM_SMS");
    const int v = env != nullptr ? std::atoi(env) : 4;
    return v > 0 ? v : 4;
  }();
  return sms;
}

/// Shared memory per multiprocessor of the simulated device (an H100's 228 KiB, 227 per block).
constexpr size_t kSmemPerSm = 228 * 1024;
constexpr size_t kSmemPerBlock = 227 * 1024;

inline thread_local cudaError_t lastError = cudaSuccess;

inline cudaError_t fail(cudaError_t e) {
  lastError = e;
  return e;
}

}  // namespace sim

inline const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
  }
  return "unrecognized error code";
}

inline cudaError_t cudaGetLastError() {
  const cudaError_t e = sim::lastError;
  sim::lastError = cudaSuccess;
  return e;
}

inline cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}
inline cudaError_t cudaDriverGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}
inline cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : sim::fail(cudaErrorInvalidDevice); }
inline cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) {
    return sim::fail(cudaErrorInvalidDevice);
  }
  std::memset(prop, 0, sizeof(*prop));
  std::snprintf(prop->name, sizeof(prop->name), "host simulator (%d SMs)", sim::multiprocessors());
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = sim::multiprocessors();
  prop->totalGlobalMem = 1ULL << 32;
  prop->sharedMemPerBlockOptin = sim::kSmemPerBlock;
  return cudaSuccess;
}

inline cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (device != 0) {
    return sim::fail(cudaErrorInvalidDevice);
  }
  if (attr == cudaDevAttrComputeCapabilityMajor) {
    *value = 9;  // as cudaGetDeviceProperties reports
    return cudaSuccess;
  }
  if (attr != cudaDevAttrMultiProcessorCount) {
    return sim::fail(cudaErrorInvalidValue);
  }
  *value = sim::multiprocessors();
  return cudaSuccess;
}

inline cudaError_t cudaMemGetInfo(size_t* freeBytes, size_t* totalBytes) {
  *totalBytes = 1ULL << 32;
  size_t used = 0;
  {
    std::lock_guard<std::mutex> lock(sim::allocations().mutex);
    for (const auto& a : sim::allocations().live) used += a.second;
  }
  *freeBytes = *totalBytes > used ? *totalBytes - used : 0;
  return cudaSuccess;
}

inline cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = nullptr;
  void* q = std::malloc(bytes == 0 ? 1 : bytes);
  if (q == nullptr) {
    return sim::fail(cudaErrorMemoryAllocation);
  }
  // A NaN pattern: a kernel reading memory nobody wrote sees NaNs, not zeros.
  uint32_t* words = static_cast<uint32_t*>(q);
  for (size_t i = 0; i < bytes / 4; ++i) words[i] = 0x7FC00DEDu;
  std::lock_guard<std::mutex> lock(sim::allocations().mutex);
  sim::allocations().live[q] = bytes;
  *p = q;
  return cudaSuccess;
}

inline cudaError_t cudaFree(void* p) {
  if (p == nullptr) {
    return cudaSuccess;
  }
  {
    std::lock_guard<std::mutex> lock(sim::allocations().mutex);
    if (sim::allocations().live.erase(p) == 0) {
      std::fprintf(stderr, "SIM: cudaFree of %p, which is not a live device allocation\n", p);
      return sim::fail(cudaErrorInvalidValue);
    }
  }
  std::free(p);
  return cudaSuccess;
}

inline cudaError_t cudaHostAlloc(void** p, size_t bytes, unsigned) {
  *p = std::malloc(bytes == 0 ? 1 : bytes);
  return *p == nullptr ? sim::fail(cudaErrorMemoryAllocation) : cudaSuccess;
}
inline cudaError_t cudaFreeHost(void* p) {
  std::free(p);
  return cudaSuccess;
}

inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind, cudaStream_t = nullptr) {
  if (bytes > 0 && (dst == nullptr || src == nullptr)) {
    return sim::fail(cudaErrorInvalidValue);
  }
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  return cudaMemcpyAsync(dst, src, bytes, kind);
}
inline cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t = nullptr) {
  std::memset(dst, value, bytes);
  return cudaSuccess;
}

inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = new CUstream_st();
  return cudaSuccess;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaStreamDestroy(cudaStream_t s) {
  delete s;
  return cudaSuccess;
}
inline cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) {
  *e = new CUevent_st();
  return cudaSuccess;
}
inline cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t = nullptr) { return cudaSuccess; }
inline cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
inline cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete e;
  return cudaSuccess;
}

template <typename Kernel>
cudaError_t cudaFuncSetAttribute(Kernel, cudaFuncAttribute, int value) {
  return value >= 0 && static_cast<size_t>(value) <= sim::kSmemPerBlock ? cudaSuccess : sim::fail(cudaErrorInvalidValue);
}

/// Blocks per multiprocessor limited by threads (2048) and shared memory (plus 1 KiB reserved per block).
template <typename Kernel>
cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int* blocks, Kernel, int threads, size_t smem) {
  const int byThreads = 2048 / (threads > 0 ? threads : 1);
  const int bySmem = static_cast<int>(sim::kSmemPerSm / (smem + 1024));
  *blocks = std::max(1, std::min(byThreads, bySmem));
  return cudaSuccess;
}

/// Live device allocations of the simulated device (for leak checks after every handle is freed);
/// defined in ../sim_runtime.cpp, which every simulated build links.
extern "C" long long latent_cuda_sim_live_allocations(void);
