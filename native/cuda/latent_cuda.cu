// Host side of liblatentcuda: the C API of latent_cuda.h, device-resident databases, batching.
//
// Memory plan of a database handle: rows (n × d floats) and their norm terms (n floats) stay on the
// device until latent_cuda_db_free. Per-call scratch (query batch, per-chunk candidate lists, results)
// and pinned host staging buffers are kept in the handle and grown on demand, so repeated searches
// allocate nothing. All work of a handle runs on its own non-blocking stream, under its mutex.
#include "latent_cuda.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>

#include "latent_check.h"
#include "latent_kernels.cuh"
#include "latent_norms.cuh"
#include "latent_plan.h"
#include "latent_topk.cuh"

namespace latent {

namespace {

thread_local char lastError[512] = "";

bool verbose() {
  static const bool on = std::getenv("LATENT_CUDA_VERBOSE") != nullptr;
  return on;
}

/// Records a Latent-level (negative) error with a formatted detail; returns the code.
int fail(int code, const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::vsnprintf(lastError, sizeof(lastError), format, args);
  va_end(args);
  if (verbose()) {
    std::fprintf(stderr, "[latent cuda] %s\n", lastError);
  }
  return code;
}

/// Largest row count the 32-bit row indices of the kernels address (kNoRow is reserved).
constexpr long long kMaxRows = 0x7FFFFFFELL;
/// Queries per batch: at most this many, and at most kBatchBytes of query data.
constexpr long long kMaxBatchQueries = 4096;
constexpr long long kBatchBytes = 32LL << 20;
/// Floats of one block of the distance matrix staged through the device and pinned memory.
constexpr long long kDistanceBlockFloats = 4LL << 20;
/// Bytes of each of the two pinned buffers used to upload a database.
constexpr size_t kUploadPiece = 16u << 20;

/// Device memory grown on demand; freed by release() or the destructor.
template <typename T>
struct DeviceBuffer {
  T* ptr = nullptr;
  size_t capacity = 0;

  cudaError_t reserve(size_t count) {
    if (count <= capacity) {
      return cudaSuccess;
    }
    LATENT_CUDA_CHECK(release());
    void* p = nullptr;
    LATENT_CUDA_CHECK(cudaMalloc(&p, count * sizeof(T)));
    ptr = static_cast<T*>(p);
    capacity = count;
    return cudaSuccess;
  }

  cudaError_t release() {
    T* p = ptr;
    ptr = nullptr;
    capacity = 0;
    if (p != nullptr) {
      LATENT_CUDA_CHECK(cudaFree(p));
    }
    return cudaSuccess;
  }

  ~DeviceBuffer() { release(); }
};

/// Page-locked host memory grown on demand (fast, asynchronous transfers).
template <typename T>
struct PinnedBuffer {
  T* ptr = nullptr;
  size_t capacity = 0;

  cudaError_t reserve(size_t count) {
    if (count <= capacity) {
      return cudaSuccess;
    }
    LATENT_CUDA_CHECK(release());
    void* p = nullptr;
    LATENT_CUDA_CHECK(cudaHostAlloc(&p, count * sizeof(T), cudaHostAllocDefault));
    ptr = static_cast<T*>(p);
    capacity = count;
    return cudaSuccess;
  }

  cudaError_t release() {
    T* p = ptr;
    ptr = nullptr;
    capacity = 0;
    if (p != nullptr) {
      LATENT_CUDA_CHECK(cudaFreeHost(p));
    }
    return cudaSuccess;
  }

  ~PinnedBuffer() { release(); }
};

/// A device-resident database and the scratch its calls reuse.
struct Database {
  int device = 0;
  int metric = 0;
  int d = 0;
  long long n = 0;
  int multiprocessors = 1;
  cudaStream_t stream = nullptr;
  std::mutex mutex;

  DeviceBuffer<float> rows;     // [n][d]
  DeviceBuffer<float> terms;    // [n] norm terms (1/|x| cosine, |x|² otherwise)
  DeviceBuffer<float> queries;  // [batch][d]
  DeviceBuffer<float> qTerms;   // [batch]
  DeviceBuffer<float> keysA, keysB;
  DeviceBuffer<uint32_t> rowsA, rowsB;
  DeviceBuffer<uint32_t> subset;
  DeviceBuffer<float> scores;
  DeviceBuffer<long long> ids;
  DeviceBuffer<float> block;    // distance block
  DeviceBuffer<unsigned long long> badRow;

  PinnedBuffer<float> hostQueries;
  PinnedBuffer<float> hostScores;
  PinnedBuffer<long long> hostIds;
  PinnedBuffer<uint32_t> hostSubset;
  PinnedBuffer<float> hostBlock;

  /// Frees everything (device memory exactly once: each buffer forgets its pointer first).
  cudaError_t release() {
    cudaError_t first = cudaSuccess;
    auto keep = [&first](cudaError_t e) {
      if (first == cudaSuccess) {
        first = e;
      }
    };
    if (cudaSetDevice(device) != cudaSuccess) {
      keep(cudaGetLastError());
    }
    if (stream != nullptr) {
      keep(cudaStreamSynchronize(stream));
    }
    keep(rows.release());
    keep(terms.release());
    keep(queries.release());
    keep(qTerms.release());
    keep(keysA.release());
    keep(keysB.release());
    keep(rowsA.release());
    keep(rowsB.release());
    keep(subset.release());
    keep(scores.release());
    keep(ids.release());
    keep(block.release());
    keep(badRow.release());
    keep(hostQueries.release());
    keep(hostScores.release());
    keep(hostIds.release());
    keep(hostSubset.release());
    keep(hostBlock.release());
    if (stream != nullptr) {
      cudaStream_t s = stream;
      stream = nullptr;
      keep(cudaStreamDestroy(s));
    }
    return first;
  }

  ~Database() { release(); }
};

Database* fromHandle(long long handle) { return reinterpret_cast<Database*>(static_cast<intptr_t>(handle)); }

long long ceilDiv(long long a, long long b) { return (a + b - 1) / b; }

long long batchQueries(int d) {
  return std::max(1LL, std::min(kMaxBatchQueries, kBatchBytes / (4LL * d)));
}

/// Copies `count` queries to the device and computes their norm terms there.
cudaError_t uploadQueries(Database& db, const float* host, long long count) {
  const size_t floats = static_cast<size_t>(count) * db.d;
  std::memcpy(db.hostQueries.ptr, host, floats * sizeof(float));
  LATENT_CUDA_CHECK(cudaMemcpyAsync(db.queries.ptr, db.hostQueries.ptr, floats * sizeof(float),
                                    cudaMemcpyHostToDevice, db.stream));
  LATENT_CUDA_CHECK(launchNormTerms(db.queries.ptr, count, db.d, db.metric, db.qTerms.ptr, nullptr,
                                    db.multiprocessors, db.stream));
  return cudaSuccess;
}

/// Uploads host rows through two pinned buffers, overlapping the host copy with the transfer.
cudaError_t uploadRows(Database& db, const float* host) {
  const size_t total = static_cast<size_t>(db.n) * db.d * sizeof(float);
  if (total == 0) {
    return cudaSuccess;
  }
  const size_t piece = std::min(total, kUploadPiece);
  LATENT_CUDA_CHECK(db.hostBlock.reserve(2 * piece / sizeof(float) + 1));
  cudaEvent_t done[2] = {nullptr, nullptr};
  cudaError_t result = cudaSuccess;
  for (int i = 0; i < 2 && result == cudaSuccess; ++i) {
    result = cudaEventCreateWithFlags(&done[i], cudaEventDisableTiming);
    if (result != cudaSuccess) {
      recordError(result, "cudaEventCreateWithFlags", __FILE__, __LINE__);
    }
  }
  const char* src = reinterpret_cast<const char*>(host);
  char* dst = reinterpret_cast<char*>(db.rows.ptr);
  char* staging = reinterpret_cast<char*>(db.hostBlock.ptr);
  for (size_t off = 0, i = 0; off < total && result == cudaSuccess; off += piece, ++i) {
    const size_t len = std::min(piece, total - off);
    char* buf = staging + (i % 2) * piece;
    // Wait until the transfer that last read this pinned buffer has finished.
    result = cudaEventSynchronize(done[i % 2]);
    if (result != cudaSuccess) {
      recordError(result, "cudaEventSynchronize", __FILE__, __LINE__);
      break;
    }
    std::memcpy(buf, src + off, len);
    result = cudaMemcpyAsync(dst + off, buf, len, cudaMemcpyHostToDevice, db.stream);
    if (result != cudaSuccess) {
      recordError(result, "cudaMemcpyAsync(rows)", __FILE__, __LINE__);
      break;
    }
    result = cudaEventRecord(done[i % 2], db.stream);
    if (result != cudaSuccess) {
      recordError(result, "cudaEventRecord", __FILE__, __LINE__);
    }
  }
  const cudaError_t synced = cudaStreamSynchronize(db.stream);
  if (result == cudaSuccess && synced != cudaSuccess) {
    recordError(synced, "cudaStreamSynchronize", __FILE__, __LINE__);
    result = synced;
  }
  for (cudaEvent_t e : done) {
    if (e != nullptr) {
      const cudaError_t destroyed = cudaEventDestroy(e);
      if (result == cudaSuccess && destroyed != cudaSuccess) {
        recordError(destroyed, "cudaEventDestroy", __FILE__, __LINE__);
        result = destroyed;
      }
    }
  }
  // The upload staging is large; searches size their own, smaller, blocks.
  const cudaError_t freed = db.hostBlock.release();
  return result != cudaSuccess ? result : freed;
}

cudaError_t createDatabase(int device, const float* host, long long n, int d, int metric,
                           std::unique_ptr<Database>& out, long long* badRow) {
  auto db = std::make_unique<Database>();
  db->device = device;
  db->metric = metric;
  db->d = d;
  db->n = n;
  LATENT_CUDA_CHECK(cudaSetDevice(device));
  LATENT_CUDA_CHECK(cudaDeviceGetAttribute(&db->multiprocessors, cudaDevAttrMultiProcessorCount, device));
  LATENT_CUDA_CHECK(cudaStreamCreateWithFlags(&db->stream, cudaStreamNonBlocking));
  const size_t elements = static_cast<size_t>(n) * d;
  LATENT_CUDA_CHECK(db->rows.reserve(std::max<size_t>(elements, 1)));
  LATENT_CUDA_CHECK(db->terms.reserve(std::max<long long>(n, 1)));
  LATENT_CUDA_CHECK(uploadRows(*db, host));
  if (n > 0) {
    LATENT_CUDA_CHECK(db->badRow.reserve(1));
    LATENT_CUDA_CHECK(cudaMemsetAsync(db->badRow.ptr, 0xFF, sizeof(unsigned long long), db->stream));
    LATENT_CUDA_CHECK(launchNormTerms(db->rows.ptr, n, d, metric, db->terms.ptr, db->badRow.ptr,
                                      db->multiprocessors, db->stream));
    unsigned long long zero = ~0ULL;
    LATENT_CUDA_CHECK(cudaMemcpyAsync(&zero, db->badRow.ptr, sizeof(zero), cudaMemcpyDeviceToHost, db->stream));
    LATENT_CUDA_CHECK(cudaStreamSynchronize(db->stream));
    LATENT_CUDA_CHECK(db->badRow.release());
    if (zero != ~0ULL) {
      *badRow = static_cast<long long>(zero);
    }
  }
  out = std::move(db);
  return cudaSuccess;
}

const TopkBucket& bucketFor(int k) {
  if (k <= 32) {
    return topkBucket32();
  }
  if (k <= 128) {
    return topkBucket128();
  }
  if (k <= 512) {
    return topkBucket512();
  }
  return topkBucket2048();
}

/// Top-k of one query batch already on the device (db.queries, db.qTerms) into db.hostScores/Ids.
cudaError_t topkBatch(Database& db, const TopkBucket& bucket, int blocksPerSm, long long qb, int k,
                      const uint32_t* subset, long long candidates) {
  const TopkPlan plan = planTopk(qb, candidates, k, bucket.queriesPerBlock, bucket.rowsPerTile,
                                 db.multiprocessors, blocksPerSm);
  const long long qTiles = plan.queryTiles;
  const long long chunks = plan.chunks;
  const long long chunkRows = plan.chunkRows;
  LATENT_CUDA_CHECK(db.keysA.reserve(static_cast<size_t>(qb * chunks * k)));
  LATENT_CUDA_CHECK(db.rowsA.reserve(static_cast<size_t>(qb * chunks * k)));
  ChunkArgs c{};
  c.queries = db.queries.ptr;
  c.qTerm = db.qTerms.ptr;
  c.nQueries = static_cast<int>(qb);
  c.d = db.d;
  c.db = db.rows.ptr;
  c.dbTerm = db.terms.ptr;
  c.subset = subset;
  c.nCand = static_cast<uint32_t>(candidates);
  c.chunkRows = static_cast<uint32_t>(chunkRows);
  c.metric = db.metric;
  c.k = k;
  c.outKey = db.keysA.ptr;
  c.outRow = db.rowsA.ptr;
  LATENT_CUDA_CHECK(bucket.launchChunk(c, dim3(static_cast<unsigned>(chunks), static_cast<unsigned>(qTiles)),
                                       db.stream));

  // Merge passes: each block reduces `fanIn` lists of k to one, until one list per query remains;
  // the last pass writes scores and ids.
  const long long fanIn = plan.fanIn;
  long long lists = chunks;
  bool inA = true;
  do {
    const long long next = ceilDiv(lists, fanIn);
    const bool last = next == 1;
    MergeArgs m{};
    m.inKey = inA ? db.keysA.ptr : db.keysB.ptr;
    m.inRow = inA ? db.rowsA.ptr : db.rowsB.ptr;
    m.nQueries = static_cast<int>(qb);
    m.listsIn = static_cast<int>(lists);
    m.listsPerBlock = static_cast<int>(fanIn);
    m.k = k;
    m.metric = db.metric;
    if (last) {
      m.outScore = db.scores.ptr;
      m.outId = db.ids.ptr;
    } else {
      DeviceBuffer<float>& keys = inA ? db.keysB : db.keysA;
      DeviceBuffer<uint32_t>& rows = inA ? db.rowsB : db.rowsA;
      // keysA already holds qb*chunks*k >= qb*next*k; keysB grows here when first needed.
      LATENT_CUDA_CHECK(keys.reserve(static_cast<size_t>(qb * next * k)));
      LATENT_CUDA_CHECK(rows.reserve(static_cast<size_t>(qb * next * k)));
      m.outKey = keys.ptr;
      m.outRow = rows.ptr;
    }
    LATENT_CUDA_CHECK(bucket.launchMerge(m, dim3(static_cast<unsigned>(next), static_cast<unsigned>(qTiles)),
                                         db.stream));
    lists = next;
    inA = !inA;
  } while (lists > 1);

  const size_t results = static_cast<size_t>(qb) * k;
  LATENT_CUDA_CHECK(cudaMemcpyAsync(db.hostScores.ptr, db.scores.ptr, results * sizeof(float),
                                    cudaMemcpyDeviceToHost, db.stream));
  LATENT_CUDA_CHECK(cudaMemcpyAsync(db.hostIds.ptr, db.ids.ptr, results * sizeof(long long),
                                    cudaMemcpyDeviceToHost, db.stream));
  LATENT_CUDA_CHECK(cudaStreamSynchronize(db.stream));
  return cudaSuccess;
}

cudaError_t topk(Database& db, const float* queries, int q, int k, const long long* subset,
                 long long candidates, long long* outIds, float* outScores) {
  LATENT_CUDA_CHECK(cudaSetDevice(db.device));
  const uint32_t* deviceSubset = nullptr;
  if (subset != nullptr) {
    LATENT_CUDA_CHECK(db.hostSubset.reserve(static_cast<size_t>(candidates)));
    LATENT_CUDA_CHECK(db.subset.reserve(static_cast<size_t>(candidates)));
    for (long long i = 0; i < candidates; ++i) {
      db.hostSubset.ptr[i] = static_cast<uint32_t>(subset[i]);
    }
    LATENT_CUDA_CHECK(cudaMemcpyAsync(db.subset.ptr, db.hostSubset.ptr, candidates * sizeof(uint32_t),
                                      cudaMemcpyHostToDevice, db.stream));
    deviceSubset = db.subset.ptr;
  }
  const TopkBucket& bucket = bucketFor(k);
  int blocksPerSm = 1;
  LATENT_CUDA_CHECK(bucket.chunkBlocksPerSm(&blocksPerSm));
  const long long batch = std::min<long long>(batchQueries(db.d), q);
  LATENT_CUDA_CHECK(db.queries.reserve(static_cast<size_t>(batch) * db.d));
  LATENT_CUDA_CHECK(db.qTerms.reserve(static_cast<size_t>(batch)));
  LATENT_CUDA_CHECK(db.hostQueries.reserve(static_cast<size_t>(batch) * db.d));
  LATENT_CUDA_CHECK(db.scores.reserve(static_cast<size_t>(batch) * k));
  LATENT_CUDA_CHECK(db.ids.reserve(static_cast<size_t>(batch) * k));
  LATENT_CUDA_CHECK(db.hostScores.reserve(static_cast<size_t>(batch) * k));
  LATENT_CUDA_CHECK(db.hostIds.reserve(static_cast<size_t>(batch) * k));
  for (long long q0 = 0; q0 < q; q0 += batch) {
    const long long qb = std::min(batch, q - q0);
    LATENT_CUDA_CHECK(uploadQueries(db, queries + static_cast<size_t>(q0) * db.d, qb));
    LATENT_CUDA_CHECK(topkBatch(db, bucket, blocksPerSm, qb, k, deviceSubset, candidates));
    const size_t results = static_cast<size_t>(qb) * k;
    std::memcpy(outScores + static_cast<size_t>(q0) * k, db.hostScores.ptr, results * sizeof(float));
    std::memcpy(outIds + static_cast<size_t>(q0) * k, db.hostIds.ptr, results * sizeof(long long));
  }
  return cudaSuccess;
}

cudaError_t distances(Database& db, const float* queries, int q, long long from, long long to, float* out) {
  LATENT_CUDA_CHECK(cudaSetDevice(db.device));
  const long long width = to - from;
  const long long batch = std::min<long long>(batchQueries(db.d), q);
  const long long blockRows =
      std::min(width, std::max<long long>(kDistanceTN, kDistanceBlockFloats / batch));
  LATENT_CUDA_CHECK(db.queries.reserve(static_cast<size_t>(batch) * db.d));
  LATENT_CUDA_CHECK(db.qTerms.reserve(static_cast<size_t>(batch)));
  LATENT_CUDA_CHECK(db.hostQueries.reserve(static_cast<size_t>(batch) * db.d));
  LATENT_CUDA_CHECK(db.block.reserve(static_cast<size_t>(batch * blockRows)));
  LATENT_CUDA_CHECK(db.hostBlock.reserve(static_cast<size_t>(batch * blockRows)));
  for (long long q0 = 0; q0 < q; q0 += batch) {
    const long long qb = std::min(batch, q - q0);
    LATENT_CUDA_CHECK(uploadQueries(db, queries + static_cast<size_t>(q0) * db.d, qb));
    for (long long r0 = from; r0 < to; r0 += blockRows) {
      const long long rb = std::min(blockRows, to - r0);
      DistanceArgs a{};
      a.queries = db.queries.ptr;
      a.qTerm = db.qTerms.ptr;
      a.nQueries = static_cast<int>(qb);
      a.d = db.d;
      a.db = db.rows.ptr;
      a.dbTerm = db.terms.ptr;
      a.firstRow = static_cast<uint32_t>(r0);
      a.nRows = static_cast<uint32_t>(rb);
      a.metric = db.metric;
      a.out = db.block.ptr;
      LATENT_CUDA_CHECK(launchDistances(a, db.stream));
      LATENT_CUDA_CHECK(cudaMemcpyAsync(db.hostBlock.ptr, db.block.ptr, static_cast<size_t>(qb * rb) * sizeof(float),
                                        cudaMemcpyDeviceToHost, db.stream));
      LATENT_CUDA_CHECK(cudaStreamSynchronize(db.stream));
      for (long long i = 0; i < qb; ++i) {
        std::memcpy(out + static_cast<size_t>(q0 + i) * width + (r0 - from),
                    db.hostBlock.ptr + static_cast<size_t>(i) * rb, static_cast<size_t>(rb) * sizeof(float));
      }
    }
  }
  return cudaSuccess;
}

}  // namespace

void recordError(int code, const char* what, const char* file, int line) {
  const char* base = std::strrchr(file, '/');
  std::snprintf(lastError, sizeof(lastError), "%s failed at %s:%d: CUDA error %d (%s)", what,
                base != nullptr ? base + 1 : file, line, code,
                cudaGetErrorString(static_cast<cudaError_t>(code)));
  if (verbose()) {
    std::fprintf(stderr, "[latent cuda] %s\n", lastError);
  }
}


cudaError_t launchNormTerms(const float* rows, long long n, int d, int metric, float* terms,
                            unsigned long long* badRow, int multiprocessors, cudaStream_t stream) {
  if (n <= 0) {
    return cudaSuccess;
  }
  const long long blocks = std::min<long long>(ceilDiv(n, kWarps), 16LL * multiprocessors);
  LATENT_LAUNCH(normTermsKernel, dim3(static_cast<unsigned>(blocks)), kThreads, 0, stream, rows, n, d, metric, terms,
                badRow);
  LATENT_CUDA_LAUNCH_CHECK(stream);
  return cudaSuccess;
}

cudaError_t launchDistances(const DistanceArgs& args, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(ceilDiv(args.nRows, kDistanceTN)),
                  static_cast<unsigned>(ceilDiv(args.nQueries, kDistanceTQ)));
  auto* const kernel = &distanceKernel<kDistanceTQ, kDistanceTN>;
  LATENT_LAUNCH(kernel, grid, kThreads, 0, stream, args);
  LATENT_CUDA_LAUNCH_CHECK(stream);
  return cudaSuccess;
}

}  // namespace latent

using latent::Database;
using latent::fail;

extern "C" {

int latent_cuda_abi_version(void) { return LATENT_CUDA_ABI_VERSION; }

const char* latent_cuda_error_string(int code) {
  switch (code) {
    case 0: return "success";
    case LATENT_CUDA_E_INVALID: return "invalid argument";
    case LATENT_CUDA_E_BAD_ROW: return "database row not finite, or zero under the cosine metric";
    case LATENT_CUDA_E_TOO_MANY_ROWS: return "too many database rows for 32-bit row indices";
    case LATENT_CUDA_E_K_TOO_LARGE: return "k above the largest supported value (2048)";
    case LATENT_CUDA_E_HOST_ALLOC: return "host memory allocation failed";
    default: break;
  }
  if (code > 0) {
    return cudaGetErrorString(static_cast<cudaError_t>(code));
  }
  return "unknown Latent CUDA error";
}

const char* latent_cuda_last_error(void) { return latent::lastError; }

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

int latent_cuda_db_create(int device, const float* rows, long long n, int d, int metric,
                          long long* handle, long long* bad_row) {
  if (handle == nullptr || bad_row == nullptr) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_db_create: null output");
  }
  *handle = 0;
  *bad_row = -1;
  if (n < 0 || d <= 0 || (n > 0 && rows == nullptr) || metric < 0 || metric > 2) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_db_create: n=%lld, d=%d, rows=%p, metric=%d", n, d,
                static_cast<const void*>(rows), metric);
  }
  if (n > latent::kMaxRows) {
    return fail(LATENT_CUDA_E_TOO_MANY_ROWS, "latent_cuda_db_create: %lld rows, at most %lld", n,
                latent::kMaxRows);
  }
  std::unique_ptr<Database> db;
  try {
    const cudaError_t e = latent::createDatabase(device, rows, n, d, metric, db, bad_row);
    if (e != cudaSuccess) {
      return static_cast<int>(e);  // db (if any) frees what was allocated
    }
  } catch (const std::bad_alloc&) {
    return fail(LATENT_CUDA_E_HOST_ALLOC, "latent_cuda_db_create: host allocation failed");
  }
  if (*bad_row >= 0) {
    const int code = fail(LATENT_CUDA_E_BAD_ROW, "database row %lld is not finite, or zero under cosine", *bad_row);
    db->release();
    return code;
  }
  *handle = static_cast<long long>(reinterpret_cast<intptr_t>(db.release()));
  return 0;
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
  *bytes = static_cast<long long>(
      db->rows.capacity * 4 + db->terms.capacity * 4 + db->queries.capacity * 4 + db->qTerms.capacity * 4 +
      db->keysA.capacity * 4 + db->keysB.capacity * 4 + db->rowsA.capacity * 4 + db->rowsB.capacity * 4 +
      db->subset.capacity * 4 + db->scores.capacity * 4 + db->ids.capacity * 8 + db->block.capacity * 4);
  return 0;
}

int latent_cuda_distances(long long handle, const float* queries, int q, int d, long long from_row,
                          long long to_row, float* out) {
  if (handle == 0) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_distances: null handle");
  }
  Database* db = latent::fromHandle(handle);
  if (q < 0 || d != db->d || from_row < 0 || to_row < from_row || to_row > db->n ||
      (q > 0 && (queries == nullptr || out == nullptr))) {
    return fail(LATENT_CUDA_E_INVALID,
                "latent_cuda_distances: q=%d, d=%d (database %d), rows [%lld, %lld) of %lld", q, d, db->d,
                from_row, to_row, db->n);
  }
  if (q == 0 || to_row == from_row) {
    return 0;
  }
  std::lock_guard<std::mutex> lock(db->mutex);
  return static_cast<int>(latent::distances(*db, queries, q, from_row, to_row, out));
}

int latent_cuda_topk(long long handle, const float* queries, int q, int d, int k, const long long* subset,
                     long long subset_count, long long* out_ids, float* out_scores, int* out_count) {
  if (handle == 0 || out_count == nullptr) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_topk: null handle or count output");
  }
  *out_count = 0;
  Database* db = latent::fromHandle(handle);
  if (q < 0 || d != db->d || k < 1 || (q > 0 && (queries == nullptr || out_ids == nullptr || out_scores == nullptr))) {
    return fail(LATENT_CUDA_E_INVALID, "latent_cuda_topk: q=%d, d=%d (database %d), k=%d", q, d, db->d, k);
  }
  long long candidates = db->n;
  if (subset != nullptr) {
    if (subset_count < 0) {
      return fail(LATENT_CUDA_E_INVALID, "latent_cuda_topk: subset_count=%lld", subset_count);
    }
    for (long long i = 0; i < subset_count; ++i) {
      if (subset[i] < 0 || subset[i] >= db->n || (i > 0 && subset[i] <= subset[i - 1])) {
        return fail(LATENT_CUDA_E_INVALID,
                    "latent_cuda_topk: subset[%lld]=%lld is out of [0, %lld) or not strictly ascending", i,
                    subset[i], db->n);
      }
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
  std::lock_guard<std::mutex> lock(db->mutex);
  try {
    return static_cast<int>(
        latent::topk(*db, queries, q, static_cast<int>(count), subset, candidates, out_ids, out_scores));
  } catch (const std::bad_alloc&) {
    return fail(LATENT_CUDA_E_HOST_ALLOC, "latent_cuda_topk: host allocation failed");
  }
}

}  // extern "C"
