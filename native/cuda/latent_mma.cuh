// Tensor-core matrix multiply-accumulate on TF32 operands: mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32.
//
// One warp computes D (16 × 8, float32) = A (16 × 8, TF32) × B (8 × 8, TF32) + C. Fragments as the PTX ISA
// defines them for this shape, with g = lane / 4 ("groupID") and t = lane % 4 ("threadID_in_group"):
//   A: a0 = A[g][t], a1 = A[g + 8][t], a2 = A[g][t + 4], a3 = A[g + 8][t + 4]
//   B: b0 = B[t][g], b1 = B[t + 4][g]                    (B is K × N: row = k, column = n)
//   C, D: c0 = C[g][2t], c1 = C[g][2t + 1], c2 = C[g + 8][2t], c3 = C[g + 8][2t + 1]
// Operands are float32 bit patterns already rounded to TF32 (toTf32: 10 explicit mantissa bits, round to
// nearest, ties away from zero, as cvt.rna.tf32.f32).
//
// The host simulator (sim/cuda_sim.h) runs the same warp-wide operation: every lane publishes its fragments,
// each lane then gathers the A and B elements its four outputs need from the lanes that hold them under the
// layout above (the low 13 bits of each operand ignored, as the hardware does), multiplies exactly and
// accumulates in float32 with truncation, the least accurate rounding the error bound allows. A kernel that
// places an element in the wrong register therefore computes a wrong product here as on the GPU.
#pragma once

#include <cstdint>

namespace latent {

/// TF32 rounding of x (round to nearest, ties away from zero), as a float32 bit pattern.
__device__ __forceinline__ uint32_t toTf32(float x) {
#if defined(LATENT_CUDA_HOST_SIM)
  const uint32_t u = __float_as_uint(x);
  if ((u & 0x7F800000u) == 0x7F800000u) {
    return u;  // infinity and NaN stay as they are
  }
  return (u + 0x1000u) & 0xFFFFE000u;  // sign-magnitude: adding half an ulp of TF32 rounds the magnitude
#else
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r;
#endif
}

#if defined(LATENT_CUDA_HOST_SIM)
/// The simulator's mma: see the file comment. Every lane of the warp must call it (it synchronises the warp).
inline void simMmaTf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  uint32_t* slots = mmaSlots();  // 8 words a thread: a0..a3, b0, b1
  const unsigned t = threadIdx.x;
  const unsigned base = t & ~31u;
  for (int i = 0; i < 4; ++i) slots[t * 8 + i] = a[i];
  slots[t * 8 + 4] = b[0];
  slots[t * 8 + 5] = b[1];
  __syncwarp();
  const unsigned lane = t & 31u;
  const unsigned g = lane >> 2;
  const unsigned tg = lane & 3u;
  auto operand = [&](unsigned owner, int reg) {
    return static_cast<double>(__uint_as_float(slots[(base + owner) * 8 + reg] & 0xFFFFE000u));
  };
  float out[4];
  for (int i = 0; i < 4; ++i) {
    const unsigned row = g + (i >= 2 ? 8u : 0u);
    const unsigned col = 2 * tg + static_cast<unsigned>(i & 1);
    float acc = d[i];
    for (unsigned k = 0; k < 8; ++k) {
      // A[row][k] lives in lane (row % 8) * 4 + k % 4, register (row >= 8) + 2 (k >= 4).
      const double av = operand((row % 8) * 4 + k % 4, (row >= 8 ? 1 : 0) + (k >= 4 ? 2 : 0));
      // B[k][col] lives in lane col * 4 + k % 4, register b0 (k < 4) or b1 (slots 4 and 5).
      const double bv = operand(col * 4 + k % 4, k >= 4 ? 5 : 4);
      const double exact = static_cast<double>(acc) + av * bv;  // a TF32 product is exact in float32
      float rounded = static_cast<float>(exact);
      if (std::fabs(static_cast<double>(rounded)) > std::fabs(exact)) {
        rounded = std::nextafter(rounded, 0.0f);  // truncate: round toward zero
      }
      acc = rounded;
    }
    out[i] = acc;
  }
  __syncwarp();
  for (int i = 0; i < 4; ++i) d[i] = out[i];
}
#endif

/// D = A × B + D for one m16n8k8 TF32 tile (fragments as in the file comment). Warp-wide: all 32 lanes call it.
__device__ __forceinline__ void mmaTf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if defined(LATENT_CUDA_HOST_SIM)
  simMmaTf32(d, a, b);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
  __trap();  // tensor cores with TF32 need sm_80 or newer; the large path does not take this kernel there
#else
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

}  // namespace latent
