// Host launchers of the top-k kernels, one instantiation per k bucket (topk_k*.cu).
#pragma once

#include <cstddef>

#include "latent_check.h"
#include "latent_kernels.cuh"

namespace latent {

/// One k bucket: kernels compiled for lists of K entries, serving every k <= K.
struct TopkBucket {
  /// List capacity: serves 1 <= k <= K.
  int K;
  /// Queries per block (grid y counts query tiles).
  int queriesPerBlock;
  /// Candidates per tile; chunk lengths are multiples of it.
  int rowsPerTile;
  /// Dynamic shared memory of the fused kernel and of the merge kernel, bytes.
  size_t chunkSmem;
  size_t mergeSmem;
  /// Resident fused-kernel blocks per multiprocessor on the current device.
  cudaError_t (*chunkBlocksPerSm)(int* blocks);
  /// Launches on `stream` and checks the launch.
  cudaError_t (*launchChunk)(const ChunkArgs& args, dim3 grid, cudaStream_t stream);
  cudaError_t (*launchMerge)(const MergeArgs& args, dim3 grid, cudaStream_t stream);
};

template <int K, int B, int TQ, int TN>
cudaError_t chunkBlocksPerSm(int* blocks) {
  constexpr size_t smem = chunkKernelSmem<K, B, TQ, TN>();
  LATENT_CUDA_CHECK(cudaFuncSetAttribute(topkChunkKernel<K, B, TQ, TN>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  LATENT_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks, topkChunkKernel<K, B, TQ, TN>,
                                                                  kThreads, smem));
  return cudaSuccess;
}

template <int K, int B, int TQ, int TN>
cudaError_t launchChunk(const ChunkArgs& args, dim3 grid, cudaStream_t stream) {
  constexpr size_t smem = chunkKernelSmem<K, B, TQ, TN>();
  // Above 48 KiB dynamic shared memory must be opted into, per kernel and device.
  LATENT_CUDA_CHECK(cudaFuncSetAttribute(topkChunkKernel<K, B, TQ, TN>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  auto* const kernel = &topkChunkKernel<K, B, TQ, TN>;
  LATENT_LAUNCH(kernel, grid, kThreads, smem, stream, args);
  LATENT_CUDA_LAUNCH_CHECK(stream);
  return cudaSuccess;
}

template <int K, int B, int TQ, int TN>
cudaError_t launchMerge(const MergeArgs& args, dim3 grid, cudaStream_t stream) {
  constexpr size_t smem = mergeKernelSmem<K, B, TQ, TN>();
  LATENT_CUDA_CHECK(cudaFuncSetAttribute(topkMergeKernel<K, B, TQ, TN>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  auto* const kernel = &topkMergeKernel<K, B, TQ, TN>;
  LATENT_LAUNCH(kernel, grid, kThreads, smem, stream, args);
  LATENT_CUDA_LAUNCH_CHECK(stream);
  return cudaSuccess;
}

template <int K, int B, int TQ, int TN>
TopkBucket makeBucket() {
  return TopkBucket{K,
                    TQ,
                    TN,
                    chunkKernelSmem<K, B, TQ, TN>(),
                    mergeKernelSmem<K, B, TQ, TN>(),
                    &chunkBlocksPerSm<K, B, TQ, TN>,
                    &launchChunk<K, B, TQ, TN>,
                    &launchMerge<K, B, TQ, TN>};
}

/// The buckets (defined in topk_k32.cu ... topk_k2048.cu so nvcc compiles them separately).
const TopkBucket& topkBucket32();
const TopkBucket& topkBucket128();
const TopkBucket& topkBucket512();
const TopkBucket& topkBucket2048();

/// Defines bucket K with buffer B, TQ queries per block and TN candidates per tile.
#define LATENT_TOPK_BUCKET(K_, B_, TQ_, TN_)                              \
  const TopkBucket& topkBucket##K_() {                                    \
    static const TopkBucket bucket = makeBucket<K_, B_, TQ_, TN_>();      \
    return bucket;                                                        \
  }

/// Tile of the plain distance kernel.
constexpr int kDistanceTQ = 32;
constexpr int kDistanceTN = 64;

/// Launches distanceKernel (defined in latent_cuda.cu) and checks the launch.
cudaError_t launchDistances(const DistanceArgs& args, cudaStream_t stream);

/// Launches normTermsKernel over `n` rows and checks the launch.
cudaError_t launchNormTerms(const float* rows, long long n, int d, int metric, float* terms,
                            unsigned long long* badRow, int multiprocessors, cudaStream_t stream);

}  // namespace latent
