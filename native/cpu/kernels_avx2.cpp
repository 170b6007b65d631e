// AVX2 + FMA kernels (compiled with -mavx2 -mfma only in this file).
//
// Many queries (dot_packed): the packed outer-product scheme of kernels_avx512.cpp at 8 lanes.
// Database rows are packed 8 to a panel, panel[t * 8 + lane]; the micro-kernel keeps 6 queries x
// 16 rows in 12 ymm accumulators and, per t, loads two panel vectors and broadcasts 6 query
// elements (2 + 6 loads for 12 FMAs, 15 of 16 ymm registers). Every dot product is one sequential
// FMA chain over t, and sqnorm is the same chain in scalar FMAs, so dot(x, x) = sqnorm(x).
//
// A few queries (rowmajor_kernel.h): 3 queries x 4 database rows, 12 ymm accumulators of 8 partial
// sums folded by a fixed tree, rows read in place. Per 8 floats of d: 7 loads for 12 FMAs. Its
// summation order differs from the packed one (agreement to rounding, not bit for bit); the engine
// picks one path per call, so duplicate rows always tie.
//
// 8-bit codes (sq8_kernel.h with the integer traits S below): the same two schemes on bytes, 4-byte
// groups of 8 rows per panel vector, query components limited to [-63, 63] so vpmaddubsw cannot saturate.
#include <immintrin.h>

#include "kernels.h"

namespace latent_cpu {
namespace {

#include "kernel_traits.h"

alignas(64) const int32_t kMaskTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/// Lane mask for the last d % 8 floats (rem in 1..7).
inline __m256i tail_mask(int rem) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(kMaskTable + 8 - rem));
}

/// The AVX2 vector for packed_kernel.h and rowmajor_kernel.h. Packed: 8 lanes, 6 queries x 16 rows (12 ymm accumulators, 15 of 16
/// registers with the two panel vectors and the broadcast).
struct V : FloatRows {
    using Vec = __m256;
    static constexpr int kLanes = 8;
    static constexpr int kMr = 6;
    static constexpr int kPanelStep = kLanes;
    static constexpr int kRowStep = kLanes;
    static constexpr int kRowMq = 3;
    static Vec zero() { return _mm256_setzero_ps(); }
    static Vec load(const float *p) { return _mm256_loadu_ps(p); }
    static Vec bcast(const float *p) { return _mm256_broadcast_ss(p); }
    static Vec madd(Vec acc, Vec x, Vec q) { return _mm256_fmadd_ps(q, x, acc); }
    static void store(float *p, Vec v) { _mm256_storeu_ps(p, v); }
    static void store_first(float *p, Vec v, int n) {
        _mm256_maskstore_ps(p, n >= 8 ? _mm256_set1_epi32(-1) : tail_mask(n), v);
    }
    // Row-major path (rowmajor_kernel.h): 3 queries x 4 rows, 12 ymm accumulators; per 8 floats of d,
    // 7 loads for 12 FMAs.
    static constexpr int kRowNx = 4;
    static Vec load_first(const float *p, int n) { return _mm256_maskload_ps(p, tail_mask(n)); }
    static void pin(Vec &v) { __asm__("" : "+x"(v)); }
    /// Sums four accumulators into out[0..3], lane order ((0+1)+(2+3)) + ((4+5)+(6+7)).
    static void sum4(float *out, Vec a0, Vec a1, Vec a2, Vec a3) {
        __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
        _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
    }
    /// Same lane order as sum4, for one accumulator.
    static float sum1(Vec a) {
        __m256 h = _mm256_hadd_ps(a, a);
        h = _mm256_hadd_ps(h, h);
        return _mm_cvtss_f32(_mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
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
#include "rowmajor_kernel.h"

const Kernels kTable = {"avx2", V::kLanes, row_dot_tile<V>, packed_pack<V>, packed_dot<V>, packed_sqnorm};

/// The integer vector for 8-bit codes (packed_kernel.h, rowmajor_kernel.h, sq8_kernel.h): vpmaddubsw
/// (u8 x s8 pairs summed in int16, saturating, which query components in [-63, 63] never reach:
/// 2 * 255 * 63 = 32130), vpmaddwd with ones (pairs of int16 summed in int32) and vpaddd: 3 instructions
/// per 32 byte products. Packed: 8 rows per panel, 4 queries x 16 rows (8 accumulators, 2 panel vectors,
/// the broadcast, the ones and the products: 13 of 16 ymm). Row-major: 2 queries x 4 rows.
struct S : CodeRows<S> {
    using Vec = __m256i;
    static constexpr int kLanes = 8;
    static constexpr int kMr = 4;
    static constexpr int kPanelStep = 4 * kLanes;
    static constexpr int kRowStep = 4 * kLanes;
    static constexpr int kRowMq = 2;
    static constexpr int kRowNx = 4;
    static Vec zero() { return _mm256_setzero_si256(); }
    static Vec load(const void *p) { return _mm256_loadu_si256(static_cast<const __m256i *>(p)); }
    /// The first n bytes (a multiple of 4), the rest 0.
    static Vec load_first(const void *p, int n) {
        return _mm256_maskload_epi32(static_cast<const int *>(p), tail_mask(n / 4));
    }
    static Vec bcast(const int8_t *p) {
        int32_t w;
        __builtin_memcpy(&w, p, 4);
        return _mm256_set1_epi32(w);
    }
    static Vec madd(Vec acc, Vec x, Vec q) {
        return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(x, q), _mm256_set1_epi16(1)));
    }
    static void pin(Vec &v) { __asm__("" : "+x"(v)); }
    static void store(int32_t *p, Vec v) { _mm256_storeu_si256(reinterpret_cast<__m256i *>(p), v); }
    static void store_first(int32_t *p, Vec v, int n) {
        _mm256_maskstore_epi32(reinterpret_cast<int *>(p), n >= 8 ? _mm256_set1_epi32(-1) : tail_mask(n), v);
    }
    static int32_t sum1(Vec v) {
        __m128i h = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1));
        return _mm_cvtsi128_si32(h);
    }
};

#include "sq8_kernel.h"

const Sq8Kernels kSq8Table = {"avx2", 63, S::kLanes, row_dot_tile<S>, sq8_pack<S>, packed_dot<S>};

}  // namespace

const Kernels *kernels_avx2() { return &kTable; }

const Sq8Kernels *sq8_kernels_avx2() { return &kSq8Table; }

}  // namespace latent_cpu
