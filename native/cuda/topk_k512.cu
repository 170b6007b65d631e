// Top-k bucket k <= 512: buffer of 256 candidates per query, 8 queries per block, 128 rows per tile.
#include "latent_topk.cuh"

namespace latent {
LATENT_TOPK_BUCKET(512, 256, 8, 128)
}  // namespace latent
