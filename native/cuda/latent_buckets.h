// The k buckets of the top-k kernels, declared once. Each entry X(K, B, TQ, TN) is one instantiation:
// lists of K entries (serving every k <= K), a candidate buffer of B, TQ queries per block and TN
// candidate rows per tile. build.sh compiles topk_bucket.cu once per K (read from this list, so a new
// bucket is one line here); bucketFor() and the simulator walk the same list.
#pragma once

#define LATENT_TOPK_BUCKETS(X) \
  X(32, 64, 32, 64)            \
  X(128, 128, 16, 64)          \
  X(512, 256, 8, 128)          \
  X(2048, 512, 4, 128)

namespace latent {

/// Parameters of bucket K (specialised for each entry of the list).
template <int K>
struct BucketParams;

#define LATENT_BUCKET_PARAMS(K_, B_, TQ_, TN_) \
  template <>                                  \
  struct BucketParams<K_> {                    \
    static constexpr int B = B_;               \
    static constexpr int TQ = TQ_;             \
    static constexpr int TN = TN_;             \
  };
LATENT_TOPK_BUCKETS(LATENT_BUCKET_PARAMS)
#undef LATENT_BUCKET_PARAMS

}  // namespace latent
