// One k bucket of the top-k kernels: compiled once per entry of latent_buckets.h with
// -DLATENT_BUCKET=<K> (see build.sh), so each bucket is its own object and nvcc builds them in parallel.
#include "latent_topk.cuh"

#ifndef LATENT_BUCKET
#error "compile with -DLATENT_BUCKET=<K>, K from latent_buckets.h (build.sh does)"
#endif

namespace latent {

template <>
const TopkBucket& topkBucket<LATENT_BUCKET>() {
  using P = BucketParams<LATENT_BUCKET>;
  static const TopkBucket bucket = makeBucket<LATENT_BUCKET, P::B, P::TQ, P::TN>();
  return bucket;
}

}  // namespace latent
