/*
 * Latent native CPU kernels: C ABI.
 *
 * All matrices are dense, row-major float32: row r of an n x d matrix starts at element r * d.
 * Scores follow the metric codes of dev.latent.core.Metric:
 *   0 = inner product (higher is nearer), 1 = cosine (higher is nearer), 2 = squared L2 (lower is nearer).
 * Per-row auxiliary values ("aux") are produced once by latent_cpu_row_norms and passed back to the
 * search functions: nothing for inner product, 1/|x| for cosine, |x|^2 for squared L2.
 *
 * Every function that can fail returns an int32 status (LATENT_CPU_OK or a negative LATENT_CPU_E*).
 * Functions are thread-safe; each call runs on up to latent_cpu_threads() threads of its own.
 */
#ifndef LATENT_CPU_H
#define LATENT_CPU_H

#include <stdint.h>

#include "../common/latent_metric.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a signature or a meaning below changes; checked by the Java binding. */
#define LATENT_CPU_ABI_VERSION 6

#define LATENT_CPU_ISA_SCALAR 0
#define LATENT_CPU_ISA_AVX2 1   /* AVX2 + FMA, 256-bit ymm */
#define LATENT_CPU_ISA_AVX512 2 /* AVX-512F, 512-bit zmm */

#define LATENT_CPU_OK 0
#define LATENT_CPU_EINVAL (-1)      /* a size, metric or k out of range */
#define LATENT_CPU_ENOMEM (-2)      /* a temporary buffer could not be allocated */
#define LATENT_CPU_EISA (-3)        /* the requested ISA level is not supported by this CPU */
#define LATENT_CPU_EISA_NAME (-4)   /* LATENT_CPU_ISA names no known level */
#define LATENT_CPU_EINTERNAL (-5)   /* unexpected C++ exception */
#define LATENT_CPU_ETOO_MANY (-6)   /* a range search found more results than max_results */

/* LATENT_CPU_ABI_VERSION of the compiled library. */
int32_t latent_cpu_abi_version(void);

/* Reads LATENT_CPU_ISA (avx512|avx2|scalar) and LATENT_CPU_THREADS once; later calls return the
 * first result. A forced level that this CPU lacks gives LATENT_CPU_EISA, an unknown name
 * LATENT_CPU_EISA_NAME; without the variable the best supported level is chosen. */
int32_t latent_cpu_init(void);

/* 1 when this CPU (and OS) can run the given level, else 0. */
int32_t latent_cpu_isa_supported(int32_t isa);

/* The best level this CPU supports. */
int32_t latent_cpu_isa_best(void);

/* The level used by the kernels now. */
int32_t latent_cpu_isa(void);

/* Selects a level for all later calls (process-wide); LATENT_CPU_EISA when unsupported. */
int32_t latent_cpu_set_isa(int32_t isa);

/* "avx512", "avx2", "scalar", or "unknown". Static storage. */
const char *latent_cpu_isa_name(int32_t isa);

/* Threads per call: LATENT_CPU_THREADS, a value set by latent_cpu_set_threads, or the number of
 * hardware threads. Calls run their parts on one persistent pool of worker threads (created on first
 * use, hardware threads - 1 of them) plus the calling thread; concurrent calls share the pool. */
int32_t latent_cpu_threads(void);

/* Sets the threads per call; 0 or less restores the default. */
void latent_cpu_set_threads(int32_t threads);

/*
 * Row norms of an n x d matrix into out[n]: kind 0 writes |x|^2, kind 1 writes 1/|x|.
 * Returns the index of the first row that breaks the vector rule (latent_metric.h: a component not
 * finite, a float64 squared norm above LATENT_MAX_SQUARED_NORM or, for kind 1 (cosine), below
 * LATENT_MIN_COSINE_SQUARED_NORM); -1 when every row is fine; a negative status below -1 on error
 * (the status minus 1, e.g. LATENT_CPU_EINVAL - 1).
 */
int64_t latent_cpu_row_norms(const float *x, int64_t n, int32_t d, int32_t kind, float *out);

/*
 * Scores of nq queries against nx database rows into out (nq x nx, row-major).
 * qaux/xaux: the row_norms output matching the metric (kind 1 for cosine, kind 0 for L2;
 * ignored, may be NULL, for inner product). L2 distances are clamped at 0.
 */
int32_t latent_cpu_distances(const float *q, const float *qaux, int64_t nq,
                             const float *x, const float *xaux, int64_t nx,
                             int32_t d, int32_t metric, float *out);

/*
 * Exact top-k: for each query, the min(k, candidates) best rows, best first, ties by the lower
 * row index, into ids[nq * count] and scores[nq * count] where count = min(k, candidates).
 * Candidates are all nx rows when rows is NULL, else the nrows row indices in rows (strictly
 * ascending, each in [0, nx)). ids are database row indices.
 */
int32_t latent_cpu_topk(const float *q, const float *qaux, int64_t nq,
                        const float *x, const float *xaux, int64_t nx,
                        int32_t d, int32_t metric,
                        const int64_t *rows, int64_t nrows,
                        int32_t k, int64_t *ids, float *scores);

/*
 * Exact top-k over a candidate list per query (CSR): query i's candidates are rows[offsets[i]] ..
 * rows[offsets[i + 1] - 1], strictly ascending, each in [0, nx). Every query gets `count` entries
 * (ids[nq * count], scores[nq * count]), best first, ties by the lower row; a query with fewer than
 * `count` candidates is padded with id -1 and score NaN.
 */
int32_t latent_cpu_topk_lists(const float *q, const float *qaux, int64_t nq,
                              const float *x, const float *xaux, int64_t nx,
                              int32_t d, int32_t metric,
                              const int64_t *offsets, const int64_t *rows,
                              int32_t count, int64_t *ids, float *scores);

/*
 * Top-k over inverted lists, each list scored once for all the queries that probe it. List l holds the
 * ascending rows list_rows[list_offsets[l] .. list_offsets[l + 1]); query i probes the nprobe distinct
 * lists probes[i * nprobe .. i * nprobe + nprobe), each in [0, nlists). The result equals
 * latent_cpu_topk_lists over the (sorted) union of each query's probed rows, up to float rounding of the
 * scores: every query gets `count` entries, best first, ties by the lower row, padded with id -1 and
 * score NaN. qaux and xaux as in latent_cpu_topk_lists. Threads split the lists (larger work first) into
 * per-thread top-k lists that are merged per query.
 */
int32_t latent_cpu_topk_grouped(const float *q, const float *qaux, int64_t nq, const float *x, const float *xaux,
                                int64_t nx, int32_t d, int32_t metric, const int64_t *list_offsets,
                                const int64_t *list_rows, int64_t nlists, const int32_t *probes, int32_t nprobe,
                                int32_t count, int64_t *ids, float *scores);

/*
 * Range search: every candidate (all nx rows, or the nrows ascending rows of `rows`) with score >= radius
 * (inner product, cosine) or squared distance <= radius (L2), filtered as the scores are computed.
 * On success *result holds an opaque handle (an int64) to the hits and *total their number; the caller
 * takes them with latent_cpu_range_fetch (which frees the handle) or drops them with
 * latent_cpu_range_free. Hits of a query come in ascending row order (not by score). More than
 * max_results hits stop the search with LATENT_CPU_ETOO_MANY and *over_query set to a query whose hits
 * passed the limit.
 */
int32_t latent_cpu_range(const float *q, const float *qaux, int64_t nq,
                         const float *x, const float *xaux, int64_t nx,
                         int32_t d, int32_t metric, const int64_t *rows, int64_t nrows,
                         float radius, int64_t max_results,
                         int64_t *result, int64_t *total, int64_t *over_query);

/* Copies a range result into offsets[nq + 1] (CSR over queries), rows[total] and scores[total], and
 * frees it. */
int32_t latent_cpu_range_fetch(int64_t result, int64_t *offsets, int64_t *rows, float *scores);

/* Frees a range result not fetched. 0 is ignored. */
void latent_cpu_range_free(int64_t result);

/*
 * Per-label sums (float64, sums[k * d]) and counts (counts[k]) of the n rows of x: row i is added to
 * label labels[i] in [0, k); label -1 skips it. Within a label rows are added in row order, whatever
 * the thread count, so the result is deterministic.
 */
int32_t latent_cpu_accumulate(const float *x, int64_t n, int32_t d, const int32_t *labels, int32_t k,
                              double *sums, int64_t *counts);

/*
 * Gram matrix out[d * d] (float64, row-major, symmetric) of the n rows of x: sum over rows of x x^T,
 * or of (x - mean)(x - mean)^T when mean (d values) is not NULL. Rows are taken 256 at a time; each
 * block's products are summed in float32 by the dot-product kernels and the blocks are added in
 * float64, in row order, whatever the thread count.
 */
int32_t latent_cpu_gram(const float *x, int64_t n, int32_t d, const double *mean, double *out);

/*
 * ---- 8-bit scalar quantisation (sq8): compressed rows scanned by integer kernels ----
 *
 * Encoding (per dimension t, trained elsewhere, e.g. min and max over a sample):
 *   vmin[t], vscale[t] = (vmax[t] - vmin[t]) / 255 (0 for a dimension of one value),
 *   code[t] = clamp(round((x[t] - vmin[t]) / vscale[t]), 0, 255) (0 where vscale[t] == 0),
 *   decoded x^[t] = vmin[t] + code[t] * vscale[t], so |x[t] - x^[t]| <= vscale[t] / 2 inside [vmin, vmax].
 * round is to nearest, ties to even; every float operation is the plain IEEE one (no fused multiply-add)
 * and every sum of floats named below is taken in float64 in index order, so a reference written in
 * Java reproduces codes, norms and scores bit for bit. Under cosine rows are scaled to unit length
 * (x * (1 / sqrt(sum x^2)), the factor in float64) before encoding, and queries likewise before scoring.
 *
 * Code layout: row r occupies LATENT_CPU_SQ8_STRIDE(d) bytes from codes + r * stride: the d codes, then
 * zero bytes up to a multiple of 4 (the kernels read whole 4-byte groups).
 *
 * Scoring a query q (normalised under cosine): q'[t] = q[t] * vscale[t]; m = max |q'[t]|;
 * with Q = latent_cpu_sq8_query_levels(), c[t] = clamp(round(q'[t] * (Q / m)), -Q, Q) (all 0 when m == 0)
 * and b = m / Q; S = sum code[t] * c[t], exact in int32; then
 *   dot = (float) S * b + o,   o = (float) sum q[t] * vmin[t],   which approximates q . x^,
 * and the score is dot (inner product, cosine: the cosine of q and x^, where x^ decodes the unit vector,
 * so it may pass 1 by the quantisation error) or max(0, |q|^2 + |x^|^2 - 2 dot) (squared L2, |x^|^2 from
 * xaux). Scores are approximate: re-rank a candidate set with the float32 search for exact ones.
 */
#define LATENT_CPU_SQ8_STRIDE(d) ((((int64_t)(d)) + 3) / 4 * 4)

/* Largest d the int32 sums of sq8 scores hold exactly (d * 255 * 127 < 2^31). */
#define LATENT_CPU_SQ8_MAX_D 65536

/*
 * Q, the largest magnitude of a quantised query component, of the sq8 kernels of the level in use:
 * 127 with AVX-512 VNNI (vpdpbusd, u8 x s8 summed in int32) and on the scalar level, 63 on AVX2
 * (vpmaddubsw sums two u8 x s8 products in int16: 2 * 255 * 63 = 32130 cannot saturate) and on AVX-512
 * CPUs without VNNI, which run the AVX2 sq8 kernels. Scores depend on Q, so on the level.
 */
int32_t latent_cpu_sq8_query_levels(void);

/*
 * Encodes n rows of x (n x d floats) into codes (n * LATENT_CPU_SQ8_STRIDE(d) bytes) with the per-dimension
 * vmin and vscale (d each, finite, vscale >= 0); for squared L2 also writes |x^|^2 of each decoded row into
 * xaux[n] (float64 sum; xaux is ignored, may be NULL, for the other metrics). Under cosine the rows are
 * normalised first. Returns -1 when every row meets the vector rule (see latent_cpu_row_norms), else the
 * first row that breaks it (the codes of every row are written either way), or a status below -1 on error
 * (the status minus 1). Multi-threaded over rows.
 */
int64_t latent_cpu_sq8_encode(const float *x, int64_t n, int32_t d, int32_t metric,
                              const float *vmin, const float *vscale, uint8_t *codes, float *xaux);

/*
 * Approximate top-count over sq8 codes (nx rows encoded by latent_cpu_sq8_encode with the same vmin,
 * vscale and metric; xaux as written there, needed for squared L2 only) for nq float queries q (nq x d,
 * meeting the vector rule). Candidates: all nx rows when offsets and rows are NULL, else a CSR list per
 * query as in latent_cpu_topk_lists (strictly ascending rows, each in [0, nx)). Every query gets `count`
 * entries, best first by the scores defined above, ties by the lower row; a query with fewer candidates is
 * padded with id -1 and score NaN. Threads split the queries, or with few queries over all rows the rows
 * (per-thread lists merged); 16 or more queries over all rows use packed code panels so that a block of
 * codes read once serves every query of a tile.
 */
int32_t latent_cpu_sq8_topk(const float *q, int64_t nq, const uint8_t *codes, const float *xaux, int64_t nx,
                            int32_t d, int32_t metric, const float *vmin, const float *vscale,
                            const int64_t *offsets, const int64_t *rows, int32_t count,
                            int64_t *ids, float *scores);

/*
 * latent_cpu_sq8_topk over inverted lists, each list's codes scored once for all the queries that probe it:
 * lists, probes and results as in latent_cpu_topk_grouped, codes, xaux, vmin, vscale and q as in
 * latent_cpu_sq8_topk. The result equals latent_cpu_sq8_topk over the (sorted) union of each query's probed
 * rows bit for bit (ids and scores): the integer sums are exact and are turned into scores by the same
 * float operations.
 */
int32_t latent_cpu_sq8_topk_grouped(const float *q, int64_t nq, const uint8_t *codes, const float *xaux,
                                    int64_t nx, int32_t d, int32_t metric, const float *vmin,
                                    const float *vscale, const int64_t *list_offsets, const int64_t *list_rows,
                                    int64_t nlists, const int32_t *probes, int32_t nprobe, int32_t count,
                                    int64_t *ids, float *scores);

/* ---- file mapping (files.cpp) ---- */

/*
 * Maps `length` bytes of the file at `path` from `offset` (a multiple of latent_cpu_page_size()) into memory,
 * private: the process reads the file's bytes through the page cache, and a write changes only the process's
 * copy of that page, never the file (MAP_PRIVATE). On success *address holds the start. The file is not held
 * open. Returns 0, LATENT_CPU_EINVAL for a bad argument, or LATENT_CPU_ENOMEM when the file cannot be opened
 * or mapped (the reason in errno).
 */
int32_t latent_cpu_map_file(const char *path, int64_t offset, int64_t length, int64_t *address);

/* Unmaps what latent_cpu_map_file mapped (the same address and length). Returns 0 or LATENT_CPU_EINVAL. */
int32_t latent_cpu_unmap(int64_t address, int64_t length);

/* The page size offsets of latent_cpu_map_file must be a multiple of. */
int64_t latent_cpu_page_size(void);

#ifdef __cplusplus
}
#endif

#endif /* LATENT_CPU_H */
