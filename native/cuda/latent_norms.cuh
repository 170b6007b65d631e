// Norm terms of rows (database at creation, each query batch): one warp per row.
#pragma once

#include "latent_kernels.cuh"

namespace latent {

/// Norm terms of `n` rows of dimension d, one warp per row: 1/|x| (cosine), |x|² (L2 and inner
/// product). The lowest row that breaks the vector rule (latent_metric.h: a component not finite, a
/// float64 squared norm above FLT_MAX or, under cosine, below FLT_MIN) is folded into *badRow (when
/// given) with atomicMin. The float32 sum is the term the kernels use; the float64 sum is only the check.
__global__ void __launch_bounds__(kThreads) normTermsKernel(const float* __restrict__ rows, long long n, int d,
                                                            int metric, float* __restrict__ terms,
                                                            unsigned long long* badRow) {
  const int lane = threadIdx.x % kWarpSize;
  const long long warpsInGrid = static_cast<long long>(gridDim.x) * kWarps;
  for (long long r = static_cast<long long>(blockIdx.x) * kWarps + threadIdx.x / kWarpSize; r < n;
       r += warpsInGrid) {
    const float* x = rows + static_cast<size_t>(r) * d;
    float s = 0.0f;
    double sd = 0.0;
    for (int c = lane; c < d; c += kWarpSize) {
      s = fmaf(x[c], x[c], s);
      sd += static_cast<double>(x[c]) * x[c];
    }
#pragma unroll
    for (int off = kWarpSize / 2; off > 0; off >>= 1) {
      s += __shfl_xor_sync(0xFFFFFFFFu, s, off);
      sd += __shfl_xor_sync(0xFFFFFFFFu, sd, off);
    }
    if (lane == 0) {
      // A NaN or infinite component makes sd NaN or infinite, which fails the first test.
      const bool bad = !(sd <= LATENT_MAX_SQUARED_NORM) || (metric == kCosine && sd < LATENT_MIN_COSINE_SQUARED_NORM);
      if (bad && badRow != nullptr) {
        atomicMin(badRow, static_cast<unsigned long long>(r));
      }
      if (metric == kCosine) {
        terms[r] = s > 0.0f ? 1.0f / sqrtf(s) : 0.0f;
      } else {
        terms[r] = s;
      }
    }
  }
}

}  // namespace latent
