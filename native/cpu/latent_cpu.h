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
#define LATENT_CPU_ABI_VERSION 2

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

#ifdef __cplusplus
}
#endif

#endif /* LATENT_CPU_H */
