// Pooling of token embeddings into query rows on the device: the step between an encoder whose output
// stays in device memory (ONNX Runtime IoBinding) and the top-k kernels, so that vectors never cross to
// the host. Bit for bit the host encoder's pooling (TextEncoder.pool): a float sum over the kept tokens
// in token order times 1 / count, then, when normalising, a double sum of squares in column order.
#pragma once

#include <cstdint>

#include "latent_cuda.h"

namespace latent {

/// Arguments of poolKernel.
struct PoolArgs {
  const float* tokens;   // [nQueries][t][h], device memory
  const uint8_t* mask;   // [nQueries][t], 1 = a kept token (mean pooling), device memory
  int nQueries;
  int t;
  int h;
  int pooling;           // LATENT_POOL_MEAN or LATENT_POOL_FIRST
  int normalize;         // L2-normalise the pooled row
  float* out;            // [nQueries][h]
};

/// One block per query; threads stride over the columns.
__global__ void __launch_bounds__(128) poolKernel(PoolArgs a) {
  __shared__ float inv;
  const int q = static_cast<int>(blockIdx.x);
  const float* base = a.tokens + static_cast<size_t>(q) * a.t * a.h;
  const uint8_t* mask = a.mask + static_cast<size_t>(q) * a.t;
  float* row = a.out + static_cast<size_t>(q) * a.h;
  for (int c = static_cast<int>(threadIdx.x); c < a.h; c += static_cast<int>(blockDim.x)) {
    if (a.pooling == LATENT_POOL_FIRST) {
      row[c] = base[c];
    } else {
      float sum = 0.0f;
      float count = 0.0f;
      for (int k = 0; k < a.t; ++k) {
        if (mask[k] != 0) {
          count += 1.0f;
          sum = __fadd_rn(sum, base[static_cast<size_t>(k) * a.h + c]);
        }
      }
      row[c] = __fmul_rn(sum, 1.0f / fmaxf(count, 1e-9f));
    }
  }
  if (a.normalize == 0) {
    return;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    double ss = 0.0;
    for (int c = 0; c < a.h; ++c) {
      ss = __dadd_rn(ss, static_cast<double>(row[c]) * row[c]);
    }
    inv = static_cast<float>(1.0 / fmax(sqrt(ss), 1e-12));
  }
  __syncthreads();
  for (int c = static_cast<int>(threadIdx.x); c < a.h; c += static_cast<int>(blockDim.x)) {
    row[c] = __fmul_rn(row[c], inv);
  }
}

}  // namespace latent
