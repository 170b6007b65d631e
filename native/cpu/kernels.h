// Internal interface between the dispatcher/engine (latent_cpu.cpp, baseline ISA) and the
// per-ISA kernel files (kernels_<isa>.cpp, each compiled with its own -m flags).
//
// The kernel files hold only plain functions on raw pointers and no C++ library templates: a
// template instantiated in an AVX-512 object could be merged by the linker into code that runs
// on CPUs without AVX-512.
#ifndef LATENT_CPU_KERNELS_H
#define LATENT_CPU_KERNELS_H

#include <stdint.h>

namespace latent_cpu {

/// One ISA level's kernels. Every level sums the lanes of its accumulators in the same order
/// for every tile shape, so a row scores bit-identically whatever tile position it lands in:
/// duplicate rows tie exactly, and dot(x, x) equals sqnorm(x).
struct Kernels {
    const char *name;
    /// Register-blocked dot products: out[i * ldo + j] = q[i] . x[j] for i < nq, j < nx.
    /// q and x are arrays of row pointers (so row subsets cost nothing); d >= 1.
    void (*dot_tile)(const float *const *q, int nq, const float *const *x, int nx, int d,
                     float *out, int64_t ldo);
    /// |x|^2 of one row, summed in the same order as dot_tile.
    float (*sqnorm)(const float *x, int d);
};

const Kernels *kernels_scalar();
const Kernels *kernels_avx2();
const Kernels *kernels_avx512();

}  // namespace latent_cpu

#endif
