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

/// The AVX-512 vector for packed_kernel.h: 16 lanes, 12 queries x 32 rows (24 zmm accumulators).
struct V {
    using Vec = __m512;
    static constexpr int kLanes = 16;
    static constexpr int kMr = 12;
    static Vec zero() { return _mm512_setzero_ps(); }
    static Vec load(const float *p) { return _mm512_loadu_ps(p); }
    static Vec bcast(const float *p) { return _mm512_set1_ps(*p); }
    static Vec fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
    static void store(float *p, Vec v) { _mm512_storeu_ps(p, v); }
    static void store_first(float *p, Vec v, int n) {
        _mm512_mask_storeu_ps(p, n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u), v);
    }
    /// 16 x 16 block transpose: rows r[0..15] at columns t..t+15 into dst[c * 16 + lane].
    static void transpose(const float *const *r, int t, float *dst) {
        __m512 a[16], b[16], c[16], e[16];
        for (int i = 0; i < 16; i++) a[i] = _mm512_loadu_ps(r[i] + t);
        for (int i = 0; i < 16; i += 2) {
            b[i] = _mm512_unpacklo_ps(a[i], a[i + 1]);
            b[i + 1] = _mm512_unpackhi_ps(a[i], a[i + 1]);
        }
        for (int i = 0; i < 16; i += 4) {
            __m512d b0 = _mm512_castps_pd(b[i]), b1 = _mm512_castps_pd(b[i + 1]);
            __m512d b2 = _mm512_castps_pd(b[i + 2]), b3 = _mm512_castps_pd(b[i + 3]);
            c[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(b0, b2));
            c[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(b0, b2));
            c[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b1, b3));
            c[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b1, b3));
        }
        const __m512i lo1 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
        const __m512i hi1 = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
        for (int j = 0; j < 4; j++) {
            e[j] = _mm512_permutex2var_ps(c[j], lo1, c[4 + j]);
            e[4 + j] = _mm512_permutex2var_ps(c[j], hi1, c[4 + j]);
            e[8 + j] = _mm512_permutex2var_ps(c[8 + j], lo1, c[12 + j]);
            e[12 + j] = _mm512_permutex2var_ps(c[8 + j], hi1, c[12 + j]);
        }
        const __m512i lo2 = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
        const __m512i hi2 = _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
        // After the three stages, output j holds column kCol[j] (a wrong map fails CpuBackendTest at once).
        static const int kCol[16] = {0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15};
        for (int j = 0; j < 8; j++) {
            _mm512_storeu_ps(dst + kCol[j] * 16, _mm512_permutex2var_ps(e[j], lo2, e[8 + j]));
            _mm512_storeu_ps(dst + kCol[8 + j] * 16, _mm512_permutex2var_ps(e[j], hi2, e[8 + j]));
        }
    }
};

#include "packed_kernel.h"

// Row-major kernel for a few queries (see the file comment).

constexpr int kMq = 3;
constexpr int kNx = 8;

/// Folds the two 256-bit halves: the lane order then continues as in reduce4/reduce1 below.
inline __m256 fold(__m512 a) {
    return _mm256_add_ps(_mm512_castps512_ps256(a),
                         _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
}

inline __m128 reduce4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

inline float reduce1(__m256 a) {
    __m256 h = _mm256_hadd_ps(a, a);
    h = _mm256_hadd_ps(h, h);
    return _mm_cvtss_f32(_mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
}

template <int MQ, int NX>
inline void micro(const float *const *q, const float *const *x, int d, float *out, int64_t ldo) {
    __m512 acc[MQ][NX];
#pragma GCC unroll 8
    for (int i = 0; i < MQ; i++) {
#pragma GCC unroll 8
        for (int j = 0; j < NX; j++) acc[i][j] = _mm512_setzero_ps();
    }
    const float *qp[MQ];
    const float *xp[NX];
    for (int i = 0; i < MQ; i++) qp[i] = q[i];
    for (int j = 0; j < NX; j++) xp[j] = x[j];
    int t = 0;
    for (; t + 16 <= d; t += 16) {
        __m512 qv[MQ];
#pragma GCC unroll 4
        for (int i = 0; i < MQ; i++) qv[i] = _mm512_loadu_ps(qp[i] + t);
#pragma GCC unroll 8
        for (int j = 0; j < NX; j++) {
            __m512 xv = _mm512_loadu_ps(xp[j] + t);
            // Keep the row in a register: otherwise GCC folds the load into each of the MQ FMAs
            // (MQ loads instead of one), and the load ports, not the FMA pipes, set the pace.
            __asm__("" : "+v"(xv));
#pragma GCC unroll 4
            for (int i = 0; i < MQ; i++) acc[i][j] = _mm512_fmadd_ps(qv[i], xv, acc[i][j]);
        }
    }
    if (t < d) {
        __mmask16 m = static_cast<__mmask16>((1u << (d - t)) - 1u);
        __m512 qv[MQ];
        for (int i = 0; i < MQ; i++) qv[i] = _mm512_maskz_loadu_ps(m, qp[i] + t);
        for (int j = 0; j < NX; j++) {
            __m512 xv = _mm512_maskz_loadu_ps(m, xp[j] + t);
            for (int i = 0; i < MQ; i++) acc[i][j] = _mm512_fmadd_ps(qv[i], xv, acc[i][j]);
        }
    }
    for (int i = 0; i < MQ; i++) {
        int j = 0;
        for (; j + 4 <= NX; j += 4) {
            _mm_storeu_ps(out + i * ldo + j,
                          reduce4(fold(acc[i][j]), fold(acc[i][j + 1]), fold(acc[i][j + 2]),
                                  fold(acc[i][j + 3])));
        }
        for (; j < NX; j++) out[i * ldo + j] = reduce1(fold(acc[i][j]));
    }
}

template <int MQ>
inline void micro_rows(const float *const *q, const float *const *x, int nxr, int d, float *out,
                       int64_t ldo) {
    switch (nxr) {
        case 8: micro<MQ, 8>(q, x, d, out, ldo); break;
        case 7: micro<MQ, 7>(q, x, d, out, ldo); break;
        case 6: micro<MQ, 6>(q, x, d, out, ldo); break;
        case 5: micro<MQ, 5>(q, x, d, out, ldo); break;
        case 4: micro<MQ, 4>(q, x, d, out, ldo); break;
        case 3: micro<MQ, 3>(q, x, d, out, ldo); break;
        case 2: micro<MQ, 2>(q, x, d, out, ldo); break;
        default: micro<MQ, 1>(q, x, d, out, ldo); break;
    }
}

void dot_tile(const float *const *q, int nq, const float *const *x, int nx, int d, float *out,
              int64_t ldo) {
    // Rows outer: a group of kNx database rows is read from L2 once and stays in L1 while every
    // query of the tile (also in L1) passes over it.
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

const Kernels kTable = {"avx512", V::kLanes, dot_tile, packed_pack<V>, packed_dot<V>, packed_sqnorm};

}  // namespace

const Kernels *kernels_avx512() { return &kTable; }

}  // namespace latent_cpu
