/// Latent CUDA kernels: plain C API of liblatentcuda.so.
///
/// Only C types appear here, so this header can be included without the CUDA toolkit (the JNI
/// loader in native/jni/latent_cuda_loader.h reaches these functions through dlopen/dlsym).
///
/// Status codes: every function returning `int` returns 0 on success, a positive `cudaError_t`
/// value for a CUDA failure (for example 35 = insufficient driver, 100 = no device, 2 = out of
/// memory), or a negative LATENT_CUDA_E_* value for a Latent-level error.
/// latent_cuda_error_string() names both kinds.
///
/// Layout: every matrix is row-major float32, queries `q × d`, database `n × d`.
/// Metric codes match dev.latent.core.Metric: 0 inner product and 1 cosine (similarities, higher is
/// nearer), 2 squared L2 distance (lower is nearer, clamped at 0).
///
/// Thread safety: device queries are safe from any thread. A database handle serialises the calls
/// made on it (one mutex and one CUDA stream per handle), so concurrent searches on one handle are
/// safe; latent_cuda_db_free must not race with other calls on the same handle.
#ifndef LATENT_CUDA_H
#define LATENT_CUDA_H

#if defined(__GNUC__)
#define LATENT_CUDA_API __attribute__((visibility("default")))
#else
#define LATENT_CUDA_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/// Version of this API; the JNI loader refuses a library whose version differs.
#define LATENT_CUDA_ABI_VERSION 1

/// Largest k the top-k kernels accept (k > rows is clamped to rows before this check).
#define LATENT_CUDA_MAX_K 2048

/// An argument is invalid (null pointer, bad size, bad metric, unsorted subset, ...).
#define LATENT_CUDA_E_INVALID (-1)
/// A database row with a non-finite value or squared norm, or of norm zero under cosine (the
/// lowest such row is reported through `bad_row`).
#define LATENT_CUDA_E_BAD_ROW (-2)
/// More database rows than the kernels' 32-bit row indices can address (2^31 - 2).
#define LATENT_CUDA_E_TOO_MANY_ROWS (-3)
/// k above LATENT_CUDA_MAX_K after clamping to the candidate count.
#define LATENT_CUDA_E_K_TOO_LARGE (-4)
/// Host memory allocation failed.
#define LATENT_CUDA_E_HOST_ALLOC (-5)

/// Returns LATENT_CUDA_ABI_VERSION as compiled into the library.
LATENT_CUDA_API int latent_cuda_abi_version(void);

/// Short text for a status code (cudaGetErrorString for positive codes). Never null; static storage.
LATENT_CUDA_API const char* latent_cuda_error_string(int code);

/// Detail of the last failure on the calling thread (the call, file:line, code and text), or "".
LATENT_CUDA_API const char* latent_cuda_last_error(void);

/// CUDA runtime version linked into the library (e.g. 13000) and the driver's version (0 without a driver).
LATENT_CUDA_API int latent_cuda_versions(int* runtime_version, int* driver_version);

/// Number of CUDA devices (cudaGetDeviceCount). On a machine without a driver this returns 35
/// (insufficient driver) or 100 (no device) and sets *count to 0.
LATENT_CUDA_API int latent_cuda_device_count(int* count);

/// Properties of one device: name (NUL-terminated, truncated to name_capacity), compute capability,
/// number of multiprocessors, free and total device memory in bytes.
LATENT_CUDA_API int latent_cuda_device_info(int device, char* name, int name_capacity, int* major, int* minor,
                            int* multiprocessors, long long* free_bytes, long long* total_bytes);

/// Copies `n × d` host rows to device `device` and computes their norms there (the quantity the
/// metric needs: 1/|x| for cosine, |x|² for L2). On success *handle holds an opaque handle owning
/// the device memory until latent_cuda_db_free. A row with a non-finite value or squared norm, or
/// (cosine) a zero row, fails with LATENT_CUDA_E_BAD_ROW and the lowest such index in *bad_row
/// (otherwise *bad_row = -1).
/// n may be 0. `rows` may be pageable memory.
LATENT_CUDA_API int latent_cuda_db_create(int device, const float* rows, long long n, int d, int metric,
                          long long* handle, long long* bad_row);

/// Frees the device memory, pinned buffers and stream of a handle. Exactly once per handle;
/// 0 is accepted and ignored.
LATENT_CUDA_API int latent_cuda_db_free(long long handle);

/// Device bytes held by a handle (rows, norms and current scratch buffers).
LATENT_CUDA_API int latent_cuda_db_device_bytes(long long handle, long long* bytes);

/// Scores of `q` queries against database rows [from_row, to_row), written row-major to host
/// `out` (`q × (to_row - from_row)` floats). Queries are streamed in batches through pinned buffers.
LATENT_CUDA_API int latent_cuda_distances(long long handle, const float* queries, int q, int d,
                          long long from_row, long long to_row, float* out);

/// Exact top-k of each query over all rows (`subset == NULL`) or over the `subset_count` rows of
/// `subset` (strictly ascending database row indices). count = min(k, candidates) results per
/// query are written best first to `out_ids` / `out_scores` (`q × count`, row-major), ties broken
/// by the lower row index; *out_count receives count. Requires 1 ≤ k, and count ≤ LATENT_CUDA_MAX_K.
/// Cosine queries must be non-zero (the caller checks; a zero query scores 0 against every row).
LATENT_CUDA_API int latent_cuda_topk(long long handle, const float* queries, int q, int d, int k,
                     const long long* subset, long long subset_count,
                     long long* out_ids, float* out_scores, int* out_count);

#ifdef __cplusplus
}
#endif

#endif  // LATENT_CUDA_H
