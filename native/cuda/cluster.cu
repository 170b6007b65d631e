// Clustering and projection steps on resident points: assignment (top-1 against resident targets, the
// points never leave the device), per-label sums and the Gram or scatter matrix, both deterministic.
#include <algorithm>
#include <cstring>
#include <vector>

#include "latent_cluster.cuh"
#include "latent_internal.h"

namespace latent {

cudaError_t assign(Database& points, Database& targets, int* labels, float* scores) {
  LATENT_CUDA_CHECK(cudaSetDevice(targets.device));
  // The points are the queries, already on the device with their norm terms (same metric as targets).
  long long batch = 0;
  LATENT_CUDA_CHECK(
      fitTopkBatch(targets, points.n, std::min(kMaxBatchQueries, points.n), 1, false, targets.n, false, 0, &batch));
  if (batch == 0) {
    return cudaSuccess;
  }
  for (long long p0 = 0; p0 < points.n; p0 += batch) {
    const long long pb = std::min(batch, points.n - p0);
    if (pb < batch) {
      LATENT_CUDA_CHECK(fitTailBatch(targets, pb, 1, false, targets.n));
    }
    LATENT_CUDA_CHECK(topkBatch(targets, points.rows.ptr + static_cast<size_t>(p0) * points.d,
                                points.terms.ptr + p0, pb, 1, nullptr, targets.n));
    for (long long i = 0; i < pb; ++i) {
      labels[p0 + i] = static_cast<int>(targets.hostIds.ptr[i]);
      scores[p0 + i] = targets.hostScores.ptr[i];
    }
  }
  return cudaSuccess;
}

cudaError_t accumulate(Database& points, const int* labels, int k, double* sums, long long* counts) {
  LATENT_CUDA_CHECK(cudaSetDevice(points.device));
  const long long n = points.n;
  // Counting sort of the rows by label on the host (labels are host data anyway): each label's rows
  // in ascending order, so every sum is taken in row order.
  std::vector<uint32_t> starts(static_cast<size_t>(k) + 1, 0);
  for (long long i = 0; i < n; ++i) {
    if (labels[i] >= 0) {
      starts[static_cast<size_t>(labels[i]) + 1]++;
    }
  }
  for (int l = 0; l < k; ++l) {
    counts[l] = starts[static_cast<size_t>(l) + 1];
    starts[static_cast<size_t>(l) + 1] += starts[static_cast<size_t>(l)];
  }
  const uint32_t assigned = starts[static_cast<size_t>(k)];
  std::vector<uint32_t> order(std::max<uint32_t>(assigned, 1));
  std::vector<uint32_t> fill(starts.begin(), starts.end() - 1);
  for (long long i = 0; i < n; ++i) {
    if (labels[i] >= 0) {
      order[fill[static_cast<size_t>(labels[i])]++] = static_cast<uint32_t>(i);
    }
  }
  LATENT_CUDA_CHECK(points.order.reserve(order.size()));
  LATENT_CUDA_CHECK(points.starts.reserve(starts.size()));
  LATENT_CUDA_CHECK(points.sums.reserve(static_cast<size_t>(k) * points.d));
  LATENT_CUDA_CHECK(cudaMemcpyAsync(points.order.ptr, order.data(), order.size() * sizeof(uint32_t),
                                    cudaMemcpyHostToDevice, points.stream));
  LATENT_CUDA_CHECK(cudaMemcpyAsync(points.starts.ptr, starts.data(), starts.size() * sizeof(uint32_t),
                                    cudaMemcpyHostToDevice, points.stream));
  // Labels along x (up to 2^31 - 1 blocks), dimension chunks along y (at most 16 for d <= 4096).
  const dim3 grid(static_cast<unsigned>(k), static_cast<unsigned>(ceilDiv(points.d, kAccumulateDims)));
  LATENT_LAUNCH(accumulateKernel, grid, kThreads, 0, points.stream, points.rows.ptr, points.d, points.order.ptr,
                points.starts.ptr, points.sums.ptr);
  LATENT_CUDA_LAUNCH_CHECK(points.stream);
  LATENT_CUDA_CHECK(cudaMemcpyAsync(sums, points.sums.ptr, static_cast<size_t>(k) * points.d * sizeof(double),
                                    cudaMemcpyDeviceToHost, points.stream));
  LATENT_CUDA_CHECK(cudaStreamSynchronize(points.stream));
  return cudaSuccess;
}

cudaError_t gram(Database& points, const double* mean, double* out) {
  LATENT_CUDA_CHECK(cudaSetDevice(points.device));
  const size_t dd = static_cast<size_t>(points.d) * points.d;
  LATENT_CUDA_CHECK(points.sums.reserve(dd));
  const double* dMean = nullptr;
  if (mean != nullptr) {
    LATENT_CUDA_CHECK(points.mean.reserve(static_cast<size_t>(points.d)));
    LATENT_CUDA_CHECK(cudaMemcpyAsync(points.mean.ptr, mean, points.d * sizeof(double), cudaMemcpyHostToDevice,
                                      points.stream));
    dMean = points.mean.ptr;
  }
  const unsigned tiles = static_cast<unsigned>(ceilDiv(points.d, kGramTile));
  LATENT_LAUNCH(gramKernel, dim3(tiles, tiles), kThreads, 0, points.stream, points.rows.ptr, points.n, points.d,
                dMean, points.sums.ptr);
  LATENT_CUDA_LAUNCH_CHECK(points.stream);
  LATENT_CUDA_CHECK(cudaMemcpyAsync(out, points.sums.ptr, dd * sizeof(double), cudaMemcpyDeviceToHost, points.stream));
  LATENT_CUDA_CHECK(cudaStreamSynchronize(points.stream));
  return cudaSuccess;
}

}  // namespace latent
