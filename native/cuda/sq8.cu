// 8-bit codes on the device (latent_cuda_sq8_*): a handle's codes and their norms (room grown by doubling),
// their upload and refresh, and the scans: top-k over all rows or over per-query candidate lists
// (latent_sq8.cuh, then the float path's merge passes), and score blocks for a k above the largest bucket.
// The codes arrive encoded and the queries quantised (the Java side does both, with the reference's
// arithmetic); the device computes the integer sums, the scores and the selection.
#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "latent_cuda.h"
#include "latent_internal.h"
#include "latent_plan.h"

namespace latent {

namespace {

/// Batches of at most this many queries over all rows take the stream kernel (each row read once per query);
/// larger ones the tile kernel (TQ queries of a block share every row tile it loads).
constexpr long long kSq8StreamMaxQueries = 4;
/// Scratch bytes of one chunk-list entry (key and row) and of one result (score and id).
constexpr long long kEntryBytes = 8;
constexpr long long kResultBytes = 12;
/// Most resident blocks of 256 threads on a multiprocessor (2048 threads): bounds the chunks of a plan.
constexpr long long kMaxBlocksPerSm = 8;
/// Smallest chunk of any plan: planTopk keeps at least 4 tiles of at least 64 rows.
constexpr long long kMinChunkRows = 4 * 64;

size_t wordBytes(const Database& db) { return static_cast<size_t>(db.words) * 4; }

/// Queries of one batch: at most kMaxBatchQueries, and at most kBatchBytes of query codes.
long long batchLimit(const Database& db) {
  return std::max(1LL, std::min(kMaxBatchQueries, kBatchBytes / (4LL * db.words)));
}

/// Scratch of a batch of qb queries with `chunks` per-chunk lists of k each (and the first merge pass's
/// output), its results, and `entries` list entries with qb + 1 offsets when it scans lists.
long long batchBytes(const Database& db, long long qb, int k, long long chunks, bool lists, long long entries) {
  const long long queries = qb * (4LL * db.words + 4LL * kSq8QueryTerms);
  const long long listBytes = lists ? 4 * std::max(entries, 1LL) + 8 * (qb + 1) : 0;
  return queries + listBytes + qb * (chunks + ceilDiv(chunks, 8)) * k * kEntryBytes + qb * k * kResultBytes;
}

/// The kernel and split of a batch over all rows.
struct AllRowsPlan {
  bool stream;
  TopkPlan plan;
  long long bytes;
};

cudaError_t planAllRows(const Database& db, long long qb, int k, AllRowsPlan* out) {
  const TopkBucket& bucket = bucketFor(k);
  out->stream = qb <= kSq8StreamMaxQueries;
  int blocks = 1;
  if (out->stream) {
    LATENT_CUDA_CHECK(bucket.sq8StreamBlocksPerSm(db.words, &blocks));
  } else {
    LATENT_CUDA_CHECK(bucket.sq8TileBlocksPerSm(&blocks));
  }
  out->plan = planTopk(qb, db.n, k, out->stream ? 1 : bucket.queriesPerBlock, bucket.rowsPerTile, db.multiprocessors,
                       blocks);
  out->bytes = batchBytes(db, qb, k, out->plan.chunks, false, 0);
  return cudaSuccess;
}

/// An upper bound of the scratch of a batch of qb queries over lists (longest `longest`, `entries` in all) that
/// needs no occupancy query: the plan's chunks are at most ceil(longest / kMinChunkRows) and at most the
/// chunks that make two waves of the most resident blocks.
long long listBatchBound(const Database& db, long long qb, int k, long long longest, long long entries) {
  const long long waves = 2 * std::max(db.multiprocessors, 1) * kMaxBlocksPerSm;
  const long long chunks = std::max(1LL, std::min(ceilDiv(longest, kMinChunkRows), std::max(1LL, ceilDiv(waves, qb))));
  return batchBytes(db, qb, k, chunks, true, entries);
}

void scratchTooSmall(Database& db, const char* call, long long need) {
  db.status = fail(LATENT_CUDA_E_SCRATCH, "%s needs %lld bytes of device scratch for one query; the limit is %lld", call,
                   need, db.scratchLimit);
}

/// Copies qb quantised queries and their terms to db.qCodes / db.qTerms (room reserved).
cudaError_t uploadQueryCodes(Database& db, const int8_t* queries, const float* terms, long long qb) {
  LATENT_CUDA_CHECK(cudaMemcpyAsync(db.qCodes.ptr, queries, static_cast<size_t>(qb) * wordBytes(db),
                                    cudaMemcpyHostToDevice, db.stream));
  LATENT_CUDA_CHECK(cudaMemcpyAsync(db.qTerms.ptr, terms, static_cast<size_t>(qb) * kSq8QueryTerms * sizeof(float),
                                    cudaMemcpyHostToDevice, db.stream));
  return cudaSuccess;
}

cudaError_t reserveBatch(Database& db, long long qb, int k, long long chunks) {
  LATENT_CUDA_CHECK(db.qCodes.reserve(static_cast<size_t>(qb) * db.words));
  LATENT_CUDA_CHECK(db.qTerms.reserve(static_cast<size_t>(qb) * kSq8QueryTerms));
  LATENT_CUDA_CHECK(db.keysA.reserve(static_cast<size_t>(qb * chunks * k)));
  LATENT_CUDA_CHECK(db.rowsA.reserve(static_cast<size_t>(qb * chunks * k)));
  return reserveResults(db, qb, k);
}

Sq8Args scanArgs(const Database& db, long long qb, int k, const TopkPlan& plan) {
  Sq8Args a{};
  a.queries = db.qCodes.ptr;
  a.qTerms = db.qTerms.ptr;
  a.nQueries = static_cast<int>(qb);
  a.words = db.words;
  a.codes = db.codes.ptr;
  a.norms = db.metric == kL2 ? db.codeNorms.ptr : nullptr;
  a.nCand = static_cast<uint32_t>(db.n);
  a.chunkRows = static_cast<uint32_t>(plan.chunkRows);
  a.metric = db.metric;
  a.k = k;
  a.outKey = db.keysA.ptr;
  a.outRow = db.rowsA.ptr;
  return a;
}

/// Room for exactly `rows` rows of codes (more than now), keeping the rows held.
cudaError_t growCodes(Database& db, long long rows) {
  LATENT_CUDA_CHECK(db.codes.grow(static_cast<size_t>(rows) * db.words, static_cast<size_t>(db.n) * db.words, db.stream));
  if (db.metric == kL2) {
    LATENT_CUDA_CHECK(db.codeNorms.grow(static_cast<size_t>(rows), static_cast<size_t>(db.n), db.stream));
  }
  db.codeCapacity = rows;
  return cudaSuccess;
}

}  // namespace

cudaError_t createCodes(int device, int d, int metric, long long capacity, Database*& out) {
  auto db = std::make_unique<Database>();
  db->device = device;
  db->metric = metric;
  db->d = d;
  db->n = 0;
  db->words = (d + 3) / 4;
  LATENT_CUDA_CHECK(cudaSetDevice(device));
  LATENT_CUDA_CHECK(cudaDeviceGetAttribute(&db->multiprocessors, cudaDevAttrMultiProcessorCount, device));
  LATENT_CUDA_CHECK(cudaDeviceGetAttribute(&db->computeMajor, cudaDevAttrComputeCapabilityMajor, device));
  LATENT_CUDA_CHECK(cudaStreamCreateWithFlags(&db->stream, cudaStreamNonBlocking));
  if (capacity > 0) {
    LATENT_CUDA_CHECK(growCodes(*db, capacity));
  }
  out = db.release();
  return cudaSuccess;
}

cudaError_t reserveCodes(Database& db, long long rows) {
  LATENT_CUDA_CHECK(cudaSetDevice(db.device));
  if (rows > db.codeCapacity) {
    LATENT_CUDA_CHECK(growCodes(db, rows));
  }
  return cudaSuccess;
}

cudaError_t appendCodes(Database& db, const uint8_t* codes, const float* norms, long long n) {
  LATENT_CUDA_CHECK(cudaSetDevice(db.device));
  const long long total = db.n + n;
  if (total > db.codeCapacity) {
    LATENT_CUDA_CHECK(growCodes(db, std::max(total, 2 * db.codeCapacity)));
  }
  const size_t bytes = wordBytes(db);
  // From pageable memory: the call returns once the source is staged, and the stream is synchronised below.
  LATENT_CUDA_CHECK(cudaMemcpyAsync(db.codes.ptr + static_cast<size_t>(db.n) * db.words, codes,
                                    static_cast<size_t>(n) * bytes, cudaMemcpyHostToDevice, db.stream));
  if (db.metric == kL2) {
    LATENT_CUDA_CHECK(cudaMemcpyAsync(db.codeNorms.ptr + db.n, norms, static_cast<size_t>(n) * sizeof(float),
                                      cudaMemcpyHostToDevice, db.stream));
  }
  LATENT_CUDA_CHECK(cudaStreamSynchronize(db.stream));
  db.n = total;
  return cudaSuccess;
}

cudaError_t refreshCodes(Database& db, const uint8_t* codes, const float* norms, const long long* changed,
                         long long count, long long newN) {
  LATENT_CUDA_CHECK(cudaSetDevice(db.device));
  const size_t bytes = wordBytes(db);
  // One copy per run of consecutive changed rows (their codes are consecutive in `codes` too).
  for (long long i = 0; i < count;) {
    long long j = i + 1;
    while (j < count && changed[j] == changed[j - 1] + 1) {
      ++j;
    }
    const size_t r = static_cast<size_t>(changed[i]);
    const size_t run = static_cast<size_t>(j - i);
    LATENT_CUDA_CHECK(cudaMemcpyAsync(db.codes.ptr + r * db.words, codes + static_cast<size_t>(i) * bytes, run * bytes,
                                      cudaMemcpyHostToDevice, db.stream));
    if (db.metric == kL2) {
      LATENT_CUDA_CHECK(cudaMemcpyAsync(db.codeNorms.ptr + r, norms + i, run * sizeof(float), cudaMemcpyHostToDevice,
                                        db.stream));
    }
    i = j;
  }
  LATENT_CUDA_CHECK(cudaStreamSynchronize(db.stream));
  db.n = newN;
  return cudaSuccess;
}

cudaError_t sq8Topk(Database& db, const int8_t* queries, const float* terms, int q, int k, long long* outIds,
                    float* outScores) {
  LATENT_CUDA_CHECK(cudaSetDevice(db.device));
  // The largest batch whose scratch, and that of the last, smaller batch, fits the limit.
  long long batch = std::min<long long>(batchLimit(db), q);
  long long need = 0;
  for (;;) {
    AllRowsPlan full{}, tail{};
    LATENT_CUDA_CHECK(planAllRows(db, batch, k, &full));
    need = full.bytes;
    if (q % batch != 0) {
      LATENT_CUDA_CHECK(planAllRows(db, q % batch, k, &tail));
      need = std::max(need, tail.bytes);
    }
    if (need <= db.scratchLimit || batch == 1) {
      break;
    }
    batch = (batch + 1) / 2;
  }
  if (need > db.scratchLimit) {
    scratchTooSmall(db, "8-bit top-k", need);
    return cudaSuccess;
  }
  const TopkBucket& bucket = bucketFor(k);
  for (long long q0 = 0; q0 < q; q0 += batch) {
    const long long qb = std::min<long long>(batch, q - q0);
    AllRowsPlan p{};
    LATENT_CUDA_CHECK(planAllRows(db, qb, k, &p));
    // Buffers only grow: free what is held when keeping it beside this batch's could pass the limit.
    LATENT_CUDA_CHECK(db.fitScratch(p.bytes));
    LATENT_CUDA_CHECK(reserveBatch(db, qb, k, p.plan.chunks));
    LATENT_CUDA_CHECK(uploadQueryCodes(db, queries + static_cast<size_t>(q0) * wordBytes(db),
                                       terms + static_cast<size_t>(q0) * kSq8QueryTerms, qb));
    const Sq8Args a = scanArgs(db, qb, k, p.plan);
    if (p.stream) {
      LATENT_CUDA_CHECK(bucket.launchSq8Stream(
          a, dim3(static_cast<unsigned>(p.plan.chunks), static_cast<unsigned>(qb)), db.stream));
    } else {
      LATENT_CUDA_CHECK(bucket.launchSq8Tile(
          a, dim3(static_cast<unsigned>(p.plan.chunks), static_cast<unsigned>(p.plan.queryTiles)), db.stream));
    }
    LATENT_CUDA_CHECK(mergeLists(db, bucket, qb, p.plan.chunks, k, db.scores.ptr, db.ids.ptr));
    LATENT_CUDA_CHECK(fetchResults(db, qb, k));
    const size_t results = static_cast<size_t>(qb) * k;
    std::memcpy(outScores + static_cast<size_t>(q0) * k, db.hostScores.ptr, results * sizeof(float));
    std::memcpy(outIds + static_cast<size_t>(q0) * k, db.hostIds.ptr, results * sizeof(long long));
  }
  return cudaSuccess;
}

cudaError_t sq8TopkLists(Database& db, const int8_t* queries, const float* terms, int q, int count,
                         const long long* offsets, const long long* rows, long long* outIds, float* outScores) {
  LATENT_CUDA_CHECK(cudaSetDevice(db.device));
  const long long most = batchLimit(db);
  std::vector<long long> batchOffsets;
  for (long long q0 = 0; q0 < q;) {
    // As many queries as fit the limit (by a bound that only grows with each query taken).
    long long q1 = q0, longest = 0, entries = 0;
    while (q1 < q && q1 - q0 < most) {
      const long long length = offsets[q1 + 1] - offsets[q1];
      const long long l = std::max(longest, length);
      const long long e = entries + length;
      const long long bound = listBatchBound(db, q1 - q0 + 1, static_cast<int>(std::min<long long>(count, std::max(l, 1LL))), l, e);
      if (bound > db.scratchLimit) {
        if (q1 == q0) {
          scratchTooSmall(db, "8-bit top-k over candidate lists", bound);
          return cudaSuccess;
        }
        break;
      }
      longest = l;
      entries = e;
      ++q1;
    }
    const long long qb = q1 - q0;
    const int kk = static_cast<int>(std::min<long long>(count, longest));
    if (kk > 0) {
      const TopkBucket& bucket = bucketFor(kk);
      int blocks = 1;
      LATENT_CUDA_CHECK(bucket.sq8StreamBlocksPerSm(db.words, &blocks));
      const TopkPlan plan = planTopk(qb, longest, kk, 1, bucket.rowsPerTile, db.multiprocessors, blocks);
      LATENT_CUDA_CHECK(db.fitScratch(listBatchBound(db, qb, kk, longest, entries)));
      LATENT_CUDA_CHECK(reserveBatch(db, qb, kk, plan.chunks));
      LATENT_CUDA_CHECK(db.subset.reserve(static_cast<size_t>(std::max(entries, 1LL))));
      LATENT_CUDA_CHECK(db.hostSubset.reserve(static_cast<size_t>(std::max(entries, 1LL))));
      LATENT_CUDA_CHECK(db.listOffsets.reserve(static_cast<size_t>(qb + 1)));
      LATENT_CUDA_CHECK(uploadQueryCodes(db, queries + static_cast<size_t>(q0) * wordBytes(db),
                                         terms + static_cast<size_t>(q0) * kSq8QueryTerms, qb));
      const long long base = offsets[q0];
      for (long long i = 0; i < entries; ++i) {
        db.hostSubset.ptr[i] = static_cast<uint32_t>(rows[base + i]);
      }
      batchOffsets.resize(static_cast<size_t>(qb + 1));
      for (long long i = 0; i <= qb; ++i) {
        batchOffsets[static_cast<size_t>(i)] = offsets[q0 + i] - base;
      }
      if (entries > 0) {
        LATENT_CUDA_CHECK(cudaMemcpyAsync(db.subset.ptr, db.hostSubset.ptr, static_cast<size_t>(entries) * sizeof(uint32_t),
                                          cudaMemcpyHostToDevice, db.stream));
      }
      LATENT_CUDA_CHECK(cudaMemcpyAsync(db.listOffsets.ptr, batchOffsets.data(), static_cast<size_t>(qb + 1) * sizeof(long long),
                                        cudaMemcpyHostToDevice, db.stream));
      Sq8Args a = scanArgs(db, qb, kk, plan);
      a.offsets = db.listOffsets.ptr;
      a.lists = db.subset.ptr;
      LATENT_CUDA_CHECK(bucket.launchSq8Stream(a, dim3(static_cast<unsigned>(plan.chunks), static_cast<unsigned>(qb)),
                                               db.stream));
      LATENT_CUDA_CHECK(mergeLists(db, bucket, qb, plan.chunks, kk, db.scores.ptr, db.ids.ptr));
      LATENT_CUDA_CHECK(fetchResults(db, qb, kk));
    }
    // count results a query: its list's best first, then id -1 and score NaN.
    for (long long i = 0; i < qb; ++i) {
      for (int r = 0; r < count; ++r) {
        const size_t at = static_cast<size_t>(q0 + i) * count + r;
        const long long id = r < kk ? db.hostIds.ptr[static_cast<size_t>(i) * kk + r] : -1;
        outIds[at] = id;
        outScores[at] = id >= 0 ? db.hostScores.ptr[static_cast<size_t>(i) * kk + r]
                                : std::numeric_limits<float>::quiet_NaN();
      }
    }
    q0 = q1;
  }
  return cudaSuccess;
}

cudaError_t sq8Distances(Database& db, const int8_t* queries, const float* terms, int q, long long from, long long to,
                         float* out) {
  LATENT_CUDA_CHECK(cudaSetDevice(db.device));
  constexpr int TQ = kDistanceTQ;
  constexpr int TN = kDistanceTN;
  const long long width = to - from;
  const long long perQuery = 4LL * db.words + 4LL * kSq8QueryTerms;
  // Queries take at most half the scratch limit, the score block the rest.
  long long batch = std::min(batchLimit(db), static_cast<long long>(q));
  while (batch > 1 && batch * (perQuery + 4LL * TN) > db.scratchLimit / 2) {
    batch = (batch + 1) / 2;
  }
  const long long blockFloats = std::min(kDistanceBlockFloats, (db.scratchLimit - batch * perQuery) / 4);
  const long long blockRows = std::min(width, std::max<long long>(TN, blockFloats / batch));
  LATENT_CUDA_CHECK(db.fitScratch(batch * perQuery + 4 * batch * blockRows));
  LATENT_CUDA_CHECK(db.qCodes.reserve(static_cast<size_t>(batch) * db.words));
  LATENT_CUDA_CHECK(db.qTerms.reserve(static_cast<size_t>(batch) * kSq8QueryTerms));
  LATENT_CUDA_CHECK(db.block.reserve(static_cast<size_t>(batch * blockRows)));
  LATENT_CUDA_CHECK(db.hostBlock.reserve(static_cast<size_t>(batch * blockRows)));
  for (long long q0 = 0; q0 < q; q0 += batch) {
    const long long qb = std::min(batch, q - q0);
    LATENT_CUDA_CHECK(uploadQueryCodes(db, queries + static_cast<size_t>(q0) * wordBytes(db),
                                       terms + static_cast<size_t>(q0) * kSq8QueryTerms, qb));
    for (long long r0 = from; r0 < to; r0 += blockRows) {
      const long long rb = std::min(blockRows, to - r0);
      Sq8DistanceArgs a{};
      a.queries = db.qCodes.ptr;
      a.qTerms = db.qTerms.ptr;
      a.nQueries = static_cast<int>(qb);
      a.words = db.words;
      a.codes = db.codes.ptr;
      a.norms = db.metric == kL2 ? db.codeNorms.ptr : nullptr;
      a.firstRow = static_cast<uint32_t>(r0);
      a.nRows = static_cast<uint32_t>(rb);
      a.metric = db.metric;
      a.out = db.block.ptr;
      a.ld = static_cast<size_t>(rb);
      const dim3 grid(static_cast<unsigned>(ceilDiv(rb, TN)), static_cast<unsigned>(ceilDiv(qb, TQ)));
      auto* const kernel = &sq8DistanceKernel<TQ, TN>;
      LATENT_LAUNCH(kernel, grid, kThreads, 0, db.stream, a);
      LATENT_CUDA_LAUNCH_CHECK(db.stream);
      LATENT_CUDA_CHECK(cudaMemcpyAsync(db.hostBlock.ptr, db.block.ptr, static_cast<size_t>(qb * rb) * sizeof(float),
                                        cudaMemcpyDeviceToHost, db.stream));
      LATENT_CUDA_CHECK(cudaStreamSynchronize(db.stream));
      for (long long i = 0; i < qb; ++i) {
        std::memcpy(out + static_cast<size_t>(q0 + i) * width + (r0 - from), db.hostBlock.ptr + static_cast<size_t>(i) * rb,
                    static_cast<size_t>(rb) * sizeof(float));
      }
    }
  }
  return cudaSuccess;
}

}  // namespace latent
