// AVX2 + FMA kernels (compiled with -mavx2 -mfma only in this file).
//
// Micro-kernel: 3 queries x 4 database rows, 12 ymm accumulators (FMA latency 4-5 cycles x 2
// pipes needs at least 10 independent chains), 3 query registers + 1 row register = 16 ymm.
// Per 8 floats of d: 7 loads for 12 FMAs, so the two load ports never limit the FMA pipes.
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

float sqnorm(const float *x, int d) {
    float r;
    micro<1, 1>(&x, &x, d, &r, 1);
    return r;
}

const Kernels kTable = {"avx2", 0, dot_tile, nullptr, nullptr, sqnorm};

}  // namespace

const Kernels *kernels_avx2() { return &kTable; }

}  // namespace latent_cpu
