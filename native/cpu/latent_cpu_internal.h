// Declarations shared by the engine's files (dispatch.cpp, pool.cpp, search.cpp, sq8.cpp, cluster.cpp,
// vectors.cpp, api.cpp), all built with baseline x86-64 flags. Not part of the C API: everything
// below has hidden visibility, so the JNI library exports only the functions of latent_cpu.h.
#ifndef LATENT_CPU_INTERNAL_H
#define LATENT_CPU_INTERNAL_H

#include <stdint.h>

#include <vector>

#include "kernels.h"
#include "latent_cpu.h"

#pragma GCC visibility push(hidden)

namespace latent_cpu {

/// Most queries in one tile; also the most rows of dot_tile's first operand per call.
constexpr int kMaxQb = 48;

// ---- dispatch.cpp: ISA level and thread count ----

/// Whether this CPU (and OS) can run a LATENT_CPU_ISA_* level.
bool cpu_has(int isa);

/// The best level this CPU supports.
int best_isa();

/// Reads LATENT_CPU_ISA and LATENT_CPU_THREADS once and picks the level; returns the first call's
/// status (LATENT_CPU_OK, LATENT_CPU_EISA or LATENT_CPU_EISA_NAME) every time.
int init_once();

/// The level in use now (after init_once).
int current_isa();

/// Makes isa the level of all later calls; LATENT_CPU_EISA when this CPU lacks it.
int select_isa(int isa);

/// "avx512", "avx2", "scalar" or "unknown".
const char *isa_name(int isa);

/// The kernel table of the level in use.
const Kernels *kernels();

/// Whether this CPU has AVX512_VNNI and AVX512BW besides the avx512 level.
bool cpu_has_vnni();

/// The 8-bit code kernels of the level in use: AVX-512 VNNI on the avx512 level where the CPU has it,
/// else AVX2 (avx512 without VNNI, avx2), else scalar.
const Sq8Kernels *sq8_kernels();

/// Threads per call: set_thread_count's value, else LATENT_CPU_THREADS, else the hardware threads.
int thread_count();

/// Sets the threads per call; 0 or less restores the default.
void set_thread_count(int threads);

// ---- search.cpp: scans, top-k, candidate lists, range, distances ----

/// Everything a search call needs, shared by the threads.
struct Problem {
    const float *q;
    const float *qaux;
    int64_t nq;
    const float *x;
    const float *xaux;
    int64_t nx;
    int d;
    int metric;
    const int64_t *rows;  // null: all rows
    int64_t ncand;        // candidates: nrows or nx
    int64_t row_block;    // NB
    int query_block;      // queries per tile

    int64_t cand(int64_t c) const { return rows ? rows[c] : c; }
};

/// Database rows per block (NB) for dimension d: a block stays in L2.
int64_t row_block_for(int d);

/// Queries per tile for dimension d: a tile stays in L1.
int query_block_for(int d);

/// Scores of every query against every candidate into out (nq x nx); rows must be null.
int distances(const Problem &p, float *out);

/// Exact top-k over p's candidates into ids and scores (nq x min(k, ncand)).
int topk(const Problem &p, int k, int64_t *ids, float *scores);

/// Top-k over one candidate list per query (CSR), padded with id -1 and score NaN.
int topk_lists(const Problem &base, const int64_t *offsets, const int64_t *lists, int count, int64_t *ids,
               float *scores);

/// Top-k over the probed inverted lists of every query (latent_cpu_topk_grouped after the argument checks).
int topk_grouped(const Problem &base, const int64_t *list_offsets, const int64_t *list_rows, int64_t nlists,
                 const int32_t *probes, int nprobe, int count, int64_t *ids, float *scores);

/// Hits of a range search, CSR over queries.
struct RangeResult {
    std::vector<int64_t> offsets;
    std::vector<int64_t> rows;
    std::vector<float> scores;
};

/// Range search into out; LATENT_CPU_ETOO_MANY (and *overQuery) past maxResults hits.
int range(const Problem &p, float radius, int64_t maxResults, RangeResult &out, int64_t *overQuery);

// ---- cluster.cpp: per-label sums and the Gram matrix ----

/// Per-label float64 sums and counts; labels are in [-1, k).
int accumulate(const float *x, int64_t n, int d, const int32_t *labels, int k, double *sums, int64_t *counts);

/// Gram (or, with mean, scatter) matrix in float64.
int gram(const float *x, int64_t n, int d, const double *mean, double *out);

// ---- vectors.cpp: norms and the vector rule ----

/// Row norms (kind 0: |x|^2, kind 1: 1/|x|) into out; returns the first row breaking the vector rule,
/// or -1.
int64_t row_norms(const float *x, int64_t n, int d, int kind, float *out);

/// Whether one row meets the vector rule (latent_metric.h; cosine: the norm floor too); *sq receives
/// its squared norm summed in float64 in index order.
bool meets_rule(const float *row, int d, bool cosine, double *sq);

// ---- sq8.cpp: 8-bit codes ----

/// latent_cpu_sq8_encode after the argument checks.
int64_t sq8_encode(const float *x, int64_t n, int d, int metric, const float *vmin, const float *vscale,
                   uint8_t *codes, float *xaux);

/// latent_cpu_sq8_topk after the argument checks (offsets and rows both null, or both set).
int sq8_topk(const float *q, int64_t nq, const uint8_t *codes, const float *xaux, int64_t nx, int d, int metric,
             const float *vmin, const float *vscale, const int64_t *offsets, const int64_t *rows, int count,
             int64_t *ids, float *scores);

/// latent_cpu_sq8_topk_grouped after the argument checks.
int sq8_topk_grouped(const float *q, int64_t nq, const uint8_t *codes, const float *xaux, int d, int metric,
                     const float *vmin, const float *vscale, const int64_t *list_offsets, const int64_t *list_rows,
                     int64_t nlists, const int32_t *probes, int nprobe, int count, int64_t *ids, float *scores);

}  // namespace latent_cpu

#pragma GCC visibility pop

#endif
