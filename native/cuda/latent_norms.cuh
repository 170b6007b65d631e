// Norm terms of rows (database at creation, each query batch): one warp per row.
#pragma once

#include "latent_kernels.cuh"

namespace latent {

/// Norm terms of `n` rows of dimension d, one warp per row: 1/|x| (cosine), |x|² (L2 and inner
/// product). The lowest row that is not finite, or zero under cosine, is folded into *badRow
/// (when given) with atomicMin.
__global__ void __launch_bounds__(kThreads) normTermsKernel(const float* __restrict__ rows, long long n, int d,
                                                            int metric, float* __restrict__ terms,
                                                            unsigned long long* badRow) {
  const int lane = threadIdx.x % kWarpSize;
  const long long warpsInGrid = static_cast<long long>(gridDim.x) * kWarps;
  for (long long r = static_cast<long long>(blockIdx.x) * kWarps + threadIdx.x / kWarpSize; r < n;
       r += warpsInGrid) {
    const float* x = rows + static_cast<size_t>(r) * d;
    float s = 0.0f;
    for (int c = lane; c < d; c += kWarpSize) {
      s = fmaf(x[c], x[c], s);
    }
#pragma unroll
    for (int off = kWarpSize / 2; off > 0; off >>= 1) {
      s += __shfl_xor_sync(0xFFFFFFFFu, s, off);
    }
    if (lane == 0) {
      // Not finite (NaN, ±inf, or a squared norm overflowing float32), or zero under cosine.
      const bool bad = !(s <= 3.402823466e38f) || (metric == kCosine && s == 0.0f);
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
