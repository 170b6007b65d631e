// Device code of liblatentcuda: distance tiles and exact top-k selection on chip.
//
// One thread block (kThreads = 256 threads) takes TQ queries and a chunk of database rows. It walks
// the chunk in tiles of TN rows; each tile's TQ × TN dot products are computed from shared-memory
// tiles of kTileD dimensions (each thread owns RQ × RN outputs in registers), turned into scores and
// then into sort keys (lower key = nearer). A key that beats its query's current k-th best key is
// appended to that query's candidate buffer in shared memory; when a buffer could overflow on the
// next tile, the warp that owns the query sorts it (bitonic network) and merges it into the query's
// sorted list of the K best so far. So the Q × N score matrix never reaches device memory: each
// block writes only k (key, row) pairs per query for its chunk, and a merge kernel, built on the
// same selection state, reduces those per-chunk lists to the final top-k.
//
// Order: keys compare as (key, row) pairs, so ties are broken by the lower row index and every
// sorting network below works on a strict total order. NaN scores become +inf keys (worst).
#pragma once

#include <cstdint>
#ifndef LATENT_CUDA_HOST_SIM
#include <cuda_runtime.h>
#endif

#include "../common/latent_metric.h"

namespace latent {

/// Threads per block of every kernel here.
constexpr int kThreads = 256;
constexpr int kWarpSize = 32;
constexpr int kWarps = kThreads / kWarpSize;
/// Dimensions per shared-memory step of the dot-product tiles.
constexpr int kTileD = 32;
/// Row index of an empty slot; real rows are below 2^31 - 1.
constexpr uint32_t kNoRow = 0xFFFFFFFFu;

/// The metric codes of native/common/latent_metric.h (shared with the CPU kernels and Java).
enum MetricCode : int { kInnerProduct = LATENT_METRIC_INNER_PRODUCT, kCosine = LATENT_METRIC_COSINE, kL2 = LATENT_METRIC_L2 };

#ifndef LATENT_CUDA_HOST_SIM
/// Start of the block's dynamic shared memory (the host simulator in sim/ supplies its own).
__device__ __forceinline__ uint32_t* dynamicSmem() {
  extern __shared__ uint32_t latentDynamicSmem[];
  return latentDynamicSmem;
}
#endif

__device__ __forceinline__ float positiveInfinity() { return __int_as_float(0x7f800000); }

/// The smallest power of two >= n, for n >= 1 (the length a bitonic network sorts).
__host__ __device__ __forceinline__ int ceilPow2(int n) {
  int p = 1;
  while (p < n) {
    p <<= 1;
  }
  return p;
}

/// Strict order of (key, row) pairs: lower key first, then lower row.
__device__ __forceinline__ bool pairLess(float ka, uint32_t ra, float kb, uint32_t rb) {
  return ka < kb || (ka == kb && ra < rb);
}

/// Score of one (query, row) pair from its dot product and the two precomputed norm terms
/// (cosine: 1/|q| and 1/|x|; L2: |q|² and |x|²; unused for the inner product).
__device__ __forceinline__ float scoreOf(int metric, float dot, float qTerm, float xTerm) {
  if (metric == kCosine) {
    return dot * qTerm * xTerm;
  }
  if (metric == kL2) {
    // |q|² + |x|² - 2 q·x can go slightly negative from rounding for (near) identical vectors.
    return fmaxf(fmaf(-2.0f, dot, qTerm + xTerm), 0.0f);
  }
  return dot;
}

/// Sort key of a score: lower is nearer under every metric; NaN sorts last.
__device__ __forceinline__ float keyOf(int metric, float score) {
  float key = metric == kL2 ? score : -score;
  return key != key ? positiveInfinity() : key;
}

/// The score that a key came from (inverse of keyOf for non-NaN scores).
__device__ __forceinline__ float scoreOfKey(int metric, float key) {
  return metric == kL2 ? key : -key;
}

/// Thread layout of a TQ × TN tile of dot products over kThreads threads.
template <int TQ, int TN>
struct TileShape {
  /// Queries per thread.
  static constexpr int RQ = TQ >= 32 ? 2 : 1;
  /// Threads along the query axis, and along the row axis.
  static constexpr int TQT = TQ / RQ;
  static constexpr int TNT = kThreads / TQT;
  /// Rows per thread. A thread owns queries tq + i*TQT and rows tn + j*TNT: consecutive lanes read
  /// consecutive shared-memory words (no bank conflicts), queries are warp-wide broadcasts.
  static constexpr int RN = TN / TNT;
  /// Padded strides of the transposed tiles (odd, so the transposing stores are conflict-free).
  static constexpr int QS = TQ + 1;
  static constexpr int XS = TN + 1;
  /// Floats of shared memory for the two tiles.
  static constexpr int kTileFloats = kTileD * QS + kTileD * XS;
  static_assert(TQ % RQ == 0 && kThreads % TQT == 0, "query tile does not divide the block");
  static_assert(TN % TNT == 0 && RN >= 1, "row tile does not divide the block");
  static_assert(TN <= kThreads, "one thread per row fills the row ids");
};

/// Dot products of TQ queries (starting at `queries`, `nq` of them valid) with the TN rows named
/// in `rowIds` (kNoRow for padding) over all d dimensions, into acc[i][j] for query tq + i*TQT and
/// row tn + j*TNT. Padded queries, rows and dimensions contribute zeros. Every thread of the
/// block must call this (it synchronises); it ends with a barrier, so the tiles may be reused.
/// Each output accumulates its products in dimension order, so identical rows get identical dots.
template <int TQ, int TN>
__device__ __forceinline__ void tileDots(const float* __restrict__ queries, int nq, int d,
                                         const float* __restrict__ db,
                                         const uint32_t* __restrict__ rowIds, float* qs, float* xs,
                                         float (&acc)[TileShape<TQ, TN>::RQ][TileShape<TQ, TN>::RN]) {
  using S = TileShape<TQ, TN>;
  const int tid = threadIdx.x;
  const int tq = tid / S::TNT;
  const int tn = tid % S::TNT;
#pragma unroll
  for (int i = 0; i < S::RQ; ++i) {
#pragma unroll
    for (int j = 0; j < S::RN; ++j) {
      acc[i][j] = 0.0f;
    }
  }
  for (int d0 = 0; d0 < d; d0 += kTileD) {
    // Both tiles are stored transposed ([dimension][query or row]); the global reads run along
    // the dimension, so a warp reads whole 128-byte row segments.
    for (int e = tid; e < TQ * kTileD; e += kThreads) {
      const int q = e / kTileD;
      const int c = e % kTileD;
      float v = 0.0f;
      if (q < nq && d0 + c < d) {
        v = queries[static_cast<size_t>(q) * d + d0 + c];
      }
      qs[c * S::QS + q] = v;
    }
    for (int e = tid; e < TN * kTileD; e += kThreads) {
      const int r = e / kTileD;
      const int c = e % kTileD;
      const uint32_t row = rowIds[r];
      float v = 0.0f;
      if (row != kNoRow && d0 + c < d) {
        v = db[static_cast<size_t>(row) * d + d0 + c];
      }
      xs[c * S::XS + r] = v;
    }
    __syncthreads();
#pragma unroll 8
    for (int c = 0; c < kTileD; ++c) {
      float a[S::RQ];
      float b[S::RN];
#pragma unroll
      for (int i = 0; i < S::RQ; ++i) {
        a[i] = qs[c * S::QS + tq + i * S::TQT];
      }
#pragma unroll
      for (int j = 0; j < S::RN; ++j) {
        b[j] = xs[c * S::XS + tn + j * S::TNT];
      }
#pragma unroll
      for (int i = 0; i < S::RQ; ++i) {
#pragma unroll
        for (int j = 0; j < S::RN; ++j) {
          acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
      }
    }
    // The next step (or the caller's next tile) overwrites qs and xs.
    __syncthreads();
  }
}

/// Sorts p (a power of two) (key, row) pairs ascending by pairLess with a bitonic network: the calling
/// threads, numbered from `first` in steps of `step`, share the compare-exchanges, and `sync()` (a warp's or a
/// block's barrier, as the callers are) separates the steps.
template <typename Sync>
__device__ __forceinline__ void bitonicSortPairs(float* key, uint32_t* row, int p, int first, int step, Sync sync) {
  for (int size = 2; size <= p; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int t = first; t < (p >> 1); t += step) {
        const int i = 2 * t - (t & (stride - 1));
        const int j = i + stride;
        const bool ascending = (i & size) == 0;
        const float ki = key[i], kj = key[j];
        const uint32_t ri = row[i], rj = row[j];
        if (ascending ? pairLess(kj, rj, ki, ri) : pairLess(ki, ri, kj, rj)) {
          key[i] = kj;
          key[j] = ki;
          row[i] = rj;
          row[j] = ri;
        }
      }
      sync();
    }
  }
}

/// Per-query selection state of one block, in shared memory: a sorted list of the K best
/// (key, row) pairs seen so far, an unsorted buffer of B newer candidates, the buffer fill count
/// and the current threshold (the k-th best pair of the list). Requires B >= TN (a tile's
/// candidates always fit after flush()), K and B powers of two.
template <int K, int B, int TQ, int TN>
struct Selection {
  static_assert((K & (K - 1)) == 0 && K >= kWarpSize, "K must be a power of two >= 32");
  static_assert((B & (B - 1)) == 0 && B >= TN, "B must be a power of two >= TN");

  /// Bytes of shared memory used by the state (all arrays are 4-byte words).
  static constexpr size_t kBytes = static_cast<size_t>(TQ) * (2 * K + 2 * B + 3) * 4;

  float* listKey;     // [TQ][K], sorted ascending by (key, row)
  uint32_t* listRow;  // [TQ][K]
  float* bufKey;      // [TQ][B]
  uint32_t* bufRow;   // [TQ][B]
  int* count;         // [TQ], candidates in the buffer
  float* thrKey;      // [TQ], the k-th best pair of the list: a candidate must beat it
  uint32_t* thrRow;   // [TQ]

  /// Carves the state out of `smem` (4-byte aligned); returns the first word after it.
  __device__ __forceinline__ uint32_t* carve(uint32_t* smem) {
    listKey = reinterpret_cast<float*>(smem);
    smem += TQ * K;
    listRow = smem;
    smem += TQ * K;
    bufKey = reinterpret_cast<float*>(smem);
    smem += TQ * B;
    bufRow = smem;
    smem += TQ * B;
    count = reinterpret_cast<int*>(smem);
    smem += TQ;
    thrKey = reinterpret_cast<float*>(smem);
    smem += TQ;
    thrRow = smem;
    smem += TQ;
    return smem;
  }

  /// Empties the state. All threads call it; the caller synchronises before first use.
  __device__ __forceinline__ void init() {
    for (int e = threadIdx.x; e < TQ * K; e += kThreads) {
      listKey[e] = positiveInfinity();
      listRow[e] = kNoRow;
    }
    for (int q = threadIdx.x; q < TQ; q += kThreads) {
      count[q] = 0;
      thrKey[q] = positiveInfinity();
      thrRow[q] = kNoRow;
    }
  }

  /// Offers one candidate of local query lq (any thread; at most TN offers per query between two
  /// flush() calls). Cheap rejection against the threshold; accepted pairs take a buffer slot.
  __device__ __forceinline__ void offer(int lq, float key, uint32_t row) {
    if (pairLess(key, row, thrKey[lq], thrRow[lq])) {
      const int slot = atomicAdd(&count[lq], 1);
      bufKey[lq * B + slot] = key;
      bufRow[lq * B + slot] = row;
    }
  }

  /// Merges the buffer of local query lq (c > 0 candidates) into its list. Called by all 32 lanes
  /// of one warp with the same arguments; only that warp touches this query's state meanwhile.
  __device__ void mergeQuery(int lq, int c, int k) {
    const int lane = threadIdx.x & (kWarpSize - 1);
    float* bk = bufKey + lq * B;
    uint32_t* br = bufRow + lq * B;
    float* lk = listKey + lq * K;
    uint32_t* lr = listRow + lq * K;

    // Sort the buffer, padded with empty slots to a power of two p <= B.
    const int p = ceilPow2(c);
    for (int t = c + lane; t < p; t += kWarpSize) {
      bk[t] = positiveInfinity();
      br[t] = kNoRow;
    }
    __syncwarp();
    bitonicSortPairs(bk, br, p, lane, kWarpSize, [] { __syncwarp(); });

    // The K best of (sorted list A) ∪ (sorted buffer B, padded to K) are min(A[i], B[K-1-i]),
    // a bitonic sequence (A rises, reversed B falls); a half-cleaner network then sorts it.
    for (int i = lane; i < K; i += kWarpSize) {
      const int j = K - 1 - i;
      if (j < p) {
        const float kb = bk[j];
        const uint32_t rb = br[j];
        if (pairLess(kb, rb, lk[i], lr[i])) {
          lk[i] = kb;
          lr[i] = rb;
        }
      }
    }
    __syncwarp();
    for (int stride = K >> 1; stride > 0; stride >>= 1) {
      for (int t = lane; t < (K >> 1); t += kWarpSize) {
        const int i = 2 * t - (t & (stride - 1));
        const int j = i + stride;
        const float ki = lk[i], kj = lk[j];
        const uint32_t ri = lr[i], rj = lr[j];
        if (pairLess(kj, rj, ki, ri)) {
          lk[i] = kj;
          lk[j] = ki;
          lr[i] = rj;
          lr[j] = ri;
        }
      }
      __syncwarp();
    }
    if (lane == 0) {
      thrKey[lq] = lk[k - 1];
      thrRow[lq] = lr[k - 1];
      count[lq] = 0;
    }
    __syncwarp();
  }

  /// Merges every buffer that could not take another tile (all = false) or every non-empty
  /// buffer (all = true). All threads of the block call it between two barriers; warp w owns
  /// queries w, w + kWarps, ...
  __device__ __forceinline__ void flush(int k, bool all) {
    const int warp = threadIdx.x / kWarpSize;
    for (int lq = warp; lq < TQ; lq += kWarps) {
      const int c = count[lq];
      // Every lane has read the count before lane 0 may reset it inside mergeQuery.
      __syncwarp();
      if (all ? c > 0 : c > B - TN) {
        mergeQuery(lq, c, k);
      }
    }
  }
};

/// Fills rowIds[0..TN) with the database rows of candidate positions [pos0, pos0 + TN) (through
/// `subset` when given), kNoRow past `end`, and their norm terms into rowTerm. All threads call it.
template <int TN>
__device__ __forceinline__ void loadRowIds(uint32_t pos0, uint32_t end, const uint32_t* __restrict__ subset,
                                           const float* __restrict__ dbTerm, uint32_t* rowIds,
                                           float* rowTerm) {
  for (int r = threadIdx.x; r < TN; r += kThreads) {
    const uint32_t pos = pos0 + r;
    uint32_t row = kNoRow;
    float term = 0.0f;
    if (pos < end) {
      row = subset != nullptr ? subset[pos] : pos;
      term = dbTerm[row];
    }
    rowIds[r] = row;
    rowTerm[r] = term;
  }
}

/// The block's query norm terms: qTerm[q] for its queries [qBase, qBase + nq), 0 for padding.
template <int TQ>
__device__ __forceinline__ void loadQueryTerms(const float* __restrict__ terms, int qBase, int nq, float* qTerm) {
  for (int q = threadIdx.x; q < TQ; q += kThreads) {
    qTerm[q] = q < nq ? terms[qBase + q] : 0.0f;
  }
}

/// Arguments of the fused distance + top-k kernel.
struct ChunkArgs {
  const float* queries;   // [nQueries][d] on the device
  const float* qTerm;     // [nQueries] query norm terms
  int nQueries;
  int d;
  const float* db;        // [n][d]
  const float* dbTerm;    // [n] row norm terms
  const uint32_t* subset; // candidate positions -> rows, or null for rows 0..nCand-1
  uint32_t nCand;         // candidates (n, or the subset size)
  uint32_t chunkRows;     // candidates per block along x (a multiple of TN)
  int metric;
  int k;                  // results kept per query and chunk, 1 <= k <= K
  float* outKey;          // [nQueries][gridDim.x][k]
  uint32_t* outRow;       // [nQueries][gridDim.x][k]
};

/// Writes each query's sorted list of its chunk (queries [qBase, qBase + nq) of the block, chunk blockIdx.x)
/// to the per-chunk lists the merge reads (a.outKey, a.outRow, a.k: ChunkArgs, or the sq8 kernels' Sq8Args);
/// each warp writes the queries it merged, so no barrier is needed.
template <int K, int B, int TQ, int TN, typename Args>
__device__ __forceinline__ void writeChunkLists(const Selection<K, B, TQ, TN>& sel, const Args& a, int qBase,
                                                int nq) {
  const int warp = threadIdx.x / kWarpSize;
  const int lane = threadIdx.x % kWarpSize;
  for (int lq = warp; lq < nq; lq += kWarps) {
    const size_t out = (static_cast<size_t>(qBase + lq) * gridDim.x + blockIdx.x) * a.k;
    for (int i = lane; i < a.k; i += kWarpSize) {
      a.outKey[out + i] = sel.listKey[lq * K + i];
      a.outRow[out + i] = sel.listRow[lq * K + i];
    }
  }
}

/// Fused kernel: block (x, y) scores queries [y*TQ, y*TQ + TQ) against candidate chunk x and
/// writes each query's k best (key, row) pairs of that chunk, best first (empty slots: +inf, kNoRow).
template <int K, int B, int TQ, int TN>
__global__ void __launch_bounds__(kThreads) topkChunkKernel(ChunkArgs a) {
  using S = TileShape<TQ, TN>;
  using Sel = Selection<K, B, TQ, TN>;
  uint32_t* smem = dynamicSmem();
  Sel sel;
  uint32_t* p = sel.carve(smem);
  uint32_t* rowIds = p;
  p += TN;
  float* rowTerm = reinterpret_cast<float*>(p);
  p += TN;
  float* qTerm = reinterpret_cast<float*>(p);
  p += TQ;
  float* qs = reinterpret_cast<float*>(p);
  float* xs = qs + kTileD * S::QS;

  const int qBase = blockIdx.y * TQ;
  const int nq = min(TQ, a.nQueries - qBase);
  const uint32_t chunkStart = blockIdx.x * a.chunkRows;
  const uint32_t chunkEnd = min(a.nCand, chunkStart + a.chunkRows);
  const float* queries = a.queries + static_cast<size_t>(qBase) * a.d;

  sel.init();
  loadQueryTerms<TQ>(a.qTerm, qBase, nq, qTerm);
  __syncthreads();

  const int tq = threadIdx.x / S::TNT;
  const int tn = threadIdx.x % S::TNT;
  float acc[S::RQ][S::RN];
  for (uint32_t tile = chunkStart; tile < chunkEnd; tile += TN) {
    loadRowIds<TN>(tile, chunkEnd, a.subset, a.dbTerm, rowIds, rowTerm);
    __syncthreads();
    tileDots<TQ, TN>(queries, nq, a.d, a.db, rowIds, qs, xs, acc);
#pragma unroll
    for (int i = 0; i < S::RQ; ++i) {
      const int lq = tq + i * S::TQT;
#pragma unroll
      for (int j = 0; j < S::RN; ++j) {
        const int lr = tn + j * S::TNT;
        const uint32_t row = rowIds[lr];
        if (lq < nq && row != kNoRow) {
          const float key = keyOf(a.metric, scoreOf(a.metric, acc[i][j], qTerm[lq], rowTerm[lr]));
          sel.offer(lq, key, row);
        }
      }
    }
    __syncthreads();
    sel.flush(a.k, false);
    __syncthreads();
  }
  sel.flush(a.k, true);
  writeChunkLists(sel, a, qBase, nq);
}

/// Shared memory of topkChunkKernel in bytes.
template <int K, int B, int TQ, int TN>
constexpr size_t chunkKernelSmem() {
  return Selection<K, B, TQ, TN>::kBytes + static_cast<size_t>(2 * TN + TQ) * 4 +
         static_cast<size_t>(TileShape<TQ, TN>::kTileFloats) * 4;
}


/// Shape of the few-query kernel (topkFewKernel) for a bucket whose tiled kernel takes TQ queries:
/// FQ queries per block, and groups of R rows per warp, so that each lane holds FQ × R = 32 partial
/// dot products and one butterfly reduce-scatter leaves one finished product on every lane.
template <int TQ>
struct FewShape {
  static constexpr int FQ = TQ < 8 ? TQ : 8;
  static constexpr int R = kWarpSize / FQ;
  static_assert(FQ * R == kWarpSize, "FQ must divide the warp");
};

/// Sums v[0..32) over the warp's lanes so that lane l ends with the total of v[l] in v[0]:
/// five exchange steps, each sending the half of the live values that the partner keeps. Float
/// addition is commutative, so every index is summed by the same tree of lanes: the total of a row
/// does not depend on which slot it took (identical rows get identical scores).
__device__ __forceinline__ void reduceScatter32(float (&v)[kWarpSize], int lane) {
#pragma unroll
  for (int m = kWarpSize / 2, n = kWarpSize; m >= 1; m >>= 1, n >>= 1) {
    const bool upper = (lane & m) != 0;
#pragma unroll
    for (int j = 0; j < kWarpSize / 2; ++j) {
      if (j < n / 2) {
        const float send = upper ? v[j] : v[j + n / 2];
        const float keep = upper ? v[j + n / 2] : v[j];
        v[j] = keep + __shfl_xor_sync(0xFFFFFFFFu, send, m);
      }
    }
  }
}

/// Few-query kernel, for batches of a few queries, where the database read is the whole cost:
/// block (x, y) takes queries [y*FQ, y*FQ + FQ) (held in shared memory) and candidate chunk x, and
/// each warp streams groups of R consecutive candidate rows straight from device memory (lane l
/// reads dimensions l, l + 32, ...: whole 128-byte segments per load, R rows in flight), so no
/// query slot is computed for nothing and no row passes through shared memory. Same selection
/// state, same output as topkChunkKernel (a per-chunk list of k pairs per query, for the merge).
template <int K, int B, int TQ, int TN>
__global__ void __launch_bounds__(kThreads) topkFewKernel(ChunkArgs a) {
  constexpr int FQ = FewShape<TQ>::FQ;
  constexpr int R = FewShape<TQ>::R;
  constexpr int G = TN / (kWarps * R);  // row groups per warp and tile
  static_assert(G >= 1 && TN % (kWarps * R) == 0, "a tile must split into whole row groups per warp");
  using Sel = Selection<K, B, FQ, TN>;
  uint32_t* smem = dynamicSmem();
  Sel sel;
  uint32_t* p = sel.carve(smem);
  float* qTerm = reinterpret_cast<float*>(p);
  p += FQ;
  float* qv = reinterpret_cast<float*>(p);  // [FQ][d]

  const int d = a.d;
  const int qBase = blockIdx.y * FQ;
  const int nq = min(FQ, a.nQueries - qBase);
  const uint32_t chunkStart = blockIdx.x * a.chunkRows;
  const uint32_t chunkEnd = min(a.nCand, chunkStart + a.chunkRows);

  sel.init();
  for (int q = threadIdx.x; q < FQ; q += kThreads) {
    qTerm[q] = q < nq ? a.qTerm[qBase + q] : 0.0f;
  }
  for (int e = threadIdx.x; e < FQ * d; e += kThreads) {
    const int q = e / d;
    qv[e] = q < nq ? a.queries[static_cast<size_t>(qBase) * d + e] : 0.0f;
  }
  __syncthreads();

  const int warp = threadIdx.x / kWarpSize;
  const int lane = threadIdx.x % kWarpSize;
  // After the reduction lane l holds query l / R against row slot l % R.
  const int myQuery = lane / R;
  const int mySlot = lane % R;
  for (uint32_t tile = chunkStart; tile < chunkEnd; tile += TN) {
#pragma unroll 1
    for (int g = 0; g < G; ++g) {
      const uint32_t pos0 = tile + static_cast<uint32_t>((warp * G + g) * R);
      const float* rowPtr[R];
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const uint32_t pos = pos0 + r;
        rowPtr[r] = nullptr;
        if (pos < chunkEnd) {
          const uint32_t row = a.subset != nullptr ? a.subset[pos] : pos;
          rowPtr[r] = a.db + static_cast<size_t>(row) * d;
        }
      }
      float v[kWarpSize];
#pragma unroll
      for (int e = 0; e < kWarpSize; ++e) {
        v[e] = 0.0f;
      }
#pragma unroll 2
      for (int c = lane; c < d; c += kWarpSize) {
        float x[R];
#pragma unroll
        for (int r = 0; r < R; ++r) {
          x[r] = rowPtr[r] != nullptr ? rowPtr[r][c] : 0.0f;
        }
#pragma unroll
        for (int i = 0; i < FQ; ++i) {
          const float qc = qv[i * d + c];
#pragma unroll
          for (int r = 0; r < R; ++r) {
            v[i * R + r] = fmaf(qc, x[r], v[i * R + r]);
          }
        }
      }
      reduceScatter32(v, lane);
      const uint32_t pos = pos0 + mySlot;
      if (myQuery < nq && pos < chunkEnd) {
        const uint32_t row = a.subset != nullptr ? a.subset[pos] : pos;
        const float key = keyOf(a.metric, scoreOf(a.metric, v[0], qTerm[myQuery], a.dbTerm[row]));
        sel.offer(myQuery, key, row);
      }
    }
    __syncthreads();
    sel.flush(a.k, false);
    __syncthreads();
  }
  sel.flush(a.k, true);
  writeChunkLists(sel, a, qBase, nq);
}

/// Shared memory of topkFewKernel in bytes for dimension d.
template <int K, int B, int TQ, int TN>
constexpr size_t fewKernelSmem(int d) {
  constexpr int FQ = FewShape<TQ>::FQ;
  return Selection<K, B, FQ, TN>::kBytes + static_cast<size_t>(FQ) * 4 + static_cast<size_t>(FQ) * d * 4;
}
/// Arguments of the merge kernel.
struct MergeArgs {
  const float* inKey;     // [nQueries][listsIn][k], each list sorted, +inf/kNoRow for empty slots
  const uint32_t* inRow;
  int nQueries;
  int listsIn;            // lists per query
  int listsPerBlock;      // lists merged by one block (along x)
  int k;
  int metric;
  float* outKey;          // intermediate pass: [nQueries][gridDim.x][k]
  uint32_t* outRow;
  float* outScore;        // final pass (gridDim.x == 1, outKey == null): [nQueries][k]
  long long* outId;       // final pass: row index, -1 for an empty slot
};

/// Merge kernel: block (x, y) reduces lists [x*listsPerBlock, ...) of queries [y*TQ, y*TQ + TQ)
/// to one list of the k best; the last pass writes scores and 64-bit row ids.
template <int K, int B, int TQ, int TN>
__global__ void __launch_bounds__(kThreads) topkMergeKernel(MergeArgs a) {
  using S = TileShape<TQ, TN>;
  using Sel = Selection<K, B, TQ, TN>;
  uint32_t* smem = dynamicSmem();
  Sel sel;
  sel.carve(smem);

  const int qBase = blockIdx.y * TQ;
  const int nq = min(TQ, a.nQueries - qBase);
  const size_t perQuery = static_cast<size_t>(a.listsIn) * a.k;
  const size_t begin = static_cast<size_t>(blockIdx.x) * a.listsPerBlock * a.k;
  const size_t end = min(perQuery, begin + static_cast<size_t>(a.listsPerBlock) * a.k);

  sel.init();
  __syncthreads();
  const int tq = threadIdx.x / S::TNT;
  const int tn = threadIdx.x % S::TNT;
  for (size_t tile = begin; tile < end; tile += TN) {
#pragma unroll
    for (int i = 0; i < S::RQ; ++i) {
      const int lq = tq + i * S::TQT;
#pragma unroll
      for (int j = 0; j < S::RN; ++j) {
        const size_t pos = tile + tn + j * S::TNT;
        if (lq < nq && pos < end) {
          const size_t at = static_cast<size_t>(qBase + lq) * perQuery + pos;
          sel.offer(lq, a.inKey[at], a.inRow[at]);
        }
      }
    }
    __syncthreads();
    sel.flush(a.k, false);
    __syncthreads();
  }
  sel.flush(a.k, true);
  const int warp = threadIdx.x / kWarpSize;
  const int lane = threadIdx.x % kWarpSize;
  for (int lq = warp; lq < nq; lq += kWarps) {
    const size_t out = (static_cast<size_t>(qBase + lq) * gridDim.x + blockIdx.x) * a.k;
    for (int i = lane; i < a.k; i += kWarpSize) {
      const float key = sel.listKey[lq * K + i];
      const uint32_t row = sel.listRow[lq * K + i];
      if (a.outKey != nullptr) {
        a.outKey[out + i] = key;
        a.outRow[out + i] = row;
      } else {
        a.outScore[out + i] = scoreOfKey(a.metric, key);
        a.outId[out + i] = row == kNoRow ? -1LL : static_cast<long long>(row);
      }
    }
  }
}

/// Shared memory of topkMergeKernel in bytes.
template <int K, int B, int TQ, int TN>
constexpr size_t mergeKernelSmem() {
  return Selection<K, B, TQ, TN>::kBytes;
}

/// Scores of the block's TQ queries (nq valid) against the TN rows named in rowIds (kNoRow for none), each
/// valid pair passed to visit(local query, local row, score). Every thread of the block calls it.
template <int TQ, int TN, typename Visit>
__device__ __forceinline__ void scoreTile(const float* __restrict__ queries, int nq, int d, const float* __restrict__ db,
                                          const uint32_t* rowIds, const float* rowTerm, const float* qTerm,
                                          int metric, float* qs, float* xs, Visit visit) {
  using S = TileShape<TQ, TN>;
  float acc[S::RQ][S::RN];
  tileDots<TQ, TN>(queries, nq, d, db, rowIds, qs, xs, acc);
  const int tq = threadIdx.x / S::TNT;
  const int tn = threadIdx.x % S::TNT;
#pragma unroll
  for (int i = 0; i < S::RQ; ++i) {
    const int lq = tq + i * S::TQT;
#pragma unroll
    for (int j = 0; j < S::RN; ++j) {
      const int lr = tn + j * S::TNT;
      if (lq < nq && rowIds[lr] != kNoRow) {
        visit(lq, lr, scoreOf(metric, acc[i][j], qTerm[lq], rowTerm[lr]));
      }
    }
  }
}

/// Arguments of the plain distance kernel (scores written to device memory).
struct DistanceArgs {
  const float* queries;   // [nQueries][d]
  const float* qTerm;     // [nQueries]
  int nQueries;
  int d;
  const float* db;        // [n][d]
  const float* dbTerm;    // [n]
  uint32_t firstRow;      // rows [firstRow, firstRow + nRows)
  uint32_t nRows;
  int metric;
  float* out;             // [nQueries][ld] on the device: (q, firstRow + j) at q * ld + j
  size_t ld;              // row stride of out, >= nRows
};

/// Distance kernel: block (x, y) writes the scores of queries [y*TQ, y*TQ + TQ) against rows
/// [firstRow + x*TN, firstRow + x*TN + TN).
template <int TQ, int TN>
__global__ void __launch_bounds__(kThreads) distanceKernel(DistanceArgs a) {
  using S = TileShape<TQ, TN>;
  __shared__ uint32_t rowIds[TN];
  __shared__ float rowTerm[TN];
  __shared__ float qTerm[TQ];
  __shared__ float tiles[S::kTileFloats];
  float* qs = tiles;
  float* xs = tiles + kTileD * S::QS;

  const int qBase = blockIdx.y * TQ;
  const int nq = min(TQ, a.nQueries - qBase);
  const uint32_t tile = blockIdx.x * TN;
  loadQueryTerms<TQ>(a.qTerm, qBase, nq, qTerm);
  for (int r = threadIdx.x; r < TN; r += kThreads) {
    const uint32_t pos = tile + r;
    rowIds[r] = pos < a.nRows ? a.firstRow + pos : kNoRow;
    rowTerm[r] = pos < a.nRows ? a.dbTerm[a.firstRow + pos] : 0.0f;
  }
  __syncthreads();
  scoreTile<TQ, TN>(a.queries + static_cast<size_t>(qBase) * a.d, nq, a.d, a.db, rowIds, rowTerm, qTerm, a.metric, qs, xs,
                    [&](int lq, int lr, float score) {
                      a.out[static_cast<size_t>(qBase + lq) * a.ld + tile + lr] = score;
                    });
}

/// Arguments of the range kernel: scores filtered on the device, hits appended through a counter.
struct RangeArgs {
  const float* queries;       // [nQueries][d]
  const float* qTerm;         // [nQueries]
  int nQueries;
  int d;
  const float* db;            // [n][d]
  const float* dbTerm;        // [n]
  const uint32_t* subset;     // candidate positions -> rows, or null
  uint32_t nCand;
  int metric;
  float radius;
  unsigned long long* counter;  // hits so far (may pass capacity: the host then retries or fails)
  unsigned long long capacity;
  int* hitQuery;              // [capacity]
  uint32_t* hitRow;
  float* hitScore;
};

/// Range kernel: block (x, y) scores queries [y*TQ, y*TQ + TQ) against candidates [x*TN, x*TN + TN) and
/// appends every (query, row, score) within the radius. Hits come in no particular order; the host
/// groups and sorts them.
template <int TQ, int TN>
__global__ void __launch_bounds__(kThreads) rangeKernel(RangeArgs a) {
  using S = TileShape<TQ, TN>;
  __shared__ uint32_t rowIds[TN];
  __shared__ float rowTerm[TN];
  __shared__ float qTerm[TQ];
  __shared__ float tiles[S::kTileFloats];
  float* qs = tiles;
  float* xs = tiles + kTileD * S::QS;

  const int qBase = blockIdx.y * TQ;
  const int nq = min(TQ, a.nQueries - qBase);
  const uint32_t tile = blockIdx.x * TN;
  loadQueryTerms<TQ>(a.qTerm, qBase, nq, qTerm);
  loadRowIds<TN>(tile, a.nCand, a.subset, a.dbTerm, rowIds, rowTerm);
  __syncthreads();
  const bool higher = a.metric != kL2;
  scoreTile<TQ, TN>(a.queries + static_cast<size_t>(qBase) * a.d, nq, a.d, a.db, rowIds, rowTerm, qTerm, a.metric, qs, xs,
                    [&](int lq, int lr, float s) {
                      if (higher ? s >= a.radius : s <= a.radius) {
                        const unsigned long long slot = atomicAdd(a.counter, 1ULL);
                        if (slot < a.capacity) {
                          a.hitQuery[slot] = qBase + lq;
                          a.hitRow[slot] = rowIds[lr];
                          a.hitScore[slot] = s;
                        }
                      }
                    });
}

}  // namespace latent
