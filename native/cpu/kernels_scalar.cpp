// Portable kernels for CPUs without AVX2 (baseline x86-64 flags). Eight partial sums per dot
// product, combined in the same order as the SIMD paths' lane reduction; 8-bit codes summed in int32.
#include "kernels.h"

namespace latent_cpu {
namespace {

inline float dot8(const float *a, const float *b, int d) {
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int t = 0;
    for (; t + 8 <= d; t += 8) {
        for (int l = 0; l < 8; l++) s[l] += a[t + l] * b[t + l];
    }
    for (int l = 0; t + l < d; l++) s[l] += a[t + l] * b[t + l];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

void dot_tile(const float *const *q, int nq, const float *const *x, int nx, int d, float *out,
              int64_t ldo) {
    for (int i = 0; i < nq; i++) {
        for (int j = 0; j < nx; j++) out[i * ldo + j] = dot8(q[i], x[j], d);
    }
}

float sqnorm(const float *x, int d) { return dot8(x, x, d); }

const Kernels kTable = {"scalar", 0, dot_tile, nullptr, nullptr, sqnorm};

/// 8-bit codes: plain int32 sums (exact, so equal to the SIMD levels' sums at the same query levels).
void sq8_dot_tile(const int8_t *const *q, int nq, const uint8_t *const *x, int nx, int64_t stride, int32_t *out,
                  int64_t ldo) {
    for (int i = 0; i < nq; i++) {
        for (int j = 0; j < nx; j++) {
            int32_t s = 0;
            for (int64_t t = 0; t < stride; t++) s += static_cast<int32_t>(q[i][t]) * x[j][t];
            out[i * ldo + j] = s;
        }
    }
}

const Sq8Kernels kSq8Table = {"scalar", 127, 0, sq8_dot_tile, nullptr, nullptr};

}  // namespace

const Kernels *kernels_scalar() { return &kTable; }

const Sq8Kernels *sq8_kernels_scalar() { return &kSq8Table; }

}  // namespace latent_cpu
