// Top-k bucket k <= 2048: buffer of 512 candidates per query, 4 queries per block, 128 rows per tile.
#include "latent_topk.cuh"

namespace latent {
LATENT_TOPK_BUCKET(2048, 512, 4, 128)
}  // namespace latent
