// The AVX-512F vector traits of the float kernels (packed_kernel.h, rowmajor_kernel.h), also used for
// their transposes by the 8-bit kernels (kernels_avx512_vnni.cpp). Included inside the anonymous namespace
// of a file compiled with at least -mavx512f -mfma, after <immintrin.h>.
#ifndef LATENT_CPU_VEC_AVX512_H
#define LATENT_CPU_VEC_AVX512_H

#include "kernel_traits.h"

/// The AVX-512 vector for packed_kernel.h and rowmajor_kernel.h. Packed: 16 lanes, 12 queries x 32 rows (24 zmm accumulators).
struct V : FloatRows {
    using Vec = __m512;
    static constexpr int kLanes = 16;
    static constexpr int kMr = 12;
    static constexpr int kPanelStep = kLanes;
    static constexpr int kRowStep = kLanes;
    static constexpr int kRowMq = 3;
    static Vec zero() { return _mm512_setzero_ps(); }
    static Vec load(const float *p) { return _mm512_loadu_ps(p); }
    static Vec bcast(const float *p) { return _mm512_set1_ps(*p); }
    static Vec madd(Vec acc, Vec x, Vec q) { return _mm512_fmadd_ps(q, x, acc); }
    static void store(float *p, Vec v) { _mm512_storeu_ps(p, v); }
    static void store_first(float *p, Vec v, int n) {
        _mm512_mask_storeu_ps(p, n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u), v);
    }
    // Row-major path (rowmajor_kernel.h): 3 queries x 8 rows, 24 zmm accumulators.
    static constexpr int kRowNx = 8;
    static Vec load_first(const float *p, int n) {
        return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p);
    }
    static void pin(Vec &v) { __asm__("" : "+v"(v)); }
    /// Folds the two 256-bit halves, then sums as the AVX2 level does.
    static __m256 fold(Vec a) {
        return _mm256_add_ps(_mm512_castps512_ps256(a), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    }
    static void sum4(float *out, Vec a0, Vec a1, Vec a2, Vec a3) {
        __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(fold(a0), fold(a1)), _mm256_hadd_ps(fold(a2), fold(a3)));
        _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
    }
    static float sum1(Vec a) {
        __m256 h = _mm256_hadd_ps(fold(a), fold(a));
        h = _mm256_hadd_ps(h, h);
        return _mm_cvtss_f32(_mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
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

#endif
