// Host launchers of the top-k kernels, one instantiation per k bucket (topk_k*.cu).
#pragma once

#include <cstddef>

#include "latent_buckets.h"
#include "latent_check.h"
#include "latent_kernels.cuh"
#include "latent_sq8.cuh"

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
  /// The few-query kernel: queries per block, dynamic shared memory for dimension d, resident
  /// blocks per multiprocessor for dimension d, and its launch (grid x: chunks, y: query tiles of
  /// fewQueries).
  int fewQueries;
  size_t (*fewSmem)(int d);
  cudaError_t (*fewBlocksPerSm)(int d, int* blocks);
  cudaError_t (*launchFew)(const ChunkArgs& args, dim3 grid, cudaStream_t stream);
  /// The 8-bit code scans (latent_sq8.cuh): the tile kernel (TQ queries per block, grid x: chunks, y: query
  /// tiles) and the stream kernel (one query per block, grid y: queries), with their shared memory and
  /// resident blocks per multiprocessor (the stream kernel's for `words` words a row).
  size_t sq8TileSmem;
  cudaError_t (*sq8TileBlocksPerSm)(int* blocks);
  cudaError_t (*launchSq8Tile)(const Sq8Args& args, dim3 grid, cudaStream_t stream);
  size_t (*sq8StreamSmem)(int words);
  cudaError_t (*sq8StreamBlocksPerSm)(int words, int* blocks);
  cudaError_t (*launchSq8Stream)(const Sq8Args& args, dim3 grid, cudaStream_t stream);
};

/// Resident blocks per multiprocessor of `kernel` with `smem` bytes of dynamic shared memory (opted into
/// first: above 48 KiB it must be, per kernel and device).
template <typename Kernel>
cudaError_t blocksPerSm(Kernel* kernel, size_t smem, int* blocks) {
  LATENT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  LATENT_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks, kernel, kThreads, smem));
  return cudaSuccess;
}

/// Launches `kernel` with `smem` bytes of dynamic shared memory on `stream` and checks the launch.
template <typename Kernel, typename Args>
cudaError_t launchWithSmem(Kernel* kernel, size_t smem, dim3 grid, cudaStream_t stream, const Args& args) {
  LATENT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  LATENT_LAUNCH(kernel, grid, kThreads, smem, stream, args);
  LATENT_CUDA_LAUNCH_CHECK(stream);
  return cudaSuccess;
}

template <int K, int B, int TQ, int TN>
cudaError_t chunkBlocksPerSm(int* blocks) {
  return blocksPerSm(&topkChunkKernel<K, B, TQ, TN>, chunkKernelSmem<K, B, TQ, TN>(), blocks);
}

template <int K, int B, int TQ, int TN>
cudaError_t launchChunk(const ChunkArgs& args, dim3 grid, cudaStream_t stream) {
  return launchWithSmem(&topkChunkKernel<K, B, TQ, TN>, chunkKernelSmem<K, B, TQ, TN>(), grid, stream, args);
}

template <int K, int B, int TQ, int TN>
cudaError_t launchMerge(const MergeArgs& args, dim3 grid, cudaStream_t stream) {
  return launchWithSmem(&topkMergeKernel<K, B, TQ, TN>, mergeKernelSmem<K, B, TQ, TN>(), grid, stream, args);
}

template <int K, int B, int TQ, int TN>
size_t fewSmem(int d) {
  return fewKernelSmem<K, B, TQ, TN>(d);
}

template <int K, int B, int TQ, int TN>
cudaError_t fewBlocksPerSm(int d, int* blocks) {
  return blocksPerSm(&topkFewKernel<K, B, TQ, TN>, fewKernelSmem<K, B, TQ, TN>(d), blocks);
}

template <int K, int B, int TQ, int TN>
cudaError_t launchFew(const ChunkArgs& args, dim3 grid, cudaStream_t stream) {
  return launchWithSmem(&topkFewKernel<K, B, TQ, TN>, fewKernelSmem<K, B, TQ, TN>(args.d), grid, stream, args);
}

template <int K, int B, int TQ, int TN>
cudaError_t sq8TileBlocksPerSm(int* blocks) {
  return blocksPerSm(&sq8TileKernel<K, B, TQ, TN>, sq8TileSmem<K, B, TQ, TN>(), blocks);
}

template <int K, int B, int TQ, int TN>
cudaError_t launchSq8Tile(const Sq8Args& args, dim3 grid, cudaStream_t stream) {
  return launchWithSmem(&sq8TileKernel<K, B, TQ, TN>, sq8TileSmem<K, B, TQ, TN>(), grid, stream, args);
}

template <int K, int B, int TQ, int TN>
size_t sq8StreamSmemOf(int words) {
  return sq8StreamSmem<K, B, TQ, TN>(words);
}

template <int K, int B, int TQ, int TN>
cudaError_t sq8StreamBlocksPerSm(int words, int* blocks) {
  return blocksPerSm(&sq8StreamKernel<K, B, TQ, TN>, sq8StreamSmem<K, B, TQ, TN>(words), blocks);
}

template <int K, int B, int TQ, int TN>
cudaError_t launchSq8Stream(const Sq8Args& args, dim3 grid, cudaStream_t stream) {
  return launchWithSmem(&sq8StreamKernel<K, B, TQ, TN>, sq8StreamSmem<K, B, TQ, TN>(args.words), grid, stream, args);
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
                    &launchMerge<K, B, TQ, TN>,
                    FewShape<TQ>::FQ,
                    &fewSmem<K, B, TQ, TN>,
                    &fewBlocksPerSm<K, B, TQ, TN>,
                    &launchFew<K, B, TQ, TN>,
                    sq8TileSmem<K, B, TQ, TN>(),
                    &sq8TileBlocksPerSm<K, B, TQ, TN>,
                    &launchSq8Tile<K, B, TQ, TN>,
                    &sq8StreamSmemOf<K, B, TQ, TN>,
                    &sq8StreamBlocksPerSm<K, B, TQ, TN>,
                    &launchSq8Stream<K, B, TQ, TN>};
}

/// Bucket K (defined in topk_bucket.cu, compiled once per entry of latent_buckets.h, so nvcc builds
/// the buckets in parallel). Every specialisation is declared here, before any use.
template <int K>
const TopkBucket& topkBucket();
#define LATENT_DECLARE_BUCKET(K_, B_, TQ_, TN_) \
  template <>                                   \
  const TopkBucket& topkBucket<K_>();
LATENT_TOPK_BUCKETS(LATENT_DECLARE_BUCKET)
#undef LATENT_DECLARE_BUCKET

/// Batches of at most this many queries take the few-query kernel (each query tile of it reads the
/// database once, where the tiled kernel computes all of its query slots whatever the batch holds).
constexpr long long kFewQueriesMax = 16;
/// Shared memory the few-query kernel may take (it holds the queries): 96 KiB fits every target
/// (sm_80 and sm_90 allow more); a larger dimension falls back to the tiled kernel.
constexpr size_t kFewSmemMax = 96 * 1024;

/// Tile of the plain distance kernel (and of the range kernel).
constexpr int kDistanceTQ = 32;
constexpr int kDistanceTN = 64;

}  // namespace latent
