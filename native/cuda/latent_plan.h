// Work split of one top-k batch (host code, shared by latent_cuda.cu and the host simulator).
#pragma once

#include <algorithm>

namespace latent {

/// How a batch of queries is split over thread blocks.
struct TopkPlan {
  /// Blocks along y: ceil(queries / queries per block).
  long long queryTiles;
  /// Blocks along x of the fused kernel, each scanning `chunkRows` candidates (the last fewer).
  long long chunks;
  long long chunkRows;
  /// Lists of k merged by one block of a merge pass; passes repeat until one list per query remains.
  long long fanIn;
};

/// Candidates one merge block reads: fan-in = max(8, kMergeCandidates / k) lists.
constexpr long long kMergeCandidates = 16384;

/// Splits `queries` × `candidates` so that about two waves of blocks (multiprocessors ×
/// blocksPerSm × 2) are busy: few query tiles get many chunks along the candidates. A chunk holds
/// at least 4 tiles and 4k candidates (fewer chunks mean less merging), rounded up to whole tiles.
inline TopkPlan planTopk(long long queries, long long candidates, int k, int queriesPerBlock, int rowsPerTile,
                         int multiprocessors, int blocksPerSm) {
  TopkPlan p{};
  p.queryTiles = (queries + queriesPerBlock - 1) / queriesPerBlock;
  const long long target = 2LL * std::max(multiprocessors, 1) * std::max(blocksPerSm, 1);
  long long chunks = p.queryTiles >= target ? 1 : (target + p.queryTiles - 1) / p.queryTiles;
  const long long minChunk = std::max<long long>(4LL * rowsPerTile, 4LL * k);
  long long rows = std::max((candidates + chunks - 1) / chunks, minChunk);
  rows = (rows + rowsPerTile - 1) / rowsPerTile * rowsPerTile;
  p.chunkRows = rows;
  p.chunks = (candidates + rows - 1) / rows;
  p.fanIn = std::max<long long>(8, kMergeCandidates / k);
  return p;
}

}  // namespace latent
