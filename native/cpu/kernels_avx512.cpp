// AVX-512F kernels (compiled with -mavx512f -mfma only in this file).
//
// Micro-kernel: 3 queries x 8 database rows, 24 zmm accumulators, 3 query registers + 1 row
// register (28 of 32 zmm). Per 16 floats of d: 11 loads for 24 FMAs. The tail of d uses masked
// loads (no read past a row end).
#include <immintrin.h>

#include "kernels.h"

namespace latent_cpu {
namespace {

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
    for (int i = 0; i < nq; i += kMq) {
        int mq = nq - i < kMq ? nq - i : kMq;
        for (int j = 0; j < nx; j += kNx) {
            int nxr = nx - j < kNx ? nx - j : kNx;
            float *o = out + i * ldo + j;
            switch (mq) {
                case 3: micro_rows<3>(q + i, x + j, nxr, d, o, ldo); break;
                case 2: micro_rows<2>(q + i, x + j, nxr, d, o, ldo); break;
                default: micro_rows<1>(q + i, x + j, nxr, d, o, ldo); break;
            }
        }
    }
}

float sqnorm(const float *x, int d) {
    float r;
    micro<1, 1>(&x, &x, d, &r, 1);
    return r;
}

const Kernels kTable = {"avx512", dot_tile, sqnorm};

}  // namespace

const Kernels *kernels_avx512() { return &kTable; }

}  // namespace latent_cpu
