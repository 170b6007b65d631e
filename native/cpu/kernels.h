// Internal interface between the engine (dispatch.cpp, search.cpp, cluster.cpp, vectors.cpp;
// baseline ISA) and the per-ISA kernel files (kernels_<isa>.cpp, each compiled with its own -m flags).
//
// The kernel files hold only plain functions on raw pointers and no C++ library templates: a
// template instantiated in an AVX-512 object could be merged by the linker into code that runs
// on CPUs without AVX-512.
#ifndef LATENT_CPU_KERNELS_H
#define LATENT_CPU_KERNELS_H

#include <stdint.h>

namespace latent_cpu {

/// One ISA level's kernels. Within one path a dot product has one fixed summation order for every
/// tile shape and position, so a row scores bit-identically wherever it lands: duplicate rows tie
/// exactly.
///
/// Every level has dot_tile, which reads rows in place. A level with lanes > 0 also has a packed
/// path (pack, dot_packed) that the engine uses when a call has at least kPackedMinQueries queries:
/// rows [lanes * p, lanes * p + lanes) stored as panel[p * lanes * d + t * lanes + l],
/// the last panel padded with zeros. sqnorm sums in the order of the level's main path (the packed
/// one where there is one), so there dot(x, x) equals sqnorm(x).
struct Kernels {
    const char *name;
    int lanes;
    /// Register-blocked dot products: out[i * ldo + j] = q[i] . x[j] for i < nq, j < nx.
    /// q and x are arrays of row pointers (so row subsets cost nothing); d >= 1.
    void (*dot_tile)(const float *const *q, int nq, const float *const *x, int nx, int d,
                     float *out, int64_t ldo);
    /// Packs nx rows into ceil(nx / lanes) panels (lanes * d floats each).
    void (*pack)(const float *const *x, int nx, int d, float *panel);
    /// out[i * ldo + j] = q[i] . x[j] with the rows x packed by pack.
    void (*dot_packed)(const float *const *q, int nq, const float *panel, int nx, int d, float *out,
                       int64_t ldo);
    /// |x|^2 of one row, summed in the same order as the main path's dot products.
    float (*sqnorm)(const float *x, int d);
};

/// Fewest queries in one scan for which a packed level packs the rows.
constexpr int kPackedMinQueries = 16;

const Kernels *kernels_scalar();
const Kernels *kernels_avx2();
const Kernels *kernels_avx512();

/// One level's integer kernels for 8-bit codes (latent_cpu_sq8_*): exact int32 sums
/// S = sum_t x[t] * q[t] of unsigned codes x and signed query components q in [-levels, levels], so
/// every level with the same `levels` gives the same S. Rows and queries are `stride` bytes
/// (a multiple of 4, zero beyond d); query buffers are readable up to stride rounded up to 64 bytes.
///
/// A level with lanes > 0 has a packed path: rows [lanes * p, lanes * p + lanes) as panel
/// [p * lanes * stride + g * lanes * 4 + l * 4 + b] = x[lanes * p + l][4 * g + b] (4-byte groups of
/// `lanes` rows side by side, the last panel padded with zero rows), so one vector holds group g of
/// `lanes` rows and one broadcast query group feeds all of them.
struct Sq8Kernels {
    const char *name;
    int levels;
    int lanes;
    /// out[i * ldo + j] = q[i] . x[j], rows read in place.
    void (*dot_tile)(const int8_t *const *q, int nq, const uint8_t *const *x, int nx, int64_t stride,
                     int32_t *out, int64_t ldo);
    /// Packs nx rows into ceil(nx / lanes) panels.
    void (*pack)(const uint8_t *const *x, int nx, int64_t stride, uint8_t *panel);
    /// out[i * ldo + j] = q[i] . x[j] with the rows packed by pack.
    void (*dot_packed)(const int8_t *const *q, int nq, const uint8_t *panel, int nx, int64_t stride,
                       int32_t *out, int64_t ldo);
};

const Sq8Kernels *sq8_kernels_scalar();
const Sq8Kernels *sq8_kernels_avx2();
/// AVX-512 with VNNI (vpdpbusd) and BW; compiled in its own file with those flags.
const Sq8Kernels *sq8_kernels_avx512();

}  // namespace latent_cpu

#endif
