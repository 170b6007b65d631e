// Top-k bucket k <= 128: buffer of 128 candidates per query, 16 queries per block, 64 rows per tile.
#include "latent_topk.cuh"

namespace latent {
LATENT_TOPK_BUCKET(128, 128, 16, 64)
}  // namespace latent
