// Device code of the clustering and projection steps: per-label sums (k-means update) and the Gram or
// scatter matrix (PCA). Both accumulate in a fixed order, so results do not depend on scheduling.
#pragma once

#include "latent_kernels.cuh"

namespace latent {

/// Dimensions summed by one block of the accumulate kernel (one thread each).
constexpr int kAccumulateDims = kThreads;

/// Block (x, y) sums dimensions [y*256, y*256 + 256) of the points of label x: the rows
/// order[starts[y]] .. order[starts[y + 1] - 1] (ascending), one thread per dimension, in float64 and
/// in row order. Coalesced: consecutive threads read consecutive floats of a row.
__global__ void __launch_bounds__(kThreads) accumulateKernel(const float* __restrict__ points, int d,
                                                             const uint32_t* __restrict__ order,
                                                             const uint32_t* __restrict__ starts,
                                                             double* __restrict__ sums) {
  const int c = blockIdx.y * kAccumulateDims + threadIdx.x;
  const int label = blockIdx.x;
  if (c >= d) {
    return;
  }
  double s = 0.0;
  for (uint32_t i = starts[label]; i < starts[label + 1]; ++i) {
    s += points[static_cast<size_t>(order[i]) * d + c];
  }
  sums[static_cast<size_t>(label) * d + c] = s;
}

/// Output tile of the Gram kernel (kGramTile x kGramTile) and rows summed in float32 before each
/// float64 addition.
constexpr int kGramTile = 32;
constexpr int kGramChunk = 1024;

/// Block (x, y) computes out[i][j] for i in [y*32, y*32 + 32), j in [x*32, x*32 + 32): the sum over
/// all rows of (x_i − mean_i)(x_j − mean_j) (mean null: no centring). Rows are staged 32 at a time in
/// shared memory; each thread owns 4 outputs, sums kGramChunk rows in float32 and adds the chunk to
/// float64 accumulators, in row order.
__global__ void __launch_bounds__(kThreads) gramKernel(const float* __restrict__ points, long long n, int d,
                                                       const double* __restrict__ mean, double* __restrict__ out) {
  __shared__ float as[kGramTile][kGramTile + 1];  // [row][column of the i block]
  __shared__ float bs[kGramTile][kGramTile + 1];  // [row][column of the j block]
  const int i0 = blockIdx.y * kGramTile;
  const int j0 = blockIdx.x * kGramTile;
  const int tx = threadIdx.x % kGramTile;  // output column j0 + tx
  const int ty = threadIdx.x / kGramTile;  // output rows i0 + ty + 8m, m = 0..3
  constexpr int kRowsPerThread = kGramTile * kGramTile / kThreads;
  double total[kRowsPerThread];
  float part[kRowsPerThread];
#pragma unroll
  for (int m = 0; m < kRowsPerThread; ++m) {
    total[m] = 0.0;
    part[m] = 0.0f;
  }
  int inChunk = 0;
  for (long long r0 = 0; r0 < n; r0 += kGramTile) {
    for (int e = threadIdx.x; e < kGramTile * kGramTile; e += kThreads) {
      const int r = e / kGramTile;
      const int c = e % kGramTile;
      const long long row = r0 + r;
      float a = 0.0f;
      float b = 0.0f;
      if (row < n) {
        if (i0 + c < d) {
          const float v = points[static_cast<size_t>(row) * d + i0 + c];
          a = mean != nullptr ? static_cast<float>(v - mean[i0 + c]) : v;
        }
        if (j0 + c < d) {
          const float v = points[static_cast<size_t>(row) * d + j0 + c];
          b = mean != nullptr ? static_cast<float>(v - mean[j0 + c]) : v;
        }
      }
      as[r][c] = a;
      bs[r][c] = b;
    }
    __syncthreads();
#pragma unroll 4
    for (int r = 0; r < kGramTile; ++r) {
      const float b = bs[r][tx];
#pragma unroll
      for (int m = 0; m < kRowsPerThread; ++m) {
        part[m] = fmaf(as[r][ty + m * (kThreads / kGramTile)], b, part[m]);
      }
    }
    __syncthreads();
    inChunk += kGramTile;
    if (inChunk >= kGramChunk) {
#pragma unroll
      for (int m = 0; m < kRowsPerThread; ++m) {
        total[m] += part[m];
        part[m] = 0.0f;
      }
      inChunk = 0;
    }
  }
  const int j = j0 + tx;
#pragma unroll
  for (int m = 0; m < kRowsPerThread; ++m) {
    const int i = i0 + ty + m * (kThreads / kGramTile);
    if (i < d && j < d) {
      out[static_cast<size_t>(i) * d + j] = total[m] + part[m];
    }
  }
}

}  // namespace latent
