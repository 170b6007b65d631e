/* The C API of liblatentcuda, declared once. latent_cuda.h declares these functions from the lists,
 * the JNI loader (native/jni/latent_cuda_loader.h) builds its dlsym table, its binding and its
 * forwarders from them, and a test (CudaNativeTest) checks that the Java binding declares every
 * entry. A new entry point is one line here plus its definition in api.cu and its Java declaration.
 *
 * Status codes: every function of LATENT_CUDA_CALLS returns 0 on success, a positive cudaError_t for a
 * CUDA failure, or a negative LATENT_CUDA_E_* (latent_cuda.h). Matrices are row-major float32.
 */
#ifndef LATENT_CUDA_API_H
#define LATENT_CUDA_API_H

/* Functions that cannot fail: X(return type, name, (parameters), (arguments)). */
#define LATENT_CUDA_INFO(X)                                  \
  /* LATENT_CUDA_ABI_VERSION as compiled into the library */ \
  X(int, abi_version, (void), ())                            \
  /* Short text for a status code; never null */             \
  X(const char*, error_string, (int code), (code))           \
  /* Detail of the last failure on this thread, or "" */     \
  X(const char*, last_error, (void), ())

/* Functions returning a status: X(name, (parameters), (arguments)). */
#define LATENT_CUDA_CALLS(X)                                                                                      \
  /* CUDA runtime version of the library and the driver's (0 without a driver) */                                 \
  X(versions, (int* runtime_version, int* driver_version), (runtime_version, driver_version))                    \
  /* Number of devices; 35 (insufficient driver) or 100 (no device) without one */                                \
  X(device_count, (int* count), (count))                                                                          \
  /* Name, compute capability, multiprocessors, free and total memory of a device */                             \
  X(device_info,                                                                                                  \
    (int device, char* name, int name_capacity, int* major, int* minor, int* multiprocessors,                      \
     long long* free_bytes, long long* total_bytes),                                                              \
    (device, name, name_capacity, major, minor, multiprocessors, free_bytes, total_bytes))                        \
  /* Copies n x d rows to the device and computes their norm terms there; a row breaking the vector rule          \
     fails with LATENT_CUDA_E_BAD_ROW and the lowest such row in *bad_row. *handle owns the memory. */           \
  X(db_create, (int device, const float* rows, long long n, int d, int metric, long long* handle, long long* bad_row), \
    (device, rows, n, d, metric, handle, bad_row))                                                                \
  /* Appends n rows (checked like db_create; on failure nothing changes); only the new rows are copied */         \
  X(db_append, (long long handle, const float* rows, long long n, long long* bad_row), (handle, rows, n, bad_row)) \
  /* After rows were removed by moving later rows into the holes: keeps the first new_n rows, copies the rows     \
     listed in `changed` (strictly ascending, each < new_n) from `rows` (the host matrix, new_n x d) and norms     \
     them again; every other row stays as it is. */                                                              \
  X(db_refresh, (long long handle, const float* rows, const long long* changed, long long count, long long new_n), \
    (handle, rows, changed, count, new_n))                                                                        \
  /* Frees a handle, exactly once; 0 is ignored */                                                                \
  X(db_free, (long long handle), (handle))                                                                        \
  /* Device bytes held by a handle */                                                                             \
  X(db_device_bytes, (long long handle, long long* bytes), (handle, bytes))                                       \
  /* Caps the handle's scratch (device memory beyond its rows and norm terms; range hits excepted, which         \
     max_results bounds) at bytes >= LATENT_CUDA_MIN_SCRATCH: calls split their queries and rows to fit, or      \
     fail with LATENT_CUDA_E_SCRATCH when one query cannot. Frees the scratch held now. */                      \
  X(db_set_scratch_limit, (long long handle, long long bytes), (handle, bytes))                                   \
  /* Device bytes of the handle's scratch now */                                                                  \
  X(db_scratch_bytes, (long long handle, long long* bytes), (handle, bytes))                                      \
  /* Scores of q queries against rows [from_row, to_row) into out (q x (to_row - from_row)) */                    \
  X(distances, (long long handle, const float* queries, int q, int d, long long from_row, long long to_row,       \
                float* out, long long* bad_query),                                                                \
    (handle, queries, q, d, from_row, to_row, out, bad_query))                                                    \
  /* Exact top-k over all rows or a strictly ascending subset; *out_count = min(k, candidates) */                 \
  X(topk, (long long handle, const float* queries, int q, int d, int k, const long long* subset,                  \
           long long subset_count, long long* out_ids, float* out_scores, int* out_count, long long* bad_query),   \
    (handle, queries, q, d, k, subset, subset_count, out_ids, out_scores, out_count, bad_query))                  \
  /* Exact top-k over one candidate list per query (CSR: offsets[q + 1], rows strictly ascending per list);       \
     count results per query, padded with id -1 and score NaN */                                                  \
  X(topk_lists, (long long handle, const float* queries, int q, int d, int count, const long long* offsets,        \
                 const long long* rows, long long* out_ids, float* out_scores, long long* bad_query),             \
    (handle, queries, q, d, count, offsets, rows, out_ids, out_scores, bad_query))                                \
  /* Range search filtered on the device: *result holds the hits (take them with range_fetch), *total their       \
     number; more than max_results gives LATENT_CUDA_E_TOO_MANY with a query in *over_query */                   \
  X(range, (long long handle, const float* queries, int q, int d, float radius, long long max_results,            \
            const long long* subset, long long subset_count, long long* result, long long* total,                 \
            long long* over_query, long long* bad_query),                                                         \
    (handle, queries, q, d, radius, max_results, subset, subset_count, result, total, over_query, bad_query))     \
  /* Copies a range result (CSR offsets[q + 1], rows[total], scores[total], each query's hits by row) and frees it */ \
  X(range_fetch, (long long result, long long* offsets, long long* rows, float* scores), (result, offsets, rows, scores)) \
  /* Frees a range result that is not fetched; 0 is ignored */                                                    \
  X(range_free, (long long result), (result))                                                                     \
  /* Device memory for callers that hold data on the GPU: *address gets `bytes` on `device` (free it with     \
     latent_cuda_device_free, exactly once; 0 is ignored) */                                                      \
  X(device_alloc, (int device, long long bytes, long long* address), (device, bytes, address))                    \
  X(device_free, (long long address), (address))                                                                  \
  /* Copies `bytes` between host memory and device memory at `address` (to_device != 0: host to device) */        \
  X(device_copy, (long long address, void* host, long long bytes, int to_device), (address, host, bytes, to_device)) \
  /* Top-k over all rows of q queries pooled on the device from token embeddings already in device memory at         \
     `tokens` (q x length x h floats, h = the handle's d): LATENT_POOL_MEAN over the tokens whose mask               \
     (host, q x length, nonzero = kept) is set, or LATENT_POOL_FIRST; L2-normalised when normalize != 0;             \
     bit for bit the host encoder's pooling. Results, counts and bad queries as latent_cuda_topk. */                 \
  X(topk_pooled, (long long handle, long long tokens, const long long* mask, int q, int length, int h,            \
                  int pooling, int normalize, int k, long long* out_ids, float* out_scores, int* out_count,         \
                  long long* bad_query),                                                                             \
    (handle, tokens, mask, q, length, h, pooling, normalize, k, out_ids, out_scores, out_count, bad_query))       \
  /* Nearest target row of every point row (both handles resident, same d and metric) */                          \
  X(assign, (long long points, long long targets, int* labels, float* scores), (points, targets, labels, scores)) \
  /* Per-label float64 sums (k x d) and counts of the point rows; label -1 skips a row; deterministic */           \
  X(accumulate, (long long points, const int* labels, int k, double* sums, long long* counts),                    \
    (points, labels, k, sums, counts))                                                                            \
  /* Gram matrix (mean null) or scatter matrix of the point rows, d x d float64; deterministic */                  \
  X(gram, (long long points, const double* mean, double* out), (points, mean, out))                               \
  /* 8-bit codes (Java's Sq8): a row is stride = 4 * ceil(d / 4) unsigned bytes, zero past d, a query stride     \
     signed bytes (quantised, zero past d) with 3 floats of terms (step b, offset o, squared norm |q|^2). A row's  \
     score: dot = (float) S * b + o with S the exact int32 sum of the byte products; squared L2:                   \
     max(0, (|q|^2 + |x|^2) - 2 dot) with |x|^2 the row's norm. Handles of codes take only the sq8 calls and     \
     db_free, db_device_bytes, db_set_scratch_limit, db_scratch_bytes; the other calls refuse them.             \
     An empty handle of codes for dimension d (1 to 65536) with room for `capacity` rows */                        \
  X(sq8_create, (int device, int d, int metric, long long capacity, long long* handle),                           \
    (device, d, metric, capacity, handle))                                                                        \
  /* Room for at least `rows` rows, keeping the rows held */                                                       \
  X(sq8_reserve, (long long handle, long long rows), (handle, rows))                                              \
  /* Appends n rows of codes (n x stride bytes) and, under squared L2, their norms (n floats; else ignored);      \
     the room grows by doubling when short */                                                                     \
  X(sq8_append, (long long handle, const unsigned char* codes, const float* norms, long long n),                  \
    (handle, codes, norms, n))                                                                                    \
  /* After rows were removed by moving later rows into the holes: writes the codes (and norms) of the `count`     \
     rows in `changed` (strictly ascending, each < new_n; codes holds count rows, in that order), then keeps      \
     the first new_n rows */                                                                                      \
  X(sq8_refresh, (long long handle, const unsigned char* codes, const float* norms, const long long* changed,      \
                  long long count, long long new_n),                                                              \
    (handle, codes, norms, changed, count, new_n))                                                                \
  /* Approximate top-k of q quantised queries over all rows, best first, ties to the lower row;                  \
     *out_count = min(k, rows) results per query */                                                              \
  X(sq8_topk, (long long handle, const signed char* queries, const float* terms, int q, int k, long long* out_ids, \
               float* out_scores, int* out_count),                                                                \
    (handle, queries, terms, q, k, out_ids, out_scores, out_count))                                               \
  /* The same over one candidate list per query (CSR: offsets[q + 1], rows strictly ascending per list);          \
     count results per query, padded with id -1 and score NaN */                                                  \
  X(sq8_topk_lists, (long long handle, const signed char* queries, const float* terms, int q, int count,           \
                     const long long* offsets, const long long* rows, long long* out_ids, float* out_scores),     \
    (handle, queries, terms, q, count, offsets, rows, out_ids, out_scores))                                       \
  /* Scores of q quantised queries against rows [from_row, to_row) into out (q x (to_row - from_row)) */          \
  X(sq8_distances, (long long handle, const signed char* queries, const float* terms, int q, long long from_row,  \
                    long long to_row, float* out),                                                                \
    (handle, queries, terms, q, from_row, to_row, out))

#endif
