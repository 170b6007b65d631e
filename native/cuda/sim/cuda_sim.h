// A host simulator for the kernels in ../latent_kernels.cuh: every CUDA thread of a block runs as
// one host thread; __syncthreads and __syncwarp are real barriers (a barrier that not every thread
// of the block / warp reaches aborts with a message instead of hanging), shared memory is one
// buffer per block (filled with a garbage pattern first), atomics are host atomics. Built with
// -fsanitize=thread it doubles as a shared-memory race detector. It proves indexing, bounds,
// barrier placement and the selection algorithm on the CPU; it says nothing about speed or the
// GPU memory model beyond barriers.
#pragma once

#define LATENT_CUDA_HOST_SIM 1

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(x)
#define __restrict__ __restrict
// Static shared arrays become function statics: one block runs at a time.
#define __shared__ static

struct dim3 {
  unsigned x, y, z;
  dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};

using std::max;
using std::min;

namespace sim {

/// A reusable barrier for `count` threads that aborts after a timeout (a barrier not all reach).
class Barrier {
 public:
  explicit Barrier(int count) : count_(count) {}
  void wait(const char* what) {
    std::unique_lock<std::mutex> lock(mutex_);
    const unsigned generation = generation_;
    if (++waiting_ == count_) {
      waiting_ = 0;
      ++generation_;
      cv_.notify_all();
      return;
    }
    if (!cv_.wait_for(lock, std::chrono::seconds(60), [&] { return generation_ != generation; })) {
      std::fprintf(stderr, "SIM DEADLOCK: %s reached by %d of %d threads\n", what, waiting_, count_);
      std::abort();
    }
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int count_;
  int waiting_ = 0;
  unsigned generation_ = 0;
};

struct BlockState {
  Barrier* block = nullptr;
  std::vector<Barrier*> warps;
  std::vector<float> shuffle;  // one slot per thread
  uint32_t* smem = nullptr;
};

inline BlockState& state() {
  static BlockState s;
  return s;
}

}  // namespace sim

inline thread_local dim3 threadIdx;
inline dim3 blockIdx;
inline dim3 gridDim;
inline dim3 blockDim;

inline void __syncthreads() { sim::state().block->wait("__syncthreads"); }
inline void __syncwarp(unsigned = 0xFFFFFFFFu) { sim::state().warps[threadIdx.x / 32]->wait("__syncwarp"); }
inline uint32_t* dynamicSmemSim() { return sim::state().smem; }

inline int atomicAdd(int* address, int value) { return __atomic_fetch_add(address, value, __ATOMIC_SEQ_CST); }
inline unsigned long long atomicMin(unsigned long long* address, unsigned long long value) {
  unsigned long long old = __atomic_load_n(address, __ATOMIC_SEQ_CST);
  while (value < old && !__atomic_compare_exchange_n(address, &old, value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
  }
  return old;
}
inline float __int_as_float(int bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}
inline float __shfl_xor_sync(unsigned, float value, int laneMask) {
  sim::BlockState& s = sim::state();
  const unsigned t = threadIdx.x;
  s.shuffle[t] = value;
  __syncwarp();
  const float other = s.shuffle[(t & ~31u) | ((t & 31u) ^ static_cast<unsigned>(laneMask))];
  __syncwarp();
  return other;
}

namespace latent {
inline uint32_t* dynamicSmem() { return dynamicSmemSim(); }
}  // namespace latent

namespace sim {

/// Runs `kernel` over `grid` blocks of `threads` threads, one block at a time, with `smemBytes`
/// of dynamic shared memory per block.
inline void launch(dim3 grid, int threads, size_t smemBytes, const std::function<void()>& kernel) {
  BlockState& s = state();
  std::vector<uint32_t> smem(smemBytes / 4 + 1);
  gridDim = grid;
  blockDim = dim3(threads);
  for (unsigned by = 0; by < grid.y; ++by) {
    for (unsigned bx = 0; bx < grid.x; ++bx) {
      blockIdx = dim3(bx, by);
      std::fill(smem.begin(), smem.end(), 0x7FC00ABCu);  // a NaN pattern: uninitialised reads show up
      Barrier block(threads);
      std::vector<std::unique_ptr<Barrier>> warpStore;
      s.warps.clear();
      for (int w = 0; w < threads / 32; ++w) {
        warpStore.push_back(std::make_unique<Barrier>(32));
        s.warps.push_back(warpStore.back().get());
      }
      s.block = &block;
      s.shuffle.assign(threads, 0.0f);
      s.smem = smem.data();
      std::vector<std::thread> pool;
      pool.reserve(threads);
      for (int t = 0; t < threads; ++t) {
        pool.emplace_back([t, &kernel] {
          threadIdx = dim3(static_cast<unsigned>(t));
          kernel();
        });
      }
      for (auto& th : pool) {
        th.join();
      }
    }
  }
}

}  // namespace sim
