// Device code of the 8-bit code scans (sq8): approximate top-k over rows held as unsigned 8-bit codes, with
// queries quantised to signed 8-bit codes, scored by exactly the integer rule of the Java reference
// (dev.latent.compute.Sq8):
//
//   S   = Σ_t c[t] * code[t]                    int32, exact (|S| <= 65536 * 255 * 128 < 2^31)
//   dot = (float) S * b + o                     two IEEE operations, round to nearest, no fused multiply-add
//   score = dot                                 inner product, cosine (the query was normalised before quantising)
//   score = max(0, (|q|² + |x̂|²) - 2 * dot)     squared L2 (written as the reference's v > 0 ? v : 0)
//
// Rows and queries are 4-byte groups ("words", 4 codes each, zero past the dimension). The integer dot product of
// a code word (4 x u8) and a query word (4 x s8) is one dp4a.u32.s32; integer sums are exact in any order, so
// every kernel shape, tile and reduction gives the same S for a (query, row) pair. The float steps use the _rn
// intrinsics, so nvcc cannot contract them into an FMA. From the score on, keys, the selection state, the
// per-chunk lists and the merge are those of the float kernels (latent_kernels.cuh): best first, ties to the
// lower row.
//
// Two scan kernels, both writing per-chunk lists of k (key, row) pairs per query for topkMergeKernel:
//   sq8TileKernel    TQ queries per block over a chunk of all rows: code and query tiles of kTileD words in
//                    shared memory (the float kernel's tile shape), RQ x RN int32 sums per thread;
//   sq8StreamKernel  one query per block over a chunk of its own candidate list (or of all rows): the query's
//                    words in shared memory, 8 lanes per row streaming its words from device memory, summed
//                    by three shuffles. It serves per-query candidate lists and batches of a few queries.
#pragma once

#include "latent_kernels.cuh"

namespace latent {

/// Largest dimension of 8-bit codes (the Java side's HostCodes.MAX_DIMENSION): int32 sums stay exact.
constexpr int kSq8MaxDimension = 65536;
/// Floats of per-query terms: step b, offset o, |q|² (the last read by squared L2 only).
constexpr int kSq8QueryTerms = 3;
/// Lanes of a warp that share one row in sq8StreamKernel (each reads every 8th word).
constexpr int kSq8RowLanes = 8;
/// The scan kernels' launch bound: four resident blocks a multiprocessor, i.e. at most 64 registers. Without it
/// ptxas gave the k <= 128 stream kernel 32 registers on sm_80 and spilled (8 bytes; the tile kernel 12).
constexpr int kSq8MinBlocks = 4;

/// acc + the dot product of the four unsigned bytes of `codes` with the four signed bytes of `query` (byte i
/// with byte i): dp4a.u32.s32, exact in int32.
__device__ __forceinline__ int sq8Dot4(uint32_t codes, uint32_t query, int acc) {
#if defined(LATENT_CUDA_HOST_SIM)
  for (int b = 0; b < 4; ++b) {
    acc += static_cast<int>((codes >> (8 * b)) & 0xFFu) * static_cast<int>(static_cast<int8_t>((query >> (8 * b)) & 0xFFu));
  }
  return acc;
#else
  int out;
  asm("dp4a.u32.s32 %0, %1, %2, %3;" : "=r"(out) : "r"(codes), "r"(query), "r"(acc));
  return out;
#endif
}

/// The score of integer sum s for a query with step b, offset o and squared norm qNorm against a row whose
/// decoded squared norm is xNorm (squared L2 only), in the float steps of the Java reference (Sq8.score).
__device__ __forceinline__ float sq8Score(int metric, int s, float b, float o, float qNorm, float xNorm) {
  const float dot = __fadd_rn(__fmul_rn(__int2float_rn(s), b), o);
  if (metric != kL2) {
    return dot;
  }
  const float v = __fadd_rn(__fadd_rn(qNorm, xNorm), -__fmul_rn(2.0f, dot));
  return v > 0.0f ? v : 0.0f;
}

/// Arguments of the sq8 scan kernels.
struct Sq8Args {
  const uint32_t* queries;   // [nQueries][words]: signed 8-bit query codes, 4 a word, zero padded
  const float* qTerms;       // [nQueries][kSq8QueryTerms]
  int nQueries;
  int words;                 // 4-byte groups per row and per query
  const uint32_t* codes;     // [n][words]: unsigned 8-bit row codes, zero padded
  const float* norms;        // [n] decoded squared norms (squared L2), else null
  const long long* offsets;  // sq8StreamKernel: [nQueries + 1] per-query lists in `lists`, or null (all rows)
  const uint32_t* lists;     // rows of the per-query lists, each list strictly ascending
  uint32_t nCand;            // rows scanned when there are no lists (all rows: n)
  uint32_t chunkRows;        // candidates per block along x (a multiple of TN)
  int metric;
  int k;                     // results kept per query and chunk, 1 <= k <= K
  float* outKey;             // [nQueries][gridDim.x][k]
  uint32_t* outRow;          // [nQueries][gridDim.x][k]
};

/// Integer dot products of TQ queries (starting at `queries`, `nq` of them valid) with the TN rows named in
/// `rowIds` (kNoRow for padding) over all `words` words, into acc[i][j] for query tq + i*TQT and row tn + j*TNT:
/// tileDots (latent_kernels.cuh) over words instead of floats. Padded queries, rows and words contribute zeros.
/// Every thread of the block calls it; it ends with a barrier, so the tiles may be reused.
template <int TQ, int TN>
__device__ __forceinline__ void sq8TileDots(const uint32_t* __restrict__ queries, int nq, int words,
                                            const uint32_t* __restrict__ codes, const uint32_t* __restrict__ rowIds,
                                            uint32_t* qs, uint32_t* xs,
                                            int (&acc)[TileShape<TQ, TN>::RQ][TileShape<TQ, TN>::RN]) {
  using S = TileShape<TQ, TN>;
  const int tid = threadIdx.x;
  const int tq = tid / S::TNT;
  const int tn = tid % S::TNT;
#pragma unroll
  for (int i = 0; i < S::RQ; ++i) {
#pragma unroll
    for (int j = 0; j < S::RN; ++j) {
      acc[i][j] = 0;
    }
  }
  for (int w0 = 0; w0 < words; w0 += kTileD) {
    // Transposed tiles ([word][query or row]); the global reads run along the words of a row.
    for (int e = tid; e < TQ * kTileD; e += kThreads) {
      const int q = e / kTileD;
      const int c = e % kTileD;
      uint32_t v = 0;
      if (q < nq && w0 + c < words) {
        v = queries[static_cast<size_t>(q) * words + w0 + c];
      }
      qs[c * S::QS + q] = v;
    }
    for (int e = tid; e < TN * kTileD; e += kThreads) {
      const int r = e / kTileD;
      const int c = e % kTileD;
      const uint32_t row = rowIds[r];
      uint32_t v = 0;
      if (row != kNoRow && w0 + c < words) {
        v = codes[static_cast<size_t>(row) * words + w0 + c];
      }
      xs[c * S::XS + r] = v;
    }
    __syncthreads();
#pragma unroll 8
    for (int c = 0; c < kTileD; ++c) {
      uint32_t a[S::RQ];
      uint32_t b[S::RN];
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
          acc[i][j] = sq8Dot4(b[j], a[i], acc[i][j]);
        }
      }
    }
    __syncthreads();
  }
}

/// Tile kernel: block (x, y) scores queries [y*TQ, y*TQ + TQ) against rows [x*chunkRows, ...) of all rows and
/// writes each query's k best (key, row) pairs of that chunk, best first (empty slots: +inf, kNoRow).
template <int K, int B, int TQ, int TN>
__global__ void __launch_bounds__(kThreads, kSq8MinBlocks) sq8TileKernel(Sq8Args a) {
  using S = TileShape<TQ, TN>;
  using Sel = Selection<K, B, TQ, TN>;
  uint32_t* smem = dynamicSmem();
  Sel sel;
  uint32_t* p = sel.carve(smem);
  uint32_t* rowIds = p;
  p += TN;
  float* rowNorm = reinterpret_cast<float*>(p);
  p += TN;
  float* qTerm = reinterpret_cast<float*>(p);  // [TQ][kSq8QueryTerms]
  p += kSq8QueryTerms * TQ;
  uint32_t* qs = p;
  uint32_t* xs = qs + kTileD * S::QS;

  const int qBase = blockIdx.y * TQ;
  const int nq = min(TQ, a.nQueries - qBase);
  const uint32_t chunkStart = blockIdx.x * a.chunkRows;
  const uint32_t chunkEnd = min(a.nCand, chunkStart + a.chunkRows);

  sel.init();
  for (int e = threadIdx.x; e < kSq8QueryTerms * TQ; e += kThreads) {
    qTerm[e] = e < kSq8QueryTerms * nq ? a.qTerms[static_cast<size_t>(qBase) * kSq8QueryTerms + e] : 0.0f;
  }
  __syncthreads();

  const int tq = threadIdx.x / S::TNT;
  const int tn = threadIdx.x % S::TNT;
  int acc[S::RQ][S::RN];
  for (uint32_t tile = chunkStart; tile < chunkEnd; tile += TN) {
    for (int r = threadIdx.x; r < TN; r += kThreads) {
      const uint32_t pos = tile + r;
      rowIds[r] = pos < chunkEnd ? pos : kNoRow;
      rowNorm[r] = pos < chunkEnd && a.norms != nullptr ? a.norms[pos] : 0.0f;
    }
    __syncthreads();
    sq8TileDots<TQ, TN>(a.queries + static_cast<size_t>(qBase) * a.words, nq, a.words, a.codes, rowIds, qs, xs, acc);
#pragma unroll
    for (int i = 0; i < S::RQ; ++i) {
      const int lq = tq + i * S::TQT;
#pragma unroll
      for (int j = 0; j < S::RN; ++j) {
        const int lr = tn + j * S::TNT;
        const uint32_t row = rowIds[lr];
        if (lq < nq && row != kNoRow) {
          const float* t = qTerm + kSq8QueryTerms * lq;
          const float score = sq8Score(a.metric, acc[i][j], t[0], t[1], t[2], rowNorm[lr]);
          sel.offer(lq, keyOf(a.metric, score), row);
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

/// Shared memory of sq8TileKernel in bytes.
template <int K, int B, int TQ, int TN>
constexpr size_t sq8TileSmem() {
  return Selection<K, B, TQ, TN>::kBytes + static_cast<size_t>(2 * TN + kSq8QueryTerms * TQ) * 4 +
         static_cast<size_t>(TileShape<TQ, TN>::kTileFloats) * 4;
}

/// Stream kernel: block (x, y) scores query y against positions [x*chunkRows, ...) of its candidate list
/// (offsets/lists; without them, of rows 0 .. nCand - 1) and writes its k best (key, row) pairs of that chunk,
/// best first; a chunk past the end of a short list writes empty slots. Each warp takes groups of 4 rows, 8
/// lanes a row, lane l of a row reading words l, l + 8, ... (32 consecutive bytes a row per load).
template <int K, int B, int TQ, int TN>
__global__ void __launch_bounds__(kThreads, kSq8MinBlocks) sq8StreamKernel(Sq8Args a) {
  constexpr int R = kWarpSize / kSq8RowLanes;  // rows per warp group
  constexpr int G = TN / (kWarps * R);         // row groups per warp and tile
  static_assert(G >= 1 && TN % (kWarps * R) == 0, "a tile must split into whole row groups per warp");
  using Sel = Selection<K, B, 1, TN>;
  uint32_t* smem = dynamicSmem();
  Sel sel;
  uint32_t* qv = sel.carve(smem);  // [words]

  const int qi = blockIdx.y;
  const int words = a.words;
  long long begin = 0;
  uint32_t length = a.nCand;
  if (a.offsets != nullptr) {
    begin = a.offsets[qi];
    length = static_cast<uint32_t>(a.offsets[qi + 1] - begin);
  }
  const uint32_t chunkStart = blockIdx.x * a.chunkRows;
  const uint32_t chunkEnd = min(length, chunkStart + a.chunkRows);

  sel.init();
  for (int e = threadIdx.x; e < words; e += kThreads) {
    qv[e] = a.queries[static_cast<size_t>(qi) * words + e];
  }
  const float* t = a.qTerms + static_cast<size_t>(qi) * kSq8QueryTerms;
  const float qb = t[0], qo = t[1], qn = t[2];
  __syncthreads();

  const int warp = threadIdx.x / kWarpSize;
  const int lane = threadIdx.x % kWarpSize;
  const int slot = lane / kSq8RowLanes;
  const int part = lane % kSq8RowLanes;
  for (uint32_t tile = chunkStart; tile < chunkEnd; tile += TN) {
#pragma unroll 1
    for (int g = 0; g < G; ++g) {
      const uint32_t pos = tile + static_cast<uint32_t>((warp * G + g) * R + slot);
      uint32_t row = kNoRow;
      if (pos < chunkEnd) {
        row = a.offsets != nullptr ? a.lists[begin + pos] : pos;
      }
      int s = 0;
      if (row != kNoRow) {
        const uint32_t* x = a.codes + static_cast<size_t>(row) * words;
        for (int w = part; w < words; w += kSq8RowLanes) {
          s = sq8Dot4(x[w], qv[w], s);
        }
      }
      // The row's 8 partial sums, exact in any order: every lane of the 8 ends with the total.
#pragma unroll
      for (int m = 1; m < kSq8RowLanes; m <<= 1) {
        s += __shfl_xor_sync(0xFFFFFFFFu, s, m);
      }
      if (part == 0 && row != kNoRow) {
        const float score = sq8Score(a.metric, s, qb, qo, qn, a.norms != nullptr ? a.norms[row] : 0.0f);
        sel.offer(0, keyOf(a.metric, score), row);
      }
    }
    __syncthreads();
    sel.flush(a.k, false);
    __syncthreads();
  }
  sel.flush(a.k, true);
  writeChunkLists(sel, a, qi, 1);
}

/// Shared memory of sq8StreamKernel in bytes for `words` words a row.
template <int K, int B, int TQ, int TN>
constexpr size_t sq8StreamSmem(int words) {
  return Selection<K, B, 1, TN>::kBytes + static_cast<size_t>(words) * 4;
}

/// Arguments of the sq8 score block (k above the selection's largest bucket: the host selects).
struct Sq8DistanceArgs {
  const uint32_t* queries;  // [nQueries][words]
  const float* qTerms;      // [nQueries][kSq8QueryTerms]
  int nQueries;
  int words;
  const uint32_t* codes;    // [n][words]
  const float* norms;       // [n] (squared L2), else null
  uint32_t firstRow;        // rows [firstRow, firstRow + nRows)
  uint32_t nRows;
  int metric;
  float* out;               // (q, firstRow + j) at q * ld + j
  size_t ld;
};

/// Score block: block (x, y) writes the scores of queries [y*TQ, y*TQ + TQ) against rows
/// [firstRow + x*TN, firstRow + x*TN + TN), the same values the scan kernels rank.
template <int TQ, int TN>
__global__ void __launch_bounds__(kThreads) sq8DistanceKernel(Sq8DistanceArgs a) {
  using S = TileShape<TQ, TN>;
  __shared__ uint32_t rowIds[TN];
  __shared__ float rowNorm[TN];
  __shared__ float qTerm[kSq8QueryTerms * TQ];
  __shared__ uint32_t tiles[S::kTileFloats];
  uint32_t* qs = tiles;
  uint32_t* xs = tiles + kTileD * S::QS;

  const int qBase = blockIdx.y * TQ;
  const int nq = min(TQ, a.nQueries - qBase);
  const uint32_t tile = blockIdx.x * TN;
  for (int e = threadIdx.x; e < kSq8QueryTerms * TQ; e += kThreads) {
    qTerm[e] = e < kSq8QueryTerms * nq ? a.qTerms[static_cast<size_t>(qBase) * kSq8QueryTerms + e] : 0.0f;
  }
  for (int r = threadIdx.x; r < TN; r += kThreads) {
    const uint32_t pos = tile + r;
    rowIds[r] = pos < a.nRows ? a.firstRow + pos : kNoRow;
    rowNorm[r] = pos < a.nRows && a.norms != nullptr ? a.norms[a.firstRow + pos] : 0.0f;
  }
  __syncthreads();
  int acc[S::RQ][S::RN];
  sq8TileDots<TQ, TN>(a.queries + static_cast<size_t>(qBase) * a.words, nq, a.words, a.codes, rowIds, qs, xs, acc);
  const int tq = threadIdx.x / S::TNT;
  const int tn = threadIdx.x % S::TNT;
#pragma unroll
  for (int i = 0; i < S::RQ; ++i) {
    const int lq = tq + i * S::TQT;
#pragma unroll
    for (int j = 0; j < S::RN; ++j) {
      const int lr = tn + j * S::TNT;
      if (lq < nq && rowIds[lr] != kNoRow) {
        const float* t = qTerm + kSq8QueryTerms * lq;
        a.out[static_cast<size_t>(qBase + lq) * a.ld + tile + lr] = sq8Score(a.metric, acc[i][j], t[0], t[1], t[2], rowNorm[lr]);
      }
    }
  }
}

}  // namespace latent
