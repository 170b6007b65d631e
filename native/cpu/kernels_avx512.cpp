// AVX-512F kernels (compiled with -mavx512f -mfma only in this file).
//
// Many queries (dot_packed): every dot product is one sequential FMA chain, s = fma(q[t], x[t], s)
// for t = 0 .. d-1 from s = 0, kept in one vector lane. Database rows are packed 16 to a panel,
// panel[t * 16 + lane], so one load holds element t of 16 rows; the micro-kernel keeps 12 queries
// x 32 rows in 24 zmm accumulators and, per t, loads two panel vectors and broadcasts 12 query
// elements: 24 FMAs for 14 loads and no horizontal reductions (the GEMM outer-product scheme of
// BLIS and GotoBLAS). sqnorm runs the same chain in scalar FMAs, so dot(x, x) equals sqnorm(x)
// bit for bit and a vector's L2 distance to itself is exactly 0 on this path.
//
// A few queries (dot_tile): packing would cost more than the products it serves (a single query
// is bound by memory, and a packed kernel would spend 16 times the FMAs of a row-major one), so
// the rows are read in place by the row-major micro-kernel below: 3 queries x 8 rows in 24 zmm
// accumulators of 16 partial sums each, folded by a fixed tree. Its summation order differs from
// the packed one: scores of the two paths agree to rounding (about 1e-7 relative), not bit for
// bit. The engine picks the path per call, so within one call every row is scored one way and
// duplicate rows tie exactly.
#include <immintrin.h>

#include "kernels.h"

namespace latent_cpu {
namespace {

#include "vec_avx512.h"

#include "packed_kernel.h"

#include "rowmajor_kernel.h"

const Kernels kTable = {"avx512", V::kLanes, row_dot_tile<V>, packed_pack<V>, packed_dot<V>, packed_sqnorm};

}  // namespace

const Kernels *kernels_avx512() { return &kTable; }

}  // namespace latent_cpu
