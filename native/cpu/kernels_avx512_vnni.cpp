// AVX-512 VNNI kernels for 8-bit codes (compiled with -mavx512f -mavx512bw -mavx512vnni -mfma only in
// this file; used when the level is avx512 and the CPU also has AVX512_VNNI and AVX512BW).
//
// vpdpbusd adds to each int32 lane the four products of 4 unsigned code bytes and 4 signed query bytes:
// 64 byte products per instruction, exact for query components in [-127, 127]. Many queries: codes packed
// 16 rows to a panel (4-byte groups side by side), 12 queries x 32 rows in 24 zmm accumulators; per group
// two panel loads and 12 broadcast query groups feed 24 vpdpbusd, no horizontal sums. A few queries: rows
// read in place, 3 queries x 8 rows, one lane sum per result.
#include <immintrin.h>

#include "kernels.h"

namespace latent_cpu {
namespace {

#include "vec_avx512.h"

/// The integer vector for 8-bit codes (packed_kernel.h, rowmajor_kernel.h, sq8_kernel.h). Packed: 16 rows
/// per panel, 12 queries x 32 rows in 24 zmm accumulators. Row-major: 3 queries x 8 rows.
struct S : CodeRows<S> {
    using Vec = __m512i;
    static constexpr int kLanes = 16;
    static constexpr int kMr = 12;
    static constexpr int kPanelStep = 4 * kLanes;
    static constexpr int kRowStep = 4 * kLanes;
    static constexpr int kRowMq = 3;
    static constexpr int kRowNx = 8;
    static Vec zero() { return _mm512_setzero_si512(); }
    static Vec load(const void *p) { return _mm512_loadu_si512(p); }
    /// The first n bytes (a multiple of 4), the rest 0.
    static Vec load_first(const void *p, int n) {
        return _mm512_maskz_loadu_epi32(static_cast<__mmask16>((1u << (n / 4)) - 1u), p);
    }
    static Vec bcast(const int8_t *p) {
        int32_t w;
        __builtin_memcpy(&w, p, 4);
        return _mm512_set1_epi32(w);
    }
    /// vpdpbusd in inline assembly: with the intrinsic, GCC 12 copied every accumulator to another
    /// register and back on each step (and spilled some), about half the kernel's instructions.
    static Vec madd(Vec acc, Vec x, Vec q) {
        __asm__("vpdpbusd %[q], %[x], %[acc]" : [acc] "+v"(acc) : [x] "v"(x), [q] "v"(q));
        return acc;
    }
    static void pin(Vec &v) { __asm__("" : "+v"(v)); }
    static void store(int32_t *p, Vec v) { _mm512_storeu_si512(p, v); }
    static void store_first(int32_t *p, Vec v, int n) {
        _mm512_mask_storeu_epi32(p, n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u), v);
    }
    static int32_t sum1(Vec v) { return _mm512_reduce_add_epi32(v); }
};

#include "packed_kernel.h"
#include "rowmajor_kernel.h"
#include "sq8_kernel.h"

const Sq8Kernels kSq8Table = {"avx512-vnni", 127, S::kLanes, row_dot_tile<S>, sq8_pack<S>, packed_dot<S>};

}  // namespace

const Sq8Kernels *sq8_kernels_avx512() { return &kSq8Table; }

}  // namespace latent_cpu
