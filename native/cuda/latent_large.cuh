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
#include "latent_mma.cuh"

#include <cmath>

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

/// The k-th smallest of bits[0, m) (m > k), exactly: four 8-bit radix passes over a 256-bin histogram.
/// Sets *threshold to its bits and *needEqual to how many of the keys equal to it rank within the first k.
/// Every thread of the block calls it; `shared` holds 2 words.
__device__ __forceinline__ void radixKth(const uint32_t* bits, uint32_t m, uint32_t k, uint32_t* hist,
                                         uint32_t* shared, uint32_t* threshold, uint32_t* needEqual) {
  const int tid = threadIdx.x;
  uint32_t prefix = 0;
  uint32_t mask = 0;
  uint32_t want = k;  // 1-based rank among the keys matching the prefix
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
  *threshold = prefix;
  *needEqual = want;
}

/// One chunk's sorted list of its k smallest (key, row) pairs from the keys' ordered bits (bits[0, m), the
/// row of column i being row0 + i), written to outKey/outRow [k]; empty slots +inf / kNoRow. listKey/listRow
/// hold p = ceilPow2(k) slots, hist 256 words, scan kThreads words, shared 3 words. Every thread calls it.
__device__ __forceinline__ void selectChunk(const uint32_t* bits, uint32_t m, int k, float* listKey, uint32_t* listRow,
                                            uint32_t* hist, uint32_t* scan, uint32_t* shared, uint32_t row0,
                                            float* outKey, uint32_t* outRow) {
  const int tid = threadIdx.x;
  const int p = ceilPow2(k);
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
    radixKth(bits, m, static_cast<uint32_t>(k), hist, shared, &threshold, &needEqual);
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
      listRow[slot] = row0 + i;
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
        listRow[less + rank] = row0 + i;
        ++rank;
      }
    }
  }
  __syncthreads();

  // Bitonic sort of the p slots by (key, row); empty slots (+inf, kNoRow) sort last.
  bitonicSortPairs(listKey, listRow, p, tid, kThreads, [] { __syncthreads(); });
  for (int i = tid; i < k; i += kThreads) {
    outKey[i] = listKey[i];
    outRow[i] = listRow[i];
  }
}

__global__ void __launch_bounds__(kThreads) selectKernel(SelectArgs a) {
  uint32_t* smem = dynamicSmem();
  const int q = blockIdx.y;
  const uint32_t c0 = blockIdx.x * a.colsPerChunk;
  const uint32_t m = min(a.colsPerChunk, a.nCols - c0);
  const int p = ceilPow2(a.k);
  uint32_t* bits = smem;                                             // [m]
  float* listKey = reinterpret_cast<float*>(bits + a.colsPerChunk);  // [p]
  uint32_t* listRow = reinterpret_cast<uint32_t*>(listKey + p);      // [p]
  uint32_t* hist = listRow + p;                                      // [256]
  uint32_t* scan = hist + 256;                                       // [kThreads]
  uint32_t* shared = scan + kThreads;                                // [4]: digit, rank left, slots used

  const float* keys = a.keys + static_cast<size_t>(q) * a.ld + c0;
  for (uint32_t i = threadIdx.x; i < m; i += kThreads) {
    bits[i] = orderedBits(keys[i]);
  }
  __syncthreads();
  const size_t out = (static_cast<size_t>(q) * a.listsPerQuery + a.firstList + blockIdx.x) * a.k;
  selectChunk(bits, m, a.k, listKey, listRow, hist, scan, shared, a.firstRow + c0, a.outKey + out, a.outRow + out);
}

// ---- Tensor-core candidates with an exact re-rank ----
//
// scoreBlockTcKernel computes the same score block from TF32 products on the tensor cores (latent_mma.cuh):
// approximate keys. selectTcKernel then makes each (query, chunk) list exact again:
//   1. every key gets an interval [L, U] = [key - e, key + e] that holds the exact float32 key, where e bounds
//      |TF32 key - float32 key| for that pair (tcKeyError, below);
//   2. U* = the k-th smallest U of the chunk (radix select); at least k rows have exact keys <= U*;
//   3. candidates are the rows with L <= U*. A row with L > U* has k rows of the chunk whose exact keys are
//      strictly smaller, so it is in neither the chunk's exact top k nor the query's;
//   4. each candidate's key is computed again exactly as scoreBlockKernel does (one float32 FMA chain in
//      dimension order, the same norm terms), and the k smallest (key, row) pairs are sorted and written.
// The lists, hence the merge and the results, ties included, are then bit for bit the float32 path's. A
// chunk with more candidates than kTcCandidates (many rows within the error of each other: duplicates,
// near-ties) computes all its keys exactly and selects as selectKernel does.
//
// The error bound. TF32 keeps 10 mantissa bits: rounding to nearest changes each operand by at most 2^-11 of
// itself, so a product by at most (2^-10 + 2^-22) of |q_i x_i|. The products are exact in float32 (11 × 11
// bits); the tensor core's float32 accumulation is allowed 2^-21 of the magnitudes summed per term (twice a
// truncating adder's error), and the float32 FMA chain it is compared with errs by at most d 2^-24 of the same
// magnitudes. By Cauchy-Schwarz sum |q_i x_i| <= |q| |x|, so
//   |dot_tf32 - dot_fp32| <= delta |q| |x|,   delta = (2^-10 + (2d + 4) 2^-21) (1 + (d + 16) 2^-23),
// the last factor covering the float32 norm terms the bound is computed from (their relative error is below
// d 2^-24 + 2^-22). The key is -dot (inner product), -dot / (|q| |x|) (cosine: the bound becomes delta) or
// |q|² + |x|² - 2 dot (L2: twice the bound), and the few roundings after the dot add at most 2^-21 of
// |key| + e; 1e-30 covers products of subnormal operands, for which the relative bound does not hold.
// TF32 rather than BF16: 2^-11 rather than 2^-8 per operand makes the candidate margin eight times
// narrower, and the operands stay float32 in memory (one cvt.rna each as they enter shared memory).

/// Score tile of the tensor-core kernel: queries × rows per block (8 warps as 2 × 4, 64 × 32 each),
/// dimensions per shared-memory stage, and the padded row stride (conflict-free fragment loads: 20 words
/// apart, the 8 groups × 4 lanes of a fragment load hit 32 different banks).
constexpr int kTcTQ = 128;
constexpr int kTcTN = 128;
constexpr int kTcTD = 16;
constexpr int kTcStride = kTcTD + 4;
/// Shared memory of scoreBlockTcKernel, bytes.
constexpr size_t kScoreTcSmem = static_cast<size_t>(kTcTQ + kTcTN) * kTcStride * 4;
/// Largest k the tensor-core path takes (each chunk re-ranks about k candidates per query exactly),
/// and the candidates one chunk list re-ranks before it falls back to exact keys for the whole chunk.
constexpr int kTcMaxK = 256;
constexpr int kTcCandidates = 1024;

/// Relative bound delta of |dot_tf32 - dot_fp32| / (|q| |x|) for dimension d (see above), as a float just
/// above its double value.
inline float tcDotErrorBound(int d) {
  const double delta = (std::ldexp(1.0, -10) + (2.0 * d + 4.0) * std::ldexp(1.0, -21)) *
                       (1.0 + (d + 16.0) * std::ldexp(1.0, -23));
  return static_cast<float>(delta * (1.0 + std::ldexp(1.0, -20)));
}

/// Bound on |key from TF32 products - key from the float32 FMA chain| of one pair (see above).
__device__ __forceinline__ float tcKeyError(int metric, float delta, float key, float qTerm, float xTerm) {
#if defined(LATENT_PLANT_TC_NO_MARGIN)
  (void)metric, (void)delta, (void)key, (void)qTerm, (void)xTerm;
  return 0.0f;  // a deliberately wrong bound: the simulator's near-tie cases must catch it
#else
  float e = metric == kCosine ? delta : delta * sqrtf(qTerm) * sqrtf(xTerm);
  if (metric == kL2) {
    e *= 2.0f;
  }
  return e + (fabsf(key) + e) * 4.8e-7f + 1e-30f;  // 4.8e-7 > 2^-21
#endif
}

/// Approximate sort keys (TF32 tensor-core products, then the same scoreOf/keyOf as scoreBlockKernel) of
/// queries [0, nQueries) × rows [firstRow, firstRow + nRows) into a.out: scoreBlockKernel's arguments and layout.
__global__ void __launch_bounds__(kThreads, 2) scoreBlockTcKernel(DistanceArgs a) {
  static_assert(kThreads == 256 && kTcTQ == 128 && kTcTN == 128 && kTcTD == 16, "8 warps of 64 x 32");
  float* qs = reinterpret_cast<float*>(dynamicSmem());  // [kTcTQ][kTcStride], TF32 bit patterns
  float* xs = qs + kTcTQ * kTcStride;                    // [kTcTN][kTcStride]
  const int tid = threadIdx.x;
  const int warp = tid / kWarpSize;
  const int lane = tid % kWarpSize;
  const int g = lane >> 2;
  const int t4 = lane & 3;
  const int wq = (warp / 4) * 64;  // the warp's first query of the tile
  const int wx = (warp % 4) * 32;  // the warp's first row of the tile
  const int qBase = blockIdx.y * kTcTQ;
  const uint32_t rBase = blockIdx.x * kTcTN;

  // Thread tid loads dimension d0 + tid % 16 of rows tid / 16 + 16 i (i < 8) of each 128 × 16 stage
  // (half-warps read 64 contiguous bytes of one row).
  const int lr = tid / kTcTD;
  const int lc = tid % kTcTD;
  const float* qRow = a.queries + static_cast<size_t>(qBase + lr) * a.d + lc;
  const float* xRow = a.db + static_cast<size_t>(a.firstRow + rBase + lr) * a.d + lc;
  const int qLeft = a.nQueries - qBase - lr;                    // valid rows: 16 i < qLeft
  const int xLeft = static_cast<int>(a.nRows - rBase) - lr;
  const size_t step = static_cast<size_t>(16) * a.d;
  uint32_t qNext[8];
  uint32_t xNext[8];
  auto load = [&](int d0) {
    const bool inD = d0 + lc < a.d;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      qNext[i] = toTf32(inD && 16 * i < qLeft ? qRow[i * step + d0] : 0.0f);
      xNext[i] = toTf32(inD && 16 * i < xLeft ? xRow[i * step + d0] : 0.0f);
    }
  };

  float acc[4][4][4];
#pragma unroll
  for (int mi = 0; mi < 4; ++mi) {
#pragma unroll
    for (int ni = 0; ni < 4; ++ni) {
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        acc[mi][ni][i] = 0.0f;
      }
    }
  }
  uint32_t* qw = reinterpret_cast<uint32_t*>(qs);
  uint32_t* xw = reinterpret_cast<uint32_t*>(xs);
  load(0);
  for (int d0 = 0; d0 < a.d; d0 += kTcTD) {
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      qw[(lr + 16 * i) * kTcStride + lc] = qNext[i];
      xw[(lr + 16 * i) * kTcStride + lc] = xNext[i];
    }
    __syncthreads();
    if (d0 + kTcTD < a.d) {
      load(d0 + kTcTD);  // in flight while this stage multiplies
    }
#pragma unroll
    for (int ks = 0; ks < kTcTD; ks += 8) {
      uint32_t bf[4][2];
#pragma unroll
      for (int ni = 0; ni < 4; ++ni) {
        const uint32_t* c = xw + (wx + ni * 8 + g) * kTcStride + ks + t4;
        bf[ni][0] = c[0];
        bf[ni][1] = c[4];
      }
#pragma unroll
      for (int mi = 0; mi < 4; ++mi) {  // one A fragment at a time: fewer live registers
        const uint32_t* r0 = qw + (wq + mi * 16 + g) * kTcStride + ks + t4;
        const uint32_t* r8 = r0 + 8 * kTcStride;
#if defined(LATENT_PLANT_MMA_LAYOUT_BUG)
        const uint32_t af[4] = {r0[0], r0[4], r8[0], r8[4]};  // deliberately wrong (a1, a2 exchanged): must be caught
#else
        const uint32_t af[4] = {r0[0], r8[0], r0[4], r8[4]};
#endif
#pragma unroll
        for (int ni = 0; ni < 4; ++ni) {
          mmaTf32(acc[mi][ni], af, bf[ni]);
        }
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int mi = 0; mi < 4; ++mi) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int q = qBase + wq + mi * 16 + g + 8 * half;
      if (q >= a.nQueries) {
        continue;
      }
      const float qt = a.qTerm[q];
#pragma unroll
      for (int ni = 0; ni < 4; ++ni) {
#pragma unroll
        for (int j = 0; j < 2; ++j) {
          const uint32_t x = rBase + wx + ni * 8 + 2 * t4 + j;
          if (x < a.nRows) {
            const float dot = acc[mi][ni][2 * half + j];
            const float key = keyOf(a.metric, scoreOf(a.metric, dot, qt, a.dbTerm[a.firstRow + x]));
            a.out[static_cast<size_t>(q) * a.ld + x] = canonicalKey(key);
          }
        }
      }
    }
  }
}

/// Arguments of selectTcKernel: selectKernel's, what the exact re-rank reads, and the bound's delta.
/// Block (x, y) takes query x and columns [y * colsPerChunk, ...): the blocks of one chunk run together,
/// so the rows they re-rank are read from L2.
struct SelectTcArgs {
  SelectArgs s;
  const float* queries;  // [nQueries][d], the batch's first query
  const float* qTerm;    // [nQueries]
  const float* db;       // all rows
  const float* dbTerm;
  int d;
  int metric;
  float delta;           // tcDotErrorBound(d)
};

/// Dynamic shared memory of selectTcKernel for chunks of `cols` columns.
inline size_t selectTcSmem(uint32_t cols) {
  return static_cast<size_t>(cols) * 4 + static_cast<size_t>(kTcCandidates) * 8 + (256 + kThreads + 4) * 4;
}

/// The exact key of (query, row): scoreBlockKernel's FMA chain in dimension order and its scoreOf/keyOf.
__device__ __forceinline__ float exactKey(const SelectTcArgs& a, const float* query, float qt, uint32_t row) {
  const float* x = a.db + static_cast<size_t>(row) * a.d;
  float dot = 0.0f;
  for (int c = 0; c < a.d; ++c) {
    dot = fmaf(query[c], x[c], dot);
  }
  return canonicalKey(keyOf(a.metric, scoreOf(a.metric, dot, qt, a.dbTerm[row])));
}

__global__ void __launch_bounds__(kThreads) selectTcKernel(SelectTcArgs a) {
  uint32_t* smem = dynamicSmem();
  const int tid = threadIdx.x;
  const int q = blockIdx.x;
  const uint32_t c0 = blockIdx.y * a.s.colsPerChunk;
  const uint32_t m = min(a.s.colsPerChunk, a.s.nCols - c0);
  const int k = a.s.k;
  const uint32_t row0 = a.s.firstRow + c0;
  uint32_t* bits = smem;                                                 // [colsPerChunk]
  float* candKey = reinterpret_cast<float*>(bits + a.s.colsPerChunk);    // [kTcCandidates]
  uint32_t* candRow = reinterpret_cast<uint32_t*>(candKey + kTcCandidates);  // [kTcCandidates]
  uint32_t* hist = candRow + kTcCandidates;                              // [256]
  uint32_t* scan = hist + 256;                                           // [kThreads]
  uint32_t* shared = scan + kThreads;                                    // [4]
  const float* keys = a.s.keys + static_cast<size_t>(q) * a.s.ld + c0;
  const float* query = a.queries + static_cast<size_t>(q) * a.d;
  const float qt = a.qTerm[q];
  const size_t out = (static_cast<size_t>(q) * a.s.listsPerQuery + a.s.firstList + blockIdx.y) * k;

  // 1-2. Upper ends of the intervals, and the k-th smallest of them.
  for (uint32_t i = tid; i < m; i += kThreads) {
    const float key = keys[i];
    bits[i] = orderedBits(canonicalKey(key + tcKeyError(a.metric, a.delta, key, qt, a.dbTerm[row0 + i])));
  }
  if (tid == 0) {
    shared[2] = 0;
  }
  __syncthreads();
  float upper = positiveInfinity();
  if (m > static_cast<uint32_t>(k)) {
    uint32_t threshold = 0;
    uint32_t needEqual = 0;
    radixKth(bits, m, static_cast<uint32_t>(k), hist, shared, &threshold, &needEqual);
    upper = keyOfBits(threshold);
  }

  // 3. Candidates: L <= U* (a NaN lower end, from an infinite key, counts as a candidate).
  for (uint32_t i = tid; i < m; i += kThreads) {
    const float key = keys[i];
    const float lower = key - tcKeyError(a.metric, a.delta, key, qt, a.dbTerm[row0 + i]);
    if (!(lower > upper)) {
      const uint32_t slot = atomicAdd(&shared[2], 1u);
      if (slot < static_cast<uint32_t>(kTcCandidates)) {
        candRow[slot] = i;
      }
    }
  }
  __syncthreads();
  const uint32_t found = shared[2];
  __syncthreads();  // shared[2] is reused below

  if (found > static_cast<uint32_t>(kTcCandidates)) {
    // Too many rows within the error of each other: exact keys for the whole chunk, then selectKernel's selection.
    for (uint32_t i = tid; i < m; i += kThreads) {
      bits[i] = orderedBits(exactKey(a, query, qt, row0 + i));
    }
    __syncthreads();
    selectChunk(bits, m, k, candKey, candRow, hist, scan, shared, row0, a.s.outKey + out, a.s.outRow + out);
    return;
  }

  // 4. Exact keys of the candidates; the k smallest (key, row) pairs. found >= min(m, k): the k rows with the
  // smallest U are candidates (L <= U <= U*).
  const int p = ceilPow2(max(static_cast<int>(found), k));
  for (int i = tid; i < p; i += kThreads) {
    if (i < static_cast<int>(found)) {
      const uint32_t row = row0 + candRow[i];
      candKey[i] = exactKey(a, query, qt, row);
      candRow[i] = row;
    } else {
      candKey[i] = positiveInfinity();
      candRow[i] = kNoRow;
    }
  }
  __syncthreads();
  bitonicSortPairs(candKey, candRow, p, tid, kThreads, [] { __syncthreads(); });
  for (int i = tid; i < k; i += kThreads) {
    a.s.outKey[out + i] = candKey[i];
    a.s.outRow[out + i] = candRow[i];
  }
}

}  // namespace latent
