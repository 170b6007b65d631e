// Large query batches: score blocks through device memory, then a radix select per query and chunk.
//
// The fused kernels (latent_kernels.cuh) keep every query's selection state in shared memory, which
// limits a block to a few queries, a small register tile (2 × 4 products a thread) and, for k up to
// 2048, 4 queries a block: each query tile reads the whole database again. For batches of many queries
// that is compute-bound far below the chip's rate. Here instead:
//   1. scoreBlockKernel: a 128 × 128 tile of (query, row) products a block, 8 × 8 a thread (16 shared
//      loads for 64 FMAs), the next tile's operands prefetched into registers while this one is
//      multiplied; it writes sort keys for a stripe of rows to device memory.
//   2. selectKernel: one block a (query, chunk of columns): the chunk's keys into shared memory as
//      order-preserving integers, four 8-bit radix passes find the k-th smallest key exactly, the keys
//      below it and the first ties (lowest rows) are gathered, sorted (bitonic) and written as the
//      chunk's list, in the layout the merge kernel reads.
// Each product accumulates in dimension order, as in tileDots, so the keys are the fused kernels' keys
// and the results are the same, ties included.
#pragma once

#include "latent_kernels.cuh"

namespace latent {

/// Score tile: queries × rows per block, dimensions per step, products per thread along each axis.
constexpr int kBlockTQ = 128;
constexpr int kBlockTN = 128;
constexpr int kBlockTD = 8;
constexpr int kBlockR = 8;
/// Padded strides of the transposed tiles in shared memory (conflict-free transposing stores).
constexpr int kBlockQS = kBlockTQ + 4;
constexpr int kBlockXS = kBlockTN + 4;
/// Shared memory of scoreBlockKernel, bytes.
constexpr size_t kScoreBlockSmem = static_cast<size_t>(kBlockTD) * (kBlockQS + kBlockXS) * 4;
/// Batches of at least this many queries (over all rows, k <= kSelectMaxK) take this path.
constexpr long long kLargeMinQueries = 64;
/// Largest chunk a select block takes, and the largest k (the list sort runs over a power of two).
constexpr int kSelectMaxCols = 8192;
constexpr int kSelectMaxK = 2048;

/// Sort key with -0 made +0, so that equal keys have equal bits (the radix select compares bits).
__device__ __forceinline__ float canonicalKey(float key) { return key + 0.0f; }

/// Sort keys (not scores) of queries [0, nQueries) × rows [firstRow, firstRow + nRows) into a.out, the
/// distance kernel's arguments and layout.
__global__ void __launch_bounds__(kThreads, 2) scoreBlockKernel(DistanceArgs a) {
  static_assert(kThreads == 256 && kBlockTQ == 16 * kBlockR && kBlockTN == 16 * kBlockR, "16 x 16 threads, 8 x 8 each");
  static_assert(kBlockTQ * kBlockTD == 4 * kThreads && kBlockTN * kBlockTD == 4 * kThreads, "4 loads a thread");
  float* qs = reinterpret_cast<float*>(dynamicSmem());  // [kBlockTD][kBlockQS]
  float* xs = qs + kBlockTD * kBlockQS;                  // [kBlockTD][kBlockXS]
  const int tid = threadIdx.x;
  const int tx = tid % 16;
  const int ty = tid / 16;
  const int qBase = blockIdx.y * kBlockTQ;
  const uint32_t rBase = blockIdx.x * kBlockTN;

  // Thread tid loads elements tid + i * 256 of each 128 × 8 tile: row e / 8, dimension e % 8.
  float qNext[4];
  float xNext[4];
  auto load = [&](int d0) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int e = tid + i * kThreads;
      const int r = e / kBlockTD;
      const int c = d0 + e % kBlockTD;
      const int q = qBase + r;
      qNext[i] = q < a.nQueries && c < a.d ? a.queries[static_cast<size_t>(q) * a.d + c] : 0.0f;
      const uint32_t x = rBase + r;
      xNext[i] = x < a.nRows && c < a.d ? a.db[static_cast<size_t>(a.firstRow + x) * a.d + c] : 0.0f;
    }
  };

  float acc[kBlockR][kBlockR];
#pragma unroll
  for (int i = 0; i < kBlockR; ++i) {
#pragma unroll
    for (int j = 0; j < kBlockR; ++j) {
      acc[i][j] = 0.0f;
    }
  }
  load(0);
  for (int d0 = 0; d0 < a.d; d0 += kBlockTD) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int e = tid + i * kThreads;
      qs[(e % kBlockTD) * kBlockQS + e / kBlockTD] = qNext[i];
      xs[(e % kBlockTD) * kBlockXS + e / kBlockTD] = xNext[i];
    }
    __syncthreads();
    if (d0 + kBlockTD < a.d) {
      load(d0 + kBlockTD);  // in flight while this step multiplies
    }
#pragma unroll
    for (int c = 0; c < kBlockTD; ++c) {
      float qa[kBlockR];
      float xb[kBlockR];
#pragma unroll
      for (int i = 0; i < kBlockR; ++i) {
        qa[i] = qs[c * kBlockQS + ty + 16 * i];
        xb[i] = xs[c * kBlockXS + tx + 16 * i];
      }
#pragma unroll
      for (int i = 0; i < kBlockR; ++i) {
#pragma unroll
        for (int j = 0; j < kBlockR; ++j) {
          acc[i][j] = fmaf(qa[i], xb[j], acc[i][j]);
        }
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < kBlockR; ++i) {
    const int q = qBase + ty + 16 * i;
    if (q >= a.nQueries) {
      continue;
    }
    const float qt = a.qTerm[q];
#pragma unroll
    for (int j = 0; j < kBlockR; ++j) {
      const uint32_t x = rBase + tx + 16 * j;
      if (x < a.nRows) {
        const float key = keyOf(a.metric, scoreOf(a.metric, acc[i][j], qt, a.dbTerm[a.firstRow + x]));
        a.out[static_cast<size_t>(q) * a.ld + x] = canonicalKey(key);
      }
    }
  }
}

/// Arguments of selectKernel: block (x, y) takes columns [x * colsPerChunk, ...) of query y's keys.
struct SelectArgs {
  const float* keys;      // [nQueries][ld]
  size_t ld;
  int nQueries;
  uint32_t nCols;         // valid columns (rows of the stripe)
  uint32_t colsPerChunk;  // <= kSelectMaxCols
  uint32_t firstRow;      // row of column 0
  int k;                  // 1..kSelectMaxK
  int listsPerQuery;      // lists of the merge input per query
  int firstList;          // list of chunk 0 of this stripe
  float* outKey;          // [nQueries][listsPerQuery][k], sorted; empty slots +inf / kNoRow
  uint32_t* outRow;
};

/// Order-preserving bits of a key: a < b as floats (non-NaN, no -0) iff bits(a) < bits(b).
__device__ __forceinline__ uint32_t orderedBits(float key) {
  const uint32_t u = __float_as_uint(key);
  return (u & 0x80000000u) != 0 ? ~u : u | 0x80000000u;
}

__device__ __forceinline__ float keyOfBits(uint32_t b) {
  return __uint_as_float((b & 0x80000000u) != 0 ? b & 0x7FFFFFFFu : ~b);
}

/// Dynamic shared memory of selectKernel for chunks of `cols` columns and lists of k.
inline size_t selectSmem(uint32_t cols, int k) {
  return static_cast<size_t>(cols) * 4 + static_cast<size_t>(ceilPow2(k)) * 8 + (256 + kThreads + 4) * 4;
}

__global__ void __launch_bounds__(kThreads) selectKernel(SelectArgs a) {
  uint32_t* smem = dynamicSmem();
  const int tid = threadIdx.x;
  const int q = blockIdx.y;
  const uint32_t c0 = blockIdx.x * a.colsPerChunk;
  const uint32_t m = min(a.colsPerChunk, a.nCols - c0);
  const int k = a.k;
  const int p = ceilPow2(k);
  uint32_t* bits = smem;                                       // [m]
  float* listKey = reinterpret_cast<float*>(bits + a.colsPerChunk);  // [p]
  uint32_t* listRow = reinterpret_cast<uint32_t*>(listKey + p);      // [p]
  uint32_t* hist = listRow + p;                                // [256]
  uint32_t* scan = hist + 256;                                 // [kThreads]
  uint32_t* shared = scan + kThreads;                          // [4]: digit, rank left, slots used

  const float* keys = a.keys + static_cast<size_t>(q) * a.ld + c0;
  for (uint32_t i = tid; i < m; i += kThreads) {
    bits[i] = orderedBits(keys[i]);
  }
  for (int i = tid; i < p; i += kThreads) {
    listKey[i] = positiveInfinity();
    listRow[i] = kNoRow;
  }
  if (tid == 0) {
    shared[2] = 0;
  }
  __syncthreads();

  // The k-th smallest bits (the threshold) and how many of the keys equal to it the list takes.
  uint32_t threshold = 0xFFFFFFFFu;
  uint32_t needEqual = 0;
  const bool all = m <= static_cast<uint32_t>(k);
  if (!all) {
    uint32_t prefix = 0;
    uint32_t mask = 0;
    uint32_t want = static_cast<uint32_t>(k);  // 1-based rank among the keys matching the prefix
    for (int shift = 24; shift >= 0; shift -= 8) {
      for (int i = tid; i < 256; i += kThreads) {
        hist[i] = 0;
      }
      __syncthreads();
      for (uint32_t i = tid; i < m; i += kThreads) {
        const uint32_t b = bits[i];
        if ((b & mask) == prefix) {
          atomicAdd(&hist[(b >> shift) & 0xFFu], 1u);
        }
      }
      __syncthreads();
      if (tid == 0) {
        uint32_t below = 0;
        int digit = 0;
        while (below + hist[digit] < want) {
          below += hist[digit];
          ++digit;
        }
        shared[0] = static_cast<uint32_t>(digit);
        shared[1] = want - below;
      }
      __syncthreads();
      prefix |= shared[0] << shift;
      mask |= 0xFFu << shift;
      want = shared[1];
      __syncthreads();  // shared[] is rewritten by the next pass
    }
    threshold = prefix;
    needEqual = want;
  }

  // Gather: every key below the threshold (there are k - needEqual), then the first needEqual keys equal
  // to it in column order (each thread takes a contiguous run of columns; a prefix sum orders the runs).
  const uint32_t per = (m + kThreads - 1) / kThreads;
  const uint32_t from = min(m, tid * per);
  const uint32_t to = min(m, from + per);
  uint32_t equal = 0;
  for (uint32_t i = from; i < to; ++i) {
    const uint32_t b = bits[i];
    if (all || b < threshold) {
      const uint32_t slot = atomicAdd(&shared[2], 1u);
      listKey[slot] = keyOfBits(b);
      listRow[slot] = a.firstRow + c0 + i;
    } else if (b == threshold) {
      ++equal;
    }
  }
  scan[tid] = equal;
  __syncthreads();
  if (!all) {
    // Exclusive prefix sum of the tie counts (Hillis-Steele over kThreads entries).
    for (int off = 1; off < kThreads; off <<= 1) {
      const uint32_t v = tid >= off ? scan[tid - off] : 0;
      __syncthreads();
      scan[tid] += v;
      __syncthreads();
    }
    const uint32_t less = static_cast<uint32_t>(k) - needEqual;
    uint32_t rank = scan[tid] - equal;  // ties before this thread's run
    for (uint32_t i = from; i < to && rank < needEqual; ++i) {
      if (bits[i] == threshold) {
        listKey[less + rank] = keyOfBits(threshold);
        listRow[less + rank] = a.firstRow + c0 + i;
        ++rank;
      }
    }
  }
  __syncthreads();

  // Bitonic sort of the p slots by (key, row); empty slots (+inf, kNoRow) sort last.
  bitonicSortPairs(listKey, listRow, p, tid, kThreads, [] { __syncthreads(); });
  const size_t out = (static_cast<size_t>(q) * a.listsPerQuery + a.firstList + blockIdx.x) * k;
  for (int i = tid; i < k; i += kThreads) {
    a.outKey[out + i] = listKey[i];
    a.outRow[out + i] = listRow[i];
  }
}

}  // namespace latent
