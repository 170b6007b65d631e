/// Latent CUDA kernels: plain C API of liblatentcuda.so (the entry points are listed, with what each
/// does, in latent_cuda_api.h).
///
/// Only C types appear here, so this header can be included without the CUDA toolkit (the JNI
/// loader in native/jni/latent_cuda_loader.h reaches these functions through dlopen/dlsym).
///
/// Status codes: every function returning `int` returns 0 on success, a positive `cudaError_t`
/// value for a CUDA failure (for example 35 = insufficient driver, 100 = no device, 2 = out of
/// memory), or a negative LATENT_CUDA_E_* value for a Latent-level error.
/// latent_cuda_error_string() names both kinds.
///
/// Layout: every matrix is row-major float32, queries `q × d`, database `n × d`. Metric codes are
/// those of native/common/latent_metric.h; every row and query must meet the vector rule stated there,
/// checked on the device where norms are computed (a bad database row gives LATENT_CUDA_E_BAD_ROW and
/// its index, a bad query LATENT_CUDA_E_BAD_QUERY and its index in *bad_query).
///
/// Thread safety: device queries are safe from any thread. A database handle serialises the calls
/// made on it (one mutex and one CUDA stream per handle), so concurrent searches on one handle are
/// safe; latent_cuda_db_free must not race with other calls on the same handle. Calls taking two
/// handles (assign) lock them in address order.
#ifndef LATENT_CUDA_H
#define LATENT_CUDA_H

#include "../common/latent_metric.h"
#include "latent_cuda_api.h"

#if defined(__GNUC__)
#define LATENT_CUDA_API __attribute__((visibility("default")))
#else
#define LATENT_CUDA_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/// Version of this API; the JNI loader refuses a library whose version differs.
#define LATENT_CUDA_ABI_VERSION 4

/// Largest k the top-k kernels accept (k > rows is clamped to rows before this check).
#define LATENT_CUDA_MAX_K 2048

/// An argument is invalid (null pointer, bad size, bad metric, unsorted subset, ...).
#define LATENT_CUDA_E_INVALID (-1)
/// A database row breaks the vector rule (the lowest such row is reported through `bad_row`).
#define LATENT_CUDA_E_BAD_ROW (-2)
/// More database rows than the kernels' 32-bit row indices can address (2^31 - 2).
#define LATENT_CUDA_E_TOO_MANY_ROWS (-3)
/// k above LATENT_CUDA_MAX_K after clamping to the candidate count.
#define LATENT_CUDA_E_K_TOO_LARGE (-4)
/// Host memory allocation failed.
#define LATENT_CUDA_E_HOST_ALLOC (-5)
/// A query row breaks the vector rule (the lowest such query is reported through `bad_query`).
#define LATENT_CUDA_E_BAD_QUERY (-6)
/// A range search found more hits than max_results.
#define LATENT_CUDA_E_TOO_MANY (-7)
/// The handle's scratch limit is too small for even one query of this call.
#define LATENT_CUDA_E_SCRATCH (-8)

/// Pooling of token embeddings (latent_cuda_topk_pooled): the mean over the kept tokens, or the first token.
#define LATENT_POOL_MEAN 0
#define LATENT_POOL_FIRST 1

/// Scratch limit of a new handle, and the smallest one latent_cuda_db_set_scratch_limit accepts.
#define LATENT_CUDA_DEFAULT_SCRATCH (2LL << 30)
#define LATENT_CUDA_MIN_SCRATCH (1LL << 20)

#define LATENT_CUDA_DECLARE_INFO(ret, name, params, args) LATENT_CUDA_API ret latent_cuda_##name params;
#define LATENT_CUDA_DECLARE_CALL(name, params, args) LATENT_CUDA_API int latent_cuda_##name params;
LATENT_CUDA_INFO(LATENT_CUDA_DECLARE_INFO)
LATENT_CUDA_CALLS(LATENT_CUDA_DECLARE_CALL)
#undef LATENT_CUDA_DECLARE_INFO
#undef LATENT_CUDA_DECLARE_CALL

#ifdef __cplusplus
}
#endif

#endif  // LATENT_CUDA_H
