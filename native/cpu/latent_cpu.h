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

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a signature or a meaning below changes; checked by the Java binding. */
#define LATENT_CPU_ABI_VERSION 1

#define LATENT_CPU_ISA_SCALAR 0
#define LATENT_CPU_ISA_AVX2 1   /* AVX2 + FMA, 256-bit ymm */
#define LATENT_CPU_ISA_AVX512 2 /* AVX-512F, 512-bit zmm */

#define LATENT_CPU_OK 0
#define LATENT_CPU_EINVAL (-1)      /* a size, metric or k out of range */
#define LATENT_CPU_ENOMEM (-2)      /* a temporary buffer could not be allocated */
#define LATENT_CPU_EISA (-3)        /* the requested ISA level is not supported by this CPU */
#define LATENT_CPU_EISA_NAME (-4)   /* LATENT_CPU_ISA names no known level */
#define LATENT_CPU_EINTERNAL (-5)   /* unexpected C++ exception */

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
 * hardware threads. */
int32_t latent_cpu_threads(void);

/* Sets the threads per call; 0 or less restores the default. */
void latent_cpu_set_threads(int32_t threads);

/*
 * Row norms of an n x d matrix into out[n]: kind 0 writes |x|^2, kind 1 writes 1/|x|.
 * Returns the index of the first row whose squared norm is not finite (NaN, infinity, overflow)
 * or, for kind 1, is zero; -1 when every row is fine; a negative status below -1 on error
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

#ifdef __cplusplus
}
#endif

#endif /* LATENT_CPU_H */
