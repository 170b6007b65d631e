// A host simulator for the kernels in ../latent_kernels.cuh: every CUDA thread of a block runs as
// a fiber (default: cooperative, switched only at barriers, fast and deterministic) or, with
// -DLATENT_SIM_THREADS, as a host thread; __syncthreads and __syncwarp are real barriers (a barrier
// that not every thread of the block / warp reaches aborts with a message instead of hanging),
// shared memory is one buffer per block (filled with a NaN pattern first), atomics are host
// atomics. The thread build under -fsanitize=thread doubles as a shared-memory race detector. It proves indexing, bounds,
// barrier placement and the selection algorithm on the CPU; it says nothing about speed or the
// GPU memory model beyond barriers. Launches made from several host threads (a JVM calling the simulated
// library) run one after another: the scheduler and the block indices are global.
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

#ifndef LATENT_SIM_THREADS
#include <setjmp.h>
#include <ucontext.h>
#endif

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __restrict__ __restrict
// Static shared arrays become function statics: one block runs at a time.
#define __shared__ static

struct dim3 {
  unsigned x, y, z;
  dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};

using std::max;
using std::min;

#ifdef LATENT_SIM_THREADS

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
  std::vector<double> shuffleDouble;
  std::vector<uint32_t> mma;  // 8 words a thread: mma fragments (latent_mma.cuh)
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
inline float* shuffleSlots() { return sim::state().shuffle.data(); }
inline double* shuffleSlotsDouble() { return sim::state().shuffleDouble.data(); }
inline uint32_t* mmaSlots() { return sim::state().mma.data(); }

namespace sim {

/// Runs `kernel` over `grid` blocks of `threads` threads, one block at a time, with `smemBytes`
/// of dynamic shared memory per block.
inline void launch(dim3 grid, int threads, size_t smemBytes, const std::function<void()>& kernel) {
  static std::mutex serial;  // launches from several host threads run one after another (the state is global)
  std::lock_guard<std::mutex> lock(serial);
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
      s.shuffleDouble.assign(threads, 0.0);
      s.mma.assign(static_cast<size_t>(threads) * 8, 0u);
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

#else  // fibers

namespace sim {

/// One simulated CUDA thread: a cooperative fiber with its own stack. makecontext/swapcontext start
/// it; every later switch is _setjmp/_longjmp, which (unlike swapcontext) makes no system call to
/// save and restore the signal mask: about twice as fast.
struct Fiber {
  ucontext_t context;
  jmp_buf jump;
  std::vector<char> stack;
  bool started = false;
  bool done = false;
};

struct Scheduler {
  ucontext_t main;
  jmp_buf mainJump;
  std::vector<Fiber> fibers;
  const std::function<void()>* kernel = nullptr;
  int threads = 0;
  int current = 0;
  long long events = 0;  // barrier arrivals and completions: progress for deadlock detection
  unsigned blockGeneration = 0;
  int blockArrived = 0;
  std::vector<unsigned> warpGeneration;
  std::vector<int> warpArrived;
  std::vector<float> shuffle;
  std::vector<double> shuffleDouble;
  std::vector<uint32_t> mma;  // 8 words a thread: mma fragments (latent_mma.cuh)
  uint32_t* smem = nullptr;
};

inline Scheduler& sched() {
  static Scheduler s;
  return s;
}

inline void yield() {
  Scheduler& s = sched();
  if (_setjmp(s.fibers[s.current].jump) == 0) {
    _longjmp(s.mainJump, 1);
  }
}

/// A fiber's body: runs the kernel, then jumps back to the scheduler for good (it never returns, so
/// uc_link is not used).
inline void fiberEntry() {
  Scheduler& s = sched();
  (*s.kernel)();
  s.fibers[s.current].done = true;
  ++s.events;
  _longjmp(s.mainJump, 1);
}

/// Points a fiber at fiberEntry on its own stack (kept out of launch(): getcontext returns twice).
__attribute__((noinline)) inline void startFiber(Fiber& f, ucontext_t* link) {
  f.done = false;
  f.started = false;
  getcontext(&f.context);
  f.context.uc_stack.ss_sp = f.stack.data();
  f.context.uc_stack.ss_size = f.stack.size();
  f.context.uc_link = link;
  makecontext(&f.context, fiberEntry, 0);
}

/// Runs fiber t until it reaches a barrier or ends (kept out of launch(): _setjmp returns twice).
__attribute__((noinline)) inline void resume(Scheduler& s, int t) {
  Fiber& f = s.fibers[t];
  if (_setjmp(s.mainJump) == 0) {
    if (!f.started) {
      f.started = true;
      swapcontext(&s.main, &f.context);
    } else {
      _longjmp(f.jump, 1);
    }
  }
}

}  // namespace sim

/// The running fiber's thread index (set by the scheduler before it switches to a fiber).
inline dim3 threadIdx;
inline dim3 blockIdx;
inline dim3 gridDim;
inline dim3 blockDim;

inline void __syncthreads() {
  sim::Scheduler& s = sim::sched();
  const unsigned generation = s.blockGeneration;
  ++s.events;
  if (++s.blockArrived == s.threads) {
    s.blockArrived = 0;
    ++s.blockGeneration;
    return;
  }
  while (s.blockGeneration == generation) {
    sim::yield();
  }
}

inline void __syncwarp(unsigned = 0xFFFFFFFFu) {
  sim::Scheduler& s = sim::sched();
  const int warp = static_cast<int>(threadIdx.x / 32);
  const unsigned generation = s.warpGeneration[warp];
  ++s.events;
  if (++s.warpArrived[warp] == 32) {
    s.warpArrived[warp] = 0;
    ++s.warpGeneration[warp];
    return;
  }
  while (s.warpGeneration[warp] == generation) {
    sim::yield();
  }
}

inline uint32_t* dynamicSmemSim() { return sim::sched().smem; }
inline float* shuffleSlots() { return sim::sched().shuffle.data(); }
inline double* shuffleSlotsDouble() { return sim::sched().shuffleDouble.data(); }
inline uint32_t* mmaSlots() { return sim::sched().mma.data(); }

namespace sim {

/// Serialises launches made from several host threads (the scheduler and the block indices are global).
inline std::mutex& launchMutex() {
  static std::mutex m;
  return m;
}

/// Runs `kernel` over `grid` blocks of `threads` threads, one block at a time, with `smemBytes`
/// of dynamic shared memory per block.
inline void launch(dim3 grid, int threads, size_t smemBytes, const std::function<void()>& kernel) {
  std::lock_guard<std::mutex> serial(launchMutex());
  Scheduler& s = sched();
  std::vector<uint32_t> smem(smemBytes / 4 + 1);
  gridDim = grid;
  blockDim = dim3(threads);
  s.kernel = &kernel;
  s.threads = threads;
  s.fibers.resize(threads);
  for (Fiber& f : s.fibers) {
    f.stack.resize(256 * 1024);
  }
  for (unsigned by = 0; by < grid.y; ++by) {
    for (unsigned bx = 0; bx < grid.x; ++bx) {
      blockIdx = dim3(bx, by);
      std::fill(smem.begin(), smem.end(), 0x7FC00ABCu);  // a NaN pattern: uninitialised reads show up
      s.smem = smem.data();
      s.shuffle.assign(threads, 0.0f);
      s.shuffleDouble.assign(threads, 0.0);
      s.mma.assign(static_cast<size_t>(threads) * 8, 0u);
      s.blockGeneration = 0;
      s.blockArrived = 0;
      s.warpGeneration.assign(threads / 32, 0);
      s.warpArrived.assign(threads / 32, 0);
      for (Fiber& f : s.fibers) {
        startFiber(f, &s.main);
      }
      int alive = threads;
      while (alive > 0) {
        const long long before = s.events;
        alive = 0;
        for (int t = 0; t < threads; ++t) {
          if (s.fibers[t].done) {
            continue;
          }
          s.current = t;
          threadIdx = dim3(static_cast<unsigned>(t));
          resume(s, t);
          alive += s.fibers[t].done ? 0 : 1;
        }
        if (alive > 0 && s.events == before) {
          std::fprintf(stderr, "SIM DEADLOCK: block (%u, %u): %d threads wait at a barrier that %d of %d reached\n",
                       bx, by, alive, s.blockArrived, threads);
          std::abort();
        }
      }
    }
  }
}

}  // namespace sim

#endif  // LATENT_SIM_THREADS

inline int atomicAdd(int* address, int value) { return __atomic_fetch_add(address, value, __ATOMIC_SEQ_CST); }
inline unsigned long long atomicMin(unsigned long long* address, unsigned long long value) {
  unsigned long long old = __atomic_load_n(address, __ATOMIC_SEQ_CST);
  while (value < old && !__atomic_compare_exchange_n(address, &old, value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
  }
  return old;
}
inline unsigned atomicAdd(unsigned* address, unsigned value) { return __atomic_fetch_add(address, value, __ATOMIC_SEQ_CST); }
inline unsigned __float_as_uint(float f) {
  unsigned bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return bits;
}
inline float __uint_as_float(unsigned bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}
// Round-to-nearest arithmetic intrinsics (the host's IEEE operations; the sim builds without -ffast-math).
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline double __dadd_rn(double a, double b) { return a + b; }
/// int to float, round to nearest (the host's conversion: cvtsi2ss rounds to nearest even).
inline float __int2float_rn(int v) { return static_cast<float>(v); }
inline float __int_as_float(int bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}
inline float __shfl_xor_sync(unsigned, float value, int laneMask) {
  float* slots = shuffleSlots();
  const unsigned t = threadIdx.x;
  slots[t] = value;
  __syncwarp();
  const float other = slots[(t & ~31u) | ((t & 31u) ^ static_cast<unsigned>(laneMask))];
  __syncwarp();
  return other;
}
/// The double shuffle (one double slot per thread).
inline double __shfl_xor_sync(unsigned, double value, int laneMask) {
  double* slots = shuffleSlotsDouble();
  const unsigned t = threadIdx.x;
  slots[t] = value;
  __syncwarp();
  const double other = slots[(t & ~31u) | ((t & 31u) ^ static_cast<unsigned>(laneMask))];
  __syncwarp();
  return other;
}
/// The int shuffle (through the double slots, which hold every int exactly).
inline int __shfl_xor_sync(unsigned mask, int value, int laneMask) {
  return static_cast<int>(__shfl_xor_sync(mask, static_cast<double>(value), laneMask));
}
inline unsigned long long atomicAdd(unsigned long long* address, unsigned long long value) {
  return __atomic_fetch_add(address, value, __ATOMIC_SEQ_CST);
}

namespace latent {
inline uint32_t* dynamicSmem() { return dynamicSmemSim(); }
}  // namespace latent

