// Top-k bucket k <= 32: buffer of 64 candidates per query, 32 queries per block, 64 rows per tile.
#include "latent_topk.cuh"

namespace latent {
LATENT_TOPK_BUCKET(32, 64, 32, 64)
}  // namespace latent
