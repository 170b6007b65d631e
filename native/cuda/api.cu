// The C API of liblatentcuda (latent_cuda.h, listed in latent_cuda_api.h): argument checks, locking,
// and the mapping of failures to status codes. The work happens in database.cu, search.cu and cluster.cu.
#include <algorithm>
#include <cstdio>
#include <limits>
#include <memory>
#include <mutex>
#include <new>

#include "latent_cuda.h"
#include "latent_internal.h"

using latent::Database;
using latent::fail;

namespace {

/// Runs `f` (returning cudaError_t) and turns a host allocation failure into LATENT_CUDA_E_HOST_ALLOC.
template <typename F>
int guarded(const char* call, F f) {
  try {
    return static_cast<int>(f());
  } catch (const std::bad_alloc&) {
    return fail(LATENT_CUDA_E_HOST_ALLOC, "%s: host allocation failed", call);
  }
}

/// guarded() for a call on `db` that may end with a Latent-level status (LATENT_CUDA_E_SCRATCH).
template <typename F>
int guardedOn(Database& db, const char* call, F f) {
  db.status = 0;
  const int code = guarded(call, f);
  return code == 0 ? db.status : code;
}

bool validMetric(int metric) {
  return metric == LATENT_METRIC_INNER_PRODUCT || metric == LATENT_METRIC_COSINE || metric == LATENT_METRIC_L2;
}

/// A strictly ascending list of rows in [0, n); returns false (with the detail recorded) otherwise.
bool ascendingRows(const char* call, const long long* rows, long long count, long long n, long long list) {
  for (long long i = 0; i < count; ++i) {
    if (rows[i] < 0 || rows[i] >= n || (i > 0 && rows[i] <= rows[i - 1])) {
      fail(LATENT_CUDA_E_INVALID, "%s: list %lld: row %lld at %lld is out of [0, %lld) or not strictly ascending", call,
           list, rows[i], i, n);
      return false;
    }
  }
  return true;
}

/// Whether `db` is the kind of handle `call` takes (8-bit codes, or float rows); records the detail otherwise.
bool takes(const Database* db, bool codes, const char* call) {
  if ((db->words > 0) == codes) {
    return true;
  }
  fail(LATENT_CUDA_E_INVALID, "%s: a handle of %s", call,
       codes ? "float rows, not of 8-bit codes" : "8-bit codes, not of float rows");
  return false;
}

}  // namespace

extern "C" {

int latent_cuda_versions(int* runtime_version, int* driver_version) {
  if (runtime_version == nullptr || driver_version == nullptr) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_versions: null output");
  }
  *runtime_version = 0;
  *driver_version = 0;
  cudaError_t e = cudaRuntimeGetVersion(runtime_version);
  if (e == cudaSuccess) {
    e = cudaDriverGetVersion(driver_version);
  }
  if (e != cudaSuccess) {
    latent::recordError(e, "cudaRuntimeGetVersion/cudaDriverGetVersion", __FILE__, __LINE__);
    cudaGetLastError();
  }
  return static_cast<int>(e);
}

int latent_cuda_device_count(int* count) {
  if (count == nullptr) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_device_count: null output");
  }
  *count = 0;
  int c = 0;
  const cudaError_t e = cudaGetDeviceCount(&c);
  if (e != cudaSuccess) {
    latent::recordError(e, "cudaGetDeviceCount", __FILE__, __LINE__);
    cudaGetLastError();  // not sticky, but leave nothing pending
    return static_cast<int>(e);
  }
  *count = c;
  return 0;
}

int latent_cuda_device_info(int device, char* name, int name_capacity, int* major, int* minor,
                            int* multiprocessors, long long* free_bytes, long long* total_bytes) {
  if (name == nullptr || name_capacity <= 0 || major == nullptr || minor == nullptr ||
      multiprocessors == nullptr || free_bytes == nullptr || total_bytes == nullptr) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_device_info: null output");
  }
  name[0] = '\0';
  auto query = [&]() -> cudaError_t {
    cudaDeviceProp prop;
    LATENT_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    std::snprintf(name, static_cast<size_t>(name_capacity), "%s", prop.name);
    *major = prop.major;
    *minor = prop.minor;
    *multiprocessors = prop.multiProcessorCount;
    LATENT_CUDA_CHECK(cudaSetDevice(device));
    size_t freeMem = 0, totalMem = 0;
    LATENT_CUDA_CHECK(cudaMemGetInfo(&freeMem, &totalMem));
    *free_bytes = static_cast<long long>(freeMem);
    *total_bytes = static_cast<long long>(totalMem);
    return cudaSuccess;
  };
  return static_cast<int>(query());
}

int latent_cuda_db_create(int device, const float* rows, long long n, int d, int metric, long long* handle,
                          long long* bad_row) {
  if (handle == nullptr || bad_row == nullptr) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_db_create: null output");
  }
  *handle = 0;
  *bad_row = -1;
  if (n < 0 || d <= 0 || (n > 0 && rows == nullptr) || !validMetric(metric)) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_db_create: n=%lld, d=%d, rows=%p, metric=%d", n, d,
                static_cast<const void*>(rows), metric);
  }
  if (n > latent::kMaxRows) {
    return fail(LATENT_CUDA_E_TOO_MANY_ROWS, "latent_cuda_db_create: %lld rows, at most %lld", n, latent::kMaxRows);
  }
  Database* created = nullptr;
  const int code = guarded("latent_cuda_db_create",
                           [&] { return latent::createDatabase(device, rows, n, d, metric, created, bad_row); });
  std::unique_ptr<Database> db(created);
  if (code != 0) {
    return code;   // db (if any) frees what was allocated
  }
  if (*bad_row >= 0) {
    return fail(LATENT_CUDA_E_BAD_ROW, "database row %lld breaks the vector rule", *bad_row);
  }
  *handle = static_cast<long long>(reinterpret_cast<intptr_t>(db.release()));
  return 0;
}

int latent_cuda_db_append(long long handle, const float* rows, long long n, long long* bad_row) {
  if (handle == 0 || bad_row == nullptr || n < 0 || (n > 0 && rows == nullptr)) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_db_append: handle %lld, n=%lld", handle, n);
  }
  *bad_row = -1;
  Database* db = latent::fromHandle(handle);
  if (!takes(db, false, "latent_cuda_db_append")) {
    return LATENT_CUDA_E_INVALID;
  }
  std::lock_guard<std::mutex> lock(db->mutex);
  if (db->n + n > latent::kMaxRows) {
    return fail(LATENT_CUDA_E_TOO_MANY_ROWS, "latent_cuda_db_append: %lld rows in all, at most %lld", db->n + n,
                latent::kMaxRows);
  }
  if (n == 0) {
    return 0;
  }
  const int code = guarded("latent_cuda_db_append", [&] { return latent::appendRows(*db, rows, n, bad_row); });
  if (code == 0 && *bad_row >= 0) {
    return fail(LATENT_CUDA_E_BAD_ROW, "database row %lld breaks the vector rule", *bad_row);
  }
  return code;
}

int latent_cuda_db_refresh(long long handle, const float* rows, const long long* changed, long long count,
                          long long new_n) {
  if (handle == 0 || count < 0 || (count > 0 && (rows == nullptr || changed == nullptr))) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_db_refresh: handle %lld, %lld changed rows", handle, count);
  }
  Database* db = latent::fromHandle(handle);
  if (!takes(db, false, "latent_cuda_db_refresh")) {
    return LATENT_CUDA_E_INVALID;
  }
  std::lock_guard<std::mutex> lock(db->mutex);
  if (new_n < 0 || new_n > db->n) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_db_refresh: %lld rows kept of %lld", new_n, db->n);
  }
  if (count > 0 && !ascendingRows("latent_cuda_db_refresh", changed, count, new_n, 0)) {
    return LATENT_CUDA_E_INVALID;
  }
  return guarded("latent_cuda_db_refresh", [&] { return latent::refreshRows(*db, rows, changed, count, new_n); });
}

int latent_cuda_db_free(long long handle) {
  if (handle == 0) {
    return 0;
  }
  Database* db = latent::fromHandle(handle);
  const cudaError_t e = db->release();
  delete db;
  return static_cast<int>(e);
}

int latent_cuda_db_device_bytes(long long handle, long long* bytes) {
  if (handle == 0 || bytes == nullptr) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_db_device_bytes: null handle or output");
  }
  Database* db = latent::fromHandle(handle);
  std::lock_guard<std::mutex> lock(db->mutex);
  *bytes = db->residentBytes() + db->scratchBytes();
  return 0;
}

int latent_cuda_db_set_scratch_limit(long long handle, long long bytes) {
  if (handle == 0 || bytes < LATENT_CUDA_MIN_SCRATCH) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_db_set_scratch_limit: null handle or %lld bytes (at least %lld)",
                bytes, LATENT_CUDA_MIN_SCRATCH);
  }
  Database* db = latent::fromHandle(handle);
  std::lock_guard<std::mutex> lock(db->mutex);
  db->scratchLimit = bytes;
  return guarded("latent_cuda_db_set_scratch_limit", [&] {
    LATENT_CUDA_CHECK(cudaSetDevice(db->device));
    return db->releaseScratch();
  });
}

int latent_cuda_db_scratch_bytes(long long handle, long long* bytes) {
  if (handle == 0 || bytes == nullptr) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_db_scratch_bytes: null handle or output");
  }
  Database* db = latent::fromHandle(handle);
  std::lock_guard<std::mutex> lock(db->mutex);
  *bytes = db->scratchBytes();
  return 0;
}

int latent_cuda_distances(long long handle, const float* queries, int q, int d, long long from_row, long long to_row,
                          float* out, long long* bad_query) {
  if (handle == 0 || bad_query == nullptr) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_distances: null handle or output");
  }
  *bad_query = -1;
  Database* db = latent::fromHandle(handle);
  if (!takes(db, false, "latent_cuda_distances")) {
    return LATENT_CUDA_E_INVALID;
  }
  std::lock_guard<std::mutex> lock(db->mutex);
  if (q < 0 || d != db->d || from_row < 0 || to_row < from_row || to_row > db->n ||
      (q > 0 && (queries == nullptr || out == nullptr))) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_distances: q=%d, d=%d (database %d), rows [%lld, %lld) of %lld", q,
                d, db->d, from_row, to_row, db->n);
  }
  if (q == 0 || to_row == from_row) {
    return 0;
  }
  const int code = guardedOn(*db, "latent_cuda_distances",
                           [&] { return latent::distances(*db, queries, q, from_row, to_row, out, bad_query); });
  if (code == 0 && *bad_query >= 0) {
    return fail(LATENT_CUDA_E_BAD_QUERY, "query row %lld breaks the vector rule", *bad_query);
  }
  return code;
}

int latent_cuda_topk(long long handle, const float* queries, int q, int d, int k, const long long* subset,
                     long long subset_count, long long* out_ids, float* out_scores, int* out_count,
                     long long* bad_query) {
  if (handle == 0 || out_count == nullptr || bad_query == nullptr) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_topk: null handle or output");
  }
  *out_count = 0;
  *bad_query = -1;
  Database* db = latent::fromHandle(handle);
  if (!takes(db, false, "latent_cuda_topk")) {
    return LATENT_CUDA_E_INVALID;
  }
  std::lock_guard<std::mutex> lock(db->mutex);
  if (q < 0 || d != db->d || k < 1 || (q > 0 && (queries == nullptr || out_ids == nullptr || out_scores == nullptr))) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_topk: q=%d, d=%d (database %d), k=%d", q, d, db->d, k);
  }
  long long candidates = db->n;
  if (subset != nullptr) {
    if (subset_count < 0) {
      return fail(LATENT_CUDA_E_INVALID, "latent_cuda_topk: subset_count=%lld", subset_count);
    }
    if (!ascendingRows("latent_cuda_topk", subset, subset_count, db->n, 0)) {
      return LATENT_CUDA_E_INVALID;
    }
    candidates = subset_count;
  }
  const long long count = std::min<long long>(k, candidates);
  if (count > LATENT_CUDA_MAX_K) {
    return fail(LATENT_CUDA_E_K_TOO_LARGE, "latent_cuda_topk: k=%d (candidates %lld), at most %d", k, candidates,
                LATENT_CUDA_MAX_K);
  }
  *out_count = static_cast<int>(count);
  if (q == 0 || count == 0) {
    return 0;
  }
  const int code = guardedOn(*db, "latent_cuda_topk", [&] {
    return latent::topk(*db, queries, q, static_cast<int>(count), subset, candidates, out_ids, out_scores, bad_query);
  });
  if (code == 0 && *bad_query >= 0) {
    return fail(LATENT_CUDA_E_BAD_QUERY, "query row %lld breaks the vector rule", *bad_query);
  }
  return code;
}

int latent_cuda_device_alloc(int device, long long bytes, long long* address) {
  if (address == nullptr || bytes < 1) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_device_alloc: %lld bytes, output %p", bytes,
                static_cast<void*>(address));
  }
  *address = 0;
  return guarded("latent_cuda_device_alloc", [&] {
    LATENT_CUDA_CHECK(cudaSetDevice(device));
    void* p = nullptr;
    LATENT_CUDA_CHECK(cudaMalloc(&p, static_cast<size_t>(bytes)));
    *address = static_cast<long long>(reinterpret_cast<intptr_t>(p));
    return cudaSuccess;
  });
}

int latent_cuda_device_free(long long address) {
  if (address == 0) {
    return 0;
  }
  return guarded("latent_cuda_device_free", [&] {
    LATENT_CUDA_CHECK(cudaFree(reinterpret_cast<void*>(static_cast<intptr_t>(address))));
    return cudaSuccess;
  });
}

int latent_cuda_device_copy(long long address, void* host, long long bytes, int to_device) {
  if (address == 0 || host == nullptr || bytes < 0) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_device_copy: address %lld, host %p, %lld bytes", address, host,
                bytes);
  }
  return guarded("latent_cuda_device_copy", [&] {
    void* device = reinterpret_cast<void*>(static_cast<intptr_t>(address));
    LATENT_CUDA_CHECK(to_device != 0 ? cudaMemcpy(device, host, static_cast<size_t>(bytes), cudaMemcpyHostToDevice)
                                     : cudaMemcpy(host, device, static_cast<size_t>(bytes), cudaMemcpyDeviceToHost));
    return cudaSuccess;
  });
}

int latent_cuda_topk_pooled(long long handle, long long tokens, const long long* mask, int q, int length, int h,
                            int pooling, int normalize, int k, long long* out_ids, float* out_scores, int* out_count,
                            long long* bad_query) {
  const int t = length;
  if (handle == 0 || out_count == nullptr || bad_query == nullptr) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_topk_pooled: null handle or output");
  }
  *out_count = 0;
  *bad_query = -1;
  Database* db = latent::fromHandle(handle);
  if (!takes(db, false, "latent_cuda_topk_pooled")) {
    return LATENT_CUDA_E_INVALID;
  }
  std::lock_guard<std::mutex> lock(db->mutex);
  const bool mean = pooling == LATENT_POOL_MEAN;
  if (q < 0 || t < 1 || h != db->d || k < 1 || (pooling != LATENT_POOL_MEAN && pooling != LATENT_POOL_FIRST) ||
      (q > 0 && (tokens == 0 || out_ids == nullptr || out_scores == nullptr || (mean && mask == nullptr)))) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_topk_pooled: q=%d, t=%d, h=%d (database %d), k=%d, pooling %d", q,
                t, h, db->d, k, pooling);
  }
  const long long count = std::min<long long>(k, db->n);
  if (count > LATENT_CUDA_MAX_K) {
    return fail(LATENT_CUDA_E_K_TOO_LARGE, "latent_cuda_topk_pooled: k=%d (rows %lld), at most %d", k, db->n,
                LATENT_CUDA_MAX_K);
  }
  *out_count = static_cast<int>(count);
  if (q == 0 || count == 0) {
    return 0;
  }
  const float* d = reinterpret_cast<const float*>(static_cast<intptr_t>(tokens));
  const int code = guardedOn(*db, "latent_cuda_topk_pooled", [&] {
    return latent::topkPooled(*db, d, mask, q, t, pooling, normalize, static_cast<int>(count), out_ids, out_scores,
                              bad_query);
  });
  if (code == 0 && *bad_query >= 0) {
    return fail(LATENT_CUDA_E_BAD_QUERY, "pooled query row %lld breaks the vector rule", *bad_query);
  }
  return code;
}

int latent_cuda_topk_lists(long long handle, const float* queries, int q, int d, int count, const long long* offsets,
                           const long long* rows, long long* out_ids, float* out_scores, long long* bad_query) {
  if (handle == 0 || bad_query == nullptr) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_topk_lists: null handle or output");
  }
  *bad_query = -1;
  Database* db = latent::fromHandle(handle);
  if (!takes(db, false, "latent_cuda_topk_lists")) {
    return LATENT_CUDA_E_INVALID;
  }
  std::lock_guard<std::mutex> lock(db->mutex);
  if (q < 0 || d != db->d || count < 0 || count > LATENT_CUDA_MAX_K ||
      (q > 0 && (queries == nullptr || offsets == nullptr || out_ids == nullptr || out_scores == nullptr))) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_topk_lists: q=%d, d=%d (database %d), count=%d", q, d, db->d, count);
  }
  if (q > 0 && offsets[0] != 0) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_topk_lists: offsets[0]=%lld", offsets[0]);
  }
  for (long long i = 0; i < q; ++i) {
    if (offsets[i + 1] < offsets[i] ||
        !ascendingRows("latent_cuda_topk_lists", rows + offsets[i], offsets[i + 1] - offsets[i], db->n, i)) {
      return fail(LATENT_CUDA_E_INVALID, "latent_cuda_topk_lists: bad list for query %lld", i);
    }
  }
  if (q == 0 || count == 0) {
    return 0;
  }
  const int code = guardedOn(*db, "latent_cuda_topk_lists", [&] {
    return latent::topkLists(*db, queries, q, count, offsets, rows, out_ids, out_scores, bad_query);
  });
  if (code == 0 && *bad_query >= 0) {
    return fail(LATENT_CUDA_E_BAD_QUERY, "query row %lld breaks the vector rule", *bad_query);
  }
  return code;
}

int latent_cuda_range(long long handle, const float* queries, int q, int d, float radius, long long max_results,
                      const long long* subset, long long subset_count, long long* result, long long* total,
                      long long* over_query, long long* bad_query) {
  if (handle == 0 || result == nullptr || total == nullptr || over_query == nullptr || bad_query == nullptr) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_range: null handle or output");
  }
  *result = 0;
  *total = 0;
  *over_query = -1;
  *bad_query = -1;
  Database* db = latent::fromHandle(handle);
  if (!takes(db, false, "latent_cuda_range")) {
    return LATENT_CUDA_E_INVALID;
  }
  std::lock_guard<std::mutex> lock(db->mutex);
  if (q < 0 || d != db->d || radius != radius || max_results < 0 || (q > 0 && queries == nullptr) ||
      (subset != nullptr && subset_count < 0)) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_range: q=%d, d=%d (database %d), max_results=%lld", q, d, db->d,
                max_results);
  }
  long long candidates = db->n;
  if (subset != nullptr) {
    if (!ascendingRows("latent_cuda_range", subset, subset_count, db->n, 0)) {
      return LATENT_CUDA_E_INVALID;
    }
    candidates = subset_count;
  }
  auto out = std::make_unique<latent::RangeResult>();
  int status = 0;
  const int code = guarded("latent_cuda_range", [&] {
    return latent::range(*db, queries, q, radius, max_results, subset, candidates, *out, over_query, bad_query, &status);
  });
  if (code != 0) {
    return code;
  }
  if (*bad_query >= 0) {
    return fail(LATENT_CUDA_E_BAD_QUERY, "query row %lld breaks the vector rule", *bad_query);
  }
  if (status != 0) {
    return fail(status, "latent_cuda_range: more than %lld hits (batch starting at query %lld)", max_results, *over_query);
  }
  *total = static_cast<long long>(out->rows.size());
  *result = static_cast<long long>(reinterpret_cast<intptr_t>(out.release()));
  return 0;
}

int latent_cuda_range_fetch(long long result, long long* offsets, long long* rows, float* scores) {
  if (result == 0 || offsets == nullptr) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_range_fetch: null result or output");
  }
  std::unique_ptr<latent::RangeResult> r(reinterpret_cast<latent::RangeResult*>(static_cast<intptr_t>(result)));
  std::copy(r->offsets.begin(), r->offsets.end(), offsets);
  if (!r->rows.empty()) {
    std::copy(r->rows.begin(), r->rows.end(), rows);
    std::copy(r->scores.begin(), r->scores.end(), scores);
  }
  return 0;
}

int latent_cuda_range_free(long long result) {
  delete reinterpret_cast<latent::RangeResult*>(static_cast<intptr_t>(result));
  return 0;
}

int latent_cuda_assign(long long points, long long targets, int* labels, float* scores) {
  if (points == 0 || targets == 0) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_assign: null handle");
  }
  Database* p = latent::fromHandle(points);
  Database* t = latent::fromHandle(targets);
  if (!takes(p, false, "latent_cuda_assign") || !takes(t, false, "latent_cuda_assign")) {
    return LATENT_CUDA_E_INVALID;
  }
  // Two handles: lock in address order (the same handle twice is locked once).
  std::unique_lock<std::mutex> first(p < t ? p->mutex : t->mutex);
  std::unique_lock<std::mutex> second;
  if (p != t) {
    second = std::unique_lock<std::mutex>(p < t ? t->mutex : p->mutex);
  }
  if (p->d != t->d || p->metric != t->metric || p->device != t->device ||
      (p->n > 0 && (labels == nullptr || scores == nullptr))) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_assign: points d=%d metric %d device %d, targets d=%d metric %d device %d",
                p->d, p->metric, p->device, t->d, t->metric, t->device);
  }
  if (p->n == 0) {
    return 0;
  }
  if (t->n == 0) {
    for (long long i = 0; i < p->n; ++i) {
      labels[i] = -1;
      scores[i] = std::numeric_limits<float>::quiet_NaN();
    }
    return 0;
  }
  return guardedOn(*t, "latent_cuda_assign", [&] { return latent::assign(*p, *t, labels, scores); });
}

int latent_cuda_accumulate(long long points, const int* labels, int k, double* sums, long long* counts) {
  if (points == 0 || k < 1 || sums == nullptr || counts == nullptr) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_accumulate: handle %lld, k=%d", points, k);
  }
  Database* p = latent::fromHandle(points);
  if (!takes(p, false, "latent_cuda_accumulate")) {
    return LATENT_CUDA_E_INVALID;
  }
  std::lock_guard<std::mutex> lock(p->mutex);
  if (p->n > 0 && labels == nullptr) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_accumulate: null labels");
  }
  for (long long i = 0; i < p->n; ++i) {
    if (labels[i] < -1 || labels[i] >= k) {
      return fail(LATENT_CUDA_E_INVALID, "latent_cuda_accumulate: label %d of point %lld outside [0, %d)", labels[i], i, k);
    }
  }
  return guarded("latent_cuda_accumulate", [&] { return latent::accumulate(*p, labels, k, sums, counts); });
}

int latent_cuda_gram(long long points, const double* mean, double* out) {
  if (points == 0 || out == nullptr) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_gram: null handle or output");
  }
  Database* p = latent::fromHandle(points);
  if (!takes(p, false, "latent_cuda_gram")) {
    return LATENT_CUDA_E_INVALID;
  }
  std::lock_guard<std::mutex> lock(p->mutex);
  return guarded("latent_cuda_gram", [&] { return latent::gram(*p, mean, out); });
}

// ---- 8-bit codes (sq8.cu) ----

int latent_cuda_sq8_create(int device, int d, int metric, long long capacity, long long* handle) {
  if (handle == nullptr) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_sq8_create: null output");
  }
  *handle = 0;
  if (d <= 0 || d > latent::kSq8MaxDimension || !validMetric(metric) || capacity < 0) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_sq8_create: d=%d (1 to %d), metric=%d, capacity=%lld", d,
                latent::kSq8MaxDimension, metric, capacity);
  }
  if (capacity > latent::kMaxRows) {
    return fail(LATENT_CUDA_E_TOO_MANY_ROWS, "latent_cuda_sq8_create: room for %lld rows, at most %lld", capacity,
                latent::kMaxRows);
  }
  Database* created = nullptr;
  const int code = guarded("latent_cuda_sq8_create",
                           [&] { return latent::createCodes(device, d, metric, capacity, created); });
  std::unique_ptr<Database> db(created);
  if (code != 0) {
    return code;
  }
  *handle = static_cast<long long>(reinterpret_cast<intptr_t>(db.release()));
  return 0;
}

int latent_cuda_sq8_reserve(long long handle, long long rows) {
  if (handle == 0 || rows < 0) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_sq8_reserve: handle %lld, %lld rows", handle, rows);
  }
  Database* db = latent::fromHandle(handle);
  if (!takes(db, true, "latent_cuda_sq8_reserve")) {
    return LATENT_CUDA_E_INVALID;
  }
  std::lock_guard<std::mutex> lock(db->mutex);
  if (rows > latent::kMaxRows) {
    return fail(LATENT_CUDA_E_TOO_MANY_ROWS, "latent_cuda_sq8_reserve: %lld rows, at most %lld", rows, latent::kMaxRows);
  }
  return guarded("latent_cuda_sq8_reserve", [&] { return latent::reserveCodes(*db, rows); });
}

int latent_cuda_sq8_append(long long handle, const unsigned char* codes, const float* norms, long long n) {
  if (handle == 0 || n < 0 || (n > 0 && codes == nullptr)) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_sq8_append: handle %lld, n=%lld, codes %p", handle, n,
                static_cast<const void*>(codes));
  }
  Database* db = latent::fromHandle(handle);
  if (!takes(db, true, "latent_cuda_sq8_append")) {
    return LATENT_CUDA_E_INVALID;
  }
  std::lock_guard<std::mutex> lock(db->mutex);
  if (n > 0 && db->metric == LATENT_METRIC_L2 && norms == nullptr) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_sq8_append: squared L2 codes need their norms");
  }
  if (db->n + n > latent::kMaxRows) {
    return fail(LATENT_CUDA_E_TOO_MANY_ROWS, "latent_cuda_sq8_append: %lld rows in all, at most %lld", db->n + n,
                latent::kMaxRows);
  }
  if (n == 0) {
    return 0;
  }
  return guarded("latent_cuda_sq8_append", [&] { return latent::appendCodes(*db, codes, norms, n); });
}

int latent_cuda_sq8_refresh(long long handle, const unsigned char* codes, const float* norms, const long long* changed,
                            long long count, long long new_n) {
  if (handle == 0 || count < 0 || (count > 0 && (codes == nullptr || changed == nullptr))) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_sq8_refresh: handle %lld, %lld changed rows", handle, count);
  }
  Database* db = latent::fromHandle(handle);
  if (!takes(db, true, "latent_cuda_sq8_refresh")) {
    return LATENT_CUDA_E_INVALID;
  }
  std::lock_guard<std::mutex> lock(db->mutex);
  if (new_n < 0 || new_n > db->n) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_sq8_refresh: %lld rows kept of %lld", new_n, db->n);
  }
  if (count > 0 && db->metric == LATENT_METRIC_L2 && norms == nullptr) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_sq8_refresh: squared L2 codes need their norms");
  }
  if (count > 0 && !ascendingRows("latent_cuda_sq8_refresh", changed, count, new_n, 0)) {
    return LATENT_CUDA_E_INVALID;
  }
  return guarded("latent_cuda_sq8_refresh",
                 [&] { return latent::refreshCodes(*db, codes, norms, changed, count, new_n); });
}

int latent_cuda_sq8_topk(long long handle, const signed char* queries, const float* terms, int q, int k,
                         long long* out_ids, float* out_scores, int* out_count) {
  if (handle == 0 || out_count == nullptr) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_sq8_topk: null handle or output");
  }
  *out_count = 0;
  Database* db = latent::fromHandle(handle);
  if (!takes(db, true, "latent_cuda_sq8_topk")) {
    return LATENT_CUDA_E_INVALID;
  }
  std::lock_guard<std::mutex> lock(db->mutex);
  if (q < 0 || k < 1 || (q > 0 && (queries == nullptr || terms == nullptr || out_ids == nullptr || out_scores == nullptr))) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_sq8_topk: q=%d, k=%d", q, k);
  }
  const long long count = std::min<long long>(k, db->n);
  if (count > LATENT_CUDA_MAX_K) {
    return fail(LATENT_CUDA_E_K_TOO_LARGE, "latent_cuda_sq8_topk: k=%d (rows %lld), at most %d", k, db->n,
                LATENT_CUDA_MAX_K);
  }
  *out_count = static_cast<int>(count);
  if (q == 0 || count == 0) {
    return 0;
  }
  return guardedOn(*db, "latent_cuda_sq8_topk", [&] {
    return latent::sq8Topk(*db, reinterpret_cast<const int8_t*>(queries), terms, q, static_cast<int>(count), out_ids,
                           out_scores);
  });
}

int latent_cuda_sq8_topk_lists(long long handle, const signed char* queries, const float* terms, int q, int count,
                               const long long* offsets, const long long* rows, long long* out_ids, float* out_scores) {
  if (handle == 0) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_sq8_topk_lists: null handle");
  }
  Database* db = latent::fromHandle(handle);
  if (!takes(db, true, "latent_cuda_sq8_topk_lists")) {
    return LATENT_CUDA_E_INVALID;
  }
  std::lock_guard<std::mutex> lock(db->mutex);
  if (q < 0 || count < 0 || count > LATENT_CUDA_MAX_K ||
      (q > 0 && (queries == nullptr || terms == nullptr || offsets == nullptr || out_ids == nullptr ||
                 out_scores == nullptr))) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_sq8_topk_lists: q=%d, count=%d", q, count);
  }
  if (q > 0 && offsets[0] != 0) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_sq8_topk_lists: offsets[0]=%lld", offsets[0]);
  }
  for (long long i = 0; i < q; ++i) {
    if (offsets[i + 1] < offsets[i] || (offsets[i + 1] > offsets[i] && rows == nullptr) ||
        !ascendingRows("latent_cuda_sq8_topk_lists", rows + offsets[i], offsets[i + 1] - offsets[i], db->n, i)) {
      return fail(LATENT_CUDA_E_INVALID, "latent_cuda_sq8_topk_lists: bad list for query %lld", i);
    }
  }
  if (q == 0 || count == 0) {
    return 0;
  }
  return guardedOn(*db, "latent_cuda_sq8_topk_lists", [&] {
    return latent::sq8TopkLists(*db, reinterpret_cast<const int8_t*>(queries), terms, q, count, offsets, rows, out_ids,
                                out_scores);
  });
}

int latent_cuda_sq8_distances(long long handle, const signed char* queries, const float* terms, int q,
                              long long from_row, long long to_row, float* out) {
  if (handle == 0) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_sq8_distances: null handle");
  }
  Database* db = latent::fromHandle(handle);
  if (!takes(db, true, "latent_cuda_sq8_distances")) {
    return LATENT_CUDA_E_INVALID;
  }
  std::lock_guard<std::mutex> lock(db->mutex);
  if (q < 0 || from_row < 0 || to_row < from_row || to_row > db->n ||
      (q > 0 && (queries == nullptr || terms == nullptr || out == nullptr))) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_sq8_distances: q=%d, rows [%lld, %lld) of %lld", q, from_row, to_row,
                db->n);
  }
  if (q == 0 || to_row == from_row) {
    return 0;
  }
  return guardedOn(*db, "latent_cuda_sq8_distances", [&] {
    return latent::sq8Distances(*db, reinterpret_cast<const int8_t*>(queries), terms, q, from_row, to_row, out);
  });
}

}  // extern "C"
