// AVX2 + FMA kernels (compiled with -mavx2 -mfma only in this file).
//
// Many queries (dot_packed): the packed outer-product scheme of kernels_avx512.cpp at 8 lanes.
// Database rows are packed 8 to a panel, panel[t * 8 + lane]; the micro-kernel keeps 6 queries x
// 16 rows in 12 ymm accumulators and, per t, loads two panel vectors and broadcasts 6 query
// elements (2 + 6 loads for 12 FMAs, 15 of 16 ymm registers). Every dot product is one sequential
// FMA chain over t, and sqnorm is the same chain in scalar FMAs, so dot(x, x) = sqnorm(x).
//
// A few queries (dot_tile, below): 3 queries x 4 database rows, 12 ymm accumulators of 8 partial
// sums folded by a fixed tree, rows read in place. Per 8 floats of d: 7 loads for 12 FMAs. Its
// summation order differs from the packed one (agreement to rounding, not bit for bit); the engine
// picks one path per call, so duplicate rows always tie.
#include <immintrin.h>

#include "kernels.h"

namespace latent_cpu {
namespace {

constexpr int kMq = 3;
constexpr int kNx = 4;

alignas(64) const int32_t kMaskTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/// Lane mask for the last d % 8 floats (rem in 1..7).
inline __m256i tail_mask(int rem) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(kMaskTable + 8 - rem));
}

/// Sums four accumulators into [s0, s1, s2, s3], lane order ((0+1)+(2+3)) + ((4+5)+(6+7)).
inline __m128 reduce4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/// Same lane order as reduce4, for one accumulator.
inline float reduce1(__m256 a) {
    __m256 h = _mm256_hadd_ps(a, a);
    h = _mm256_hadd_ps(h, h);
    return _mm_cvtss_f32(_mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
}

template <int MQ, int NX>
inline void micro(const float *const *q, const float *const *x, int d, float *out, int64_t ldo) {
    __m256 acc[MQ][NX];
#pragma GCC unroll 4
    for (int i = 0; i < MQ; i++) {
#pragma GCC unroll 4
        for (int j = 0; j < NX; j++) acc[i][j] = _mm256_setzero_ps();
    }
    const float *qp[MQ];
    const float *xp[NX];
    for (int i = 0; i < MQ; i++) qp[i] = q[i];
    for (int j = 0; j < NX; j++) xp[j] = x[j];
    int t = 0;
#pragma GCC unroll 2
    for (; t + 8 <= d; t += 8) {
        __m256 qv[MQ];
#pragma GCC unroll 4
        for (int i = 0; i < MQ; i++) qv[i] = _mm256_loadu_ps(qp[i] + t);
#pragma GCC unroll 4
        for (int j = 0; j < NX; j++) {
            __m256 xv = _mm256_loadu_ps(xp[j] + t);
            // Keep the row in a register (one load, MQ FMAs) rather than letting the compiler fold
            // the load into each FMA.
            __asm__("" : "+x"(xv));
#pragma GCC unroll 4
            for (int i = 0; i < MQ; i++) acc[i][j] = _mm256_fmadd_ps(qv[i], xv, acc[i][j]);
        }
    }
    if (t < d) {
        // Masked loads never touch memory past the row end (no fault, no padding needed).
        __m256i m = tail_mask(d - t);
        __m256 qv[MQ];
        for (int i = 0; i < MQ; i++) qv[i] = _mm256_maskload_ps(qp[i] + t, m);
        for (int j = 0; j < NX; j++) {
            __m256 xv = _mm256_maskload_ps(xp[j] + t, m);
            for (int i = 0; i < MQ; i++) acc[i][j] = _mm256_fmadd_ps(qv[i], xv, acc[i][j]);
        }
    }
    for (int i = 0; i < MQ; i++) {
        if (NX == 4) {
            _mm_storeu_ps(out + i * ldo, reduce4(acc[i][0], acc[i][NX > 1 ? 1 : 0],
                                                 acc[i][NX > 2 ? 2 : 0], acc[i][NX > 3 ? 3 : 0]));
        } else {
            for (int j = 0; j < NX; j++) out[i * ldo + j] = reduce1(acc[i][j]);
        }
    }
}

template <int MQ>
inline void micro_rows(const float *const *q, const float *const *x, int nxr, int d, float *out,
                       int64_t ldo) {
    switch (nxr) {
        case 4: micro<MQ, 4>(q, x, d, out, ldo); break;
        case 3: micro<MQ, 3>(q, x, d, out, ldo); break;
        case 2: micro<MQ, 2>(q, x, d, out, ldo); break;
        default: micro<MQ, 1>(q, x, d, out, ldo); break;
    }
}

void dot_tile(const float *const *q, int nq, const float *const *x, int nx, int d, float *out,
              int64_t ldo) {
    // Query triple outer (3 rows of d stay in L1), database rows inner (the block streams from L2).
    for (int j = 0; j < nx; j += kNx) {
        int nxr = nx - j < kNx ? nx - j : kNx;
        for (int i = 0; i < nq; i += kMq) {
            int mq = nq - i < kMq ? nq - i : kMq;
            float *o = out + i * ldo + j;
            switch (mq) {
                case 3: micro_rows<3>(q + i, x + j, nxr, d, o, ldo); break;
                case 2: micro_rows<2>(q + i, x + j, nxr, d, o, ldo); break;
                default: micro_rows<1>(q + i, x + j, nxr, d, o, ldo); break;
            }
        }
    }
}

// ---- packed path ----

/// The AVX2 vector for packed_kernel.h: 8 lanes, 6 queries x 16 rows (12 ymm accumulators, 15 of 16
/// registers with the two panel vectors and the broadcast).
struct V {
    using Vec = __m256;
    static constexpr int kLanes = 8;
    static constexpr int kMr = 6;
    static Vec zero() { return _mm256_setzero_ps(); }
    static Vec load(const float *p) { return _mm256_loadu_ps(p); }
    static Vec bcast(const float *p) { return _mm256_broadcast_ss(p); }
    static Vec fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
    static void store(float *p, Vec v) { _mm256_storeu_ps(p, v); }
    static void store_first(float *p, Vec v, int n) {
        _mm256_maskstore_ps(p, n >= 8 ? _mm256_set1_epi32(-1) : tail_mask(n), v);
    }
    /// 8 x 8 block transpose: rows r[0..7] at columns t..t+7 into dst[c * 8 + lane].
    static void transpose(const float *const *r, int t, float *dst) {
        __m256 a0 = _mm256_loadu_ps(r[0] + t), a1 = _mm256_loadu_ps(r[1] + t);
        __m256 a2 = _mm256_loadu_ps(r[2] + t), a3 = _mm256_loadu_ps(r[3] + t);
        __m256 a4 = _mm256_loadu_ps(r[4] + t), a5 = _mm256_loadu_ps(r[5] + t);
        __m256 a6 = _mm256_loadu_ps(r[6] + t), a7 = _mm256_loadu_ps(r[7] + t);
        __m256 b0 = _mm256_unpacklo_ps(a0, a1), b1 = _mm256_unpackhi_ps(a0, a1);
        __m256 b2 = _mm256_unpacklo_ps(a2, a3), b3 = _mm256_unpackhi_ps(a2, a3);
        __m256 b4 = _mm256_unpacklo_ps(a4, a5), b5 = _mm256_unpackhi_ps(a4, a5);
        __m256 b6 = _mm256_unpacklo_ps(a6, a7), b7 = _mm256_unpackhi_ps(a6, a7);
        __m256 c0 = _mm256_shuffle_ps(b0, b2, 0x44), c1 = _mm256_shuffle_ps(b0, b2, 0xEE);
        __m256 c2 = _mm256_shuffle_ps(b1, b3, 0x44), c3 = _mm256_shuffle_ps(b1, b3, 0xEE);
        __m256 c4 = _mm256_shuffle_ps(b4, b6, 0x44), c5 = _mm256_shuffle_ps(b4, b6, 0xEE);
        __m256 c6 = _mm256_shuffle_ps(b5, b7, 0x44), c7 = _mm256_shuffle_ps(b5, b7, 0xEE);
        _mm256_storeu_ps(dst + 0 * 8, _mm256_permute2f128_ps(c0, c4, 0x20));
        _mm256_storeu_ps(dst + 1 * 8, _mm256_permute2f128_ps(c1, c5, 0x20));
        _mm256_storeu_ps(dst + 2 * 8, _mm256_permute2f128_ps(c2, c6, 0x20));
        _mm256_storeu_ps(dst + 3 * 8, _mm256_permute2f128_ps(c3, c7, 0x20));
        _mm256_storeu_ps(dst + 4 * 8, _mm256_permute2f128_ps(c0, c4, 0x31));
        _mm256_storeu_ps(dst + 5 * 8, _mm256_permute2f128_ps(c1, c5, 0x31));
        _mm256_storeu_ps(dst + 6 * 8, _mm256_permute2f128_ps(c2, c6, 0x31));
        _mm256_storeu_ps(dst + 7 * 8, _mm256_permute2f128_ps(c3, c7, 0x31));
    }
};

#include "packed_kernel.h"

const Kernels kTable = {"avx2", V::kLanes, dot_tile, packed_pack<V>, packed_dot<V>, packed_sqnorm};

}  // namespace

const Kernels *kernels_avx2() { return &kTable; }

}  // namespace latent_cpu
