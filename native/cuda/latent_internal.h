// Host-side internals of liblatentcuda shared by its translation units: the database handle, the
// error records, and the operations behind the C API (api.cu checks arguments, then calls these).
//
// Memory plan of a handle: rows (n × d floats, capacity grown by doubling on append) and their norm
// terms stay on the device until latent_cuda_db_free. Per-call scratch (query batch, candidate lists,
// results, range hits) and pinned staging buffers live in the handle and only grow, so repeated calls
// allocate nothing. All work of a handle runs on its own non-blocking stream, under its mutex.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <vector>

#include "buffers.h"
#include "latent_check.h"
#include "latent_cuda.h"
#include "latent_topk.cuh"

namespace latent {

/// Records a Latent-level (negative) error with a formatted detail; returns the code.
int fail(int code, const char* format, ...);

/// Largest row count the 32-bit row indices of the kernels address (kNoRow is reserved).
constexpr long long kMaxRows = 0x7FFFFFFELL;
/// Queries per batch: at most this many, and at most kBatchBytes of query data.
constexpr long long kMaxBatchQueries = 4096;
constexpr long long kBatchBytes = 32LL << 20;
/// Floats of one block of the distance matrix staged through the device and pinned memory.
constexpr long long kDistanceBlockFloats = 4LL << 20;
/// Bytes of each of the two pinned buffers used to upload rows.
constexpr size_t kUploadPiece = 16u << 20;

inline long long ceilDiv(long long a, long long b) { return (a + b - 1) / b; }

/// Queries of dimension d streamed per batch.
inline long long batchQueries(int d) { return std::max(1LL, std::min(kMaxBatchQueries, kBatchBytes / (4LL * d))); }

/// A device-resident matrix (a database, or points) and the scratch its calls reuse.
struct Database {
  int device = 0;
  int metric = 0;
  int d = 0;
  long long n = 0;
  int multiprocessors = 1;
  int computeMajor = 0;  // compute capability major version of the device
  cudaStream_t stream = nullptr;
  std::mutex mutex;
  /// Bound on the device bytes of the scratch buffers below (range hits excepted); see fitScratch.
  long long scratchLimit = LATENT_CUDA_DEFAULT_SCRATCH;
  /// A Latent-level failure of the current call (LATENT_CUDA_E_SCRATCH), detail recorded; 0 otherwise.
  int status = 0;

  DeviceBuffer<float> rows;     // [capacity][d], rows [0, n) live
  DeviceBuffer<float> terms;    // [capacity] norm terms (1/|x| cosine, |x|² otherwise)
  DeviceBuffer<float> queries;  // [batch][d]
  DeviceBuffer<float> qTerms;   // [batch]
  DeviceBuffer<float> keysA, keysB;
  DeviceBuffer<uint32_t> rowsA, rowsB;
  DeviceBuffer<uint32_t> subset;
  DeviceBuffer<float> scores;
  DeviceBuffer<long long> ids;
  DeviceBuffer<float> block;    // distance block
  DeviceBuffer<unsigned long long> flags;  // [0] lowest bad row, [1] range hit counter
  DeviceBuffer<int> hitQuery;   // range hits of one batch
  DeviceBuffer<uint32_t> hitRow;
  DeviceBuffer<float> hitScore;
  DeviceBuffer<uint32_t> order;     // accumulate: point rows grouped by label
  DeviceBuffer<uint32_t> starts;    // accumulate: label segments
  DeviceBuffer<double> sums;        // accumulate, gram: float64 results
  DeviceBuffer<double> mean;        // gram
  DeviceBuffer<uint8_t> poolMask;   // topk_pooled: the batch's token mask

  /// A handle of 8-bit codes (latent_cuda_sq8_*) has words > 0: its rows are `codes` and `codeNorms`, not
  /// `rows` and `terms`, and only the sq8 calls and db_free / db_device_bytes / db_*scratch* take it.
  int words = 0;                    // 4-byte groups of codes per row: ceil(d / 4)
  long long codeCapacity = 0;       // rows `codes` (and `codeNorms`) hold
  DeviceBuffer<uint32_t> codes;     // [codeCapacity][words], rows [0, n) live
  DeviceBuffer<float> codeNorms;    // [codeCapacity] decoded squared norms (squared L2 only)
  DeviceBuffer<uint32_t> qCodes;    // [batch][words] quantised queries; their terms in qTerms ([batch][3])
  DeviceBuffer<long long> listOffsets;  // [batch + 1] per-query lists of a batch (in subset)

  PinnedBuffer<float> hostQueries;
  PinnedBuffer<float> hostScores;
  PinnedBuffer<long long> hostIds;
  PinnedBuffer<uint32_t> hostSubset;
  PinnedBuffer<float> hostBlock;

  /// Frees everything (device memory exactly once: each buffer forgets its pointer first).
  cudaError_t release();
  /// Device bytes of everything but rows and terms (and codes and their norms).
  long long scratchBytes() const;
  /// Device bytes of the rows and terms, or of the codes and their norms.
  long long residentBytes() const;
  /// Frees the device scratch (it grows again on demand); the stream must be idle.
  cudaError_t releaseScratch();
  /// Before a call whose scratch grows by at most `need` bytes (need <= scratchLimit): frees the scratch
  /// held now when keeping it could pass the limit, so that afterwards scratchBytes() <= scratchLimit.
  cudaError_t fitScratch(long long need);
  ~Database() { release(); }
};

inline Database* fromHandle(long long handle) { return reinterpret_cast<Database*>(static_cast<intptr_t>(handle)); }

/// Range hits of a search, grouped by query (CSR), each query's hits by row.
struct RangeResult {
  std::vector<long long> offsets;
  std::vector<long long> rows;
  std::vector<float> scores;
};

// database.cu
cudaError_t createDatabase(int device, const float* host, long long n, int d, int metric, Database*& out,
                           long long* badRow);
cudaError_t appendRows(Database& db, const float* host, long long n, long long* badRow);
cudaError_t refreshRows(Database& db, const float* host, const long long* changed, long long count, long long newN);
/// Copies `count` queries to db.queries and computes their norm terms into db.qTerms, folding the lowest
/// query that breaks the vector rule into db.flags[0] (reset by the caller).
cudaError_t uploadQueries(Database& db, const float* host, long long count);
/// Resets db.flags[0] (the lowest bad row) on the handle's stream.
cudaError_t resetBadRow(Database& db);
/// Reads db.flags[0] after the stream's work: -1, or the lowest bad row.
cudaError_t readBadRow(Database& db, long long* bad);

// search.cu
const TopkBucket& bucketFor(int k);
/// Merge passes over `lists` sorted lists of k per query (in db.keysA/rowsA, [qn][lists][k]) down to one list
/// per query, the last pass writing scores and ids to outScore / outId ([qn][k]).
cudaError_t mergeLists(Database& db, const TopkBucket& bucket, long long qn, long long lists, int k, float* outScore,
                       long long* outId);
/// Room for qb × k results in db.scores / db.ids and their pinned copies.
cudaError_t reserveResults(Database& db, long long qb, int k);
/// Copies the batch's results (qb × k, in db.scores / db.ids) to pinned memory and waits for the stream.
cudaError_t fetchResults(Database& db, long long qb, int k);
/// The largest batch (<= want) of top-k queries whose scratch, with `fixed` more bytes, fits db.scratchLimit,
/// and so does the scratch of the last, smaller batch of `total` queries; the scratch is freed first when
/// what is held could pass the limit (Database::fitScratch). When not even one query fits, *batch = 0 and
/// db.status = LATENT_CUDA_E_SCRATCH. `uploads`: queries go through db.queries.
cudaError_t fitTopkBatch(Database& db, long long total, long long want, int k, bool subset, long long candidates,
                         bool uploads, long long fixed, long long* batch);
/// Before the last, smaller batch of qb queries: frees the lists and results held for the full batches when
/// keeping them beside the smaller batch's (another path or split) could pass the limit.
cudaError_t fitTailBatch(Database& db, long long qb, int k, bool subset, long long candidates);
/// Top-k of `qb` queries whose rows and terms are already on the device, into db.hostScores/hostIds.
cudaError_t topkBatch(Database& db, const float* dQueries, const float* dQTerms, long long qb, int k,
                      const uint32_t* subset, long long candidates);
cudaError_t topk(Database& db, const float* queries, int q, int k, const long long* subset, long long candidates,
                 long long* outIds, float* outScores, long long* badQuery);
cudaError_t topkLists(Database& db, const float* queries, int q, int count, const long long* offsets,
                      const long long* rows, long long* outIds, float* outScores, long long* badQuery);
cudaError_t distances(Database& db, const float* queries, int q, long long from, long long to, float* out,
                      long long* badQuery);
cudaError_t topkPooled(Database& db, const float* dTokens, const long long* mask, int q, int t, int pooling,
                       int normalize, int k, long long* outIds, float* outScores, long long* badQuery);
/// Returns LATENT_CUDA_E_TOO_MANY (as an int) through *status when max_results is passed.
cudaError_t range(Database& db, const float* queries, int q, float radius, long long maxResults,
                  const long long* subset, long long candidates, RangeResult& out, long long* overQuery,
                  long long* badQuery, int* status);

// sq8.cu: 8-bit codes (latent_sq8.cuh). Codes are `words` 4-byte groups a row, queries the same in signed bytes
// with kSq8QueryTerms floats each (step, offset, squared norm).
cudaError_t createCodes(int device, int d, int metric, long long capacity, Database*& out);
/// Room for at least `rows` rows of codes, keeping the rows held.
cudaError_t reserveCodes(Database& db, long long rows);
/// Appends n rows of codes (and their norms under squared L2), growing the room by doubling.
cudaError_t appendCodes(Database& db, const uint8_t* codes, const float* norms, long long n);
/// Writes the codes (and norms) of the `count` changed rows (one row each, in order), then keeps newN rows.
cudaError_t refreshCodes(Database& db, const uint8_t* codes, const float* norms, const long long* changed,
                         long long count, long long newN);
cudaError_t sq8Topk(Database& db, const int8_t* queries, const float* terms, int q, int k, long long* outIds,
                    float* outScores);
cudaError_t sq8TopkLists(Database& db, const int8_t* queries, const float* terms, int q, int count,
                         const long long* offsets, const long long* rows, long long* outIds, float* outScores);
cudaError_t sq8Distances(Database& db, const int8_t* queries, const float* terms, int q, long long from, long long to,
                         float* out);

// cluster.cu
cudaError_t assign(Database& points, Database& targets, int* labels, float* scores);
cudaError_t accumulate(Database& points, const int* labels, int k, double* sums, long long* counts);
cudaError_t gram(Database& points, const double* mean, double* out);

/// Launches normTermsKernel over `n` rows and checks the launch.
cudaError_t launchNormTerms(const float* rows, long long n, int d, int metric, float* terms,
                            unsigned long long* badRow, int multiprocessors, cudaStream_t stream);

}  // namespace latent
