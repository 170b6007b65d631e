// Device-resident matrices: creation, append (only new rows cross the bus), release, query upload, and
// the norm-term kernel launch that checks the vector rule on the device.
#include <cstring>
#include <memory>

#include "latent_internal.h"
#include "latent_norms.cuh"

namespace latent {

long long Database::scratchBytes() const {
  return static_cast<long long>(
      queries.capacity * 4 + qTerms.capacity * 4 + keysA.capacity * 4 + keysB.capacity * 4 + rowsA.capacity * 4 +
      rowsB.capacity * 4 + subset.capacity * 4 + scores.capacity * 4 + ids.capacity * 8 + block.capacity * 4 +
      flags.capacity * 8 + hitQuery.capacity * 4 + hitRow.capacity * 4 + hitScore.capacity * 4 +
      order.capacity * 4 + starts.capacity * 4 + sums.capacity * 8 + mean.capacity * 8 + poolMask.capacity +
      qCodes.capacity * 4 + listOffsets.capacity * 8);
}

long long Database::residentBytes() const {
  return static_cast<long long>(rows.capacity * 4 + terms.capacity * 4 + codes.capacity * 4 + codeNorms.capacity * 4);
}

cudaError_t Database::releaseScratch() {
  for (cudaError_t e : {queries.release(), qTerms.release(), keysA.release(), keysB.release(), rowsA.release(),
                        rowsB.release(), subset.release(), scores.release(), ids.release(), block.release(),
                        flags.release(), hitQuery.release(), hitRow.release(), hitScore.release(), order.release(),
                        starts.release(), sums.release(), mean.release(), poolMask.release(), qCodes.release(),
                        listOffsets.release()}) {
    LATENT_CUDA_CHECK(e);
  }
  return cudaSuccess;
}

cudaError_t Database::fitScratch(long long need) {
  if (scratchBytes() + need > scratchLimit) {
    LATENT_CUDA_CHECK(releaseScratch());
  }
  return cudaSuccess;
}

cudaError_t Database::release() {
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
  keep(flags.release());
  keep(hitQuery.release());
  keep(hitRow.release());
  keep(hitScore.release());
  keep(order.release());
  keep(starts.release());
  keep(sums.release());
  keep(mean.release());
  keep(poolMask.release());
  keep(codes.release());
  keep(codeNorms.release());
  keep(qCodes.release());
  keep(listOffsets.release());
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

cudaError_t resetBadRow(Database& db) {
  LATENT_CUDA_CHECK(db.flags.reserve(2));
  LATENT_CUDA_CHECK(cudaMemsetAsync(db.flags.ptr, 0xFF, sizeof(unsigned long long), db.stream));
  return cudaSuccess;
}

cudaError_t readBadRow(Database& db, long long* bad) {
  unsigned long long v = ~0ULL;
  LATENT_CUDA_CHECK(cudaMemcpyAsync(&v, db.flags.ptr, sizeof(v), cudaMemcpyDeviceToHost, db.stream));
  LATENT_CUDA_CHECK(cudaStreamSynchronize(db.stream));
  *bad = v == ~0ULL ? -1 : static_cast<long long>(v);
  return cudaSuccess;
}

cudaError_t uploadQueries(Database& db, const float* host, long long count) {
  const size_t floats = static_cast<size_t>(count) * db.d;
  std::memcpy(db.hostQueries.ptr, host, floats * sizeof(float));
  LATENT_CUDA_CHECK(cudaMemcpyAsync(db.queries.ptr, db.hostQueries.ptr, floats * sizeof(float),
                                    cudaMemcpyHostToDevice, db.stream));
  LATENT_CUDA_CHECK(launchNormTerms(db.queries.ptr, count, db.d, db.metric, db.qTerms.ptr, db.flags.ptr,
                                    db.multiprocessors, db.stream));
  return cudaSuccess;
}

namespace {

/// Copies `bytes` of host memory to device `dst` through two pinned buffers, overlapping the host copy
/// with the transfer.
cudaError_t uploadBytes(Database& db, char* dst, const char* src, size_t total) {
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

/// Uploads rows [from, from + count) (already room for them) and computes their terms; *badRow gets the
/// lowest new row that breaks the vector rule (absolute index), or stays -1.
cudaError_t uploadAndNorm(Database& db, const float* host, long long from, long long count, long long* badRow) {
  LATENT_CUDA_CHECK(uploadBytes(db, reinterpret_cast<char*>(db.rows.ptr + static_cast<size_t>(from) * db.d),
                                reinterpret_cast<const char*>(host), static_cast<size_t>(count) * db.d * sizeof(float)));
  if (count > 0) {
    LATENT_CUDA_CHECK(resetBadRow(db));
    LATENT_CUDA_CHECK(launchNormTerms(db.rows.ptr + static_cast<size_t>(from) * db.d, count, db.d, db.metric,
                                      db.terms.ptr + from, db.flags.ptr, db.multiprocessors, db.stream));
    long long bad = -1;
    LATENT_CUDA_CHECK(readBadRow(db, &bad));
    if (bad >= 0) {
      *badRow = from + bad;
    }
  }
  return cudaSuccess;
}

}  // namespace

cudaError_t createDatabase(int device, const float* host, long long n, int d, int metric, Database*& out,
                           long long* badRow) {
  auto db = std::make_unique<Database>();
  db->device = device;
  db->metric = metric;
  db->d = d;
  db->n = n;
  LATENT_CUDA_CHECK(cudaSetDevice(device));
  LATENT_CUDA_CHECK(cudaDeviceGetAttribute(&db->multiprocessors, cudaDevAttrMultiProcessorCount, device));
  LATENT_CUDA_CHECK(cudaDeviceGetAttribute(&db->computeMajor, cudaDevAttrComputeCapabilityMajor, device));
  LATENT_CUDA_CHECK(cudaStreamCreateWithFlags(&db->stream, cudaStreamNonBlocking));
  LATENT_CUDA_CHECK(db->rows.reserve(std::max<size_t>(static_cast<size_t>(n) * d, 1)));
  LATENT_CUDA_CHECK(db->terms.reserve(std::max<long long>(n, 1)));
  LATENT_CUDA_CHECK(uploadAndNorm(*db, host, 0, n, badRow));
  out = db.release();
  return cudaSuccess;
}

cudaError_t refreshRows(Database& db, const float* host, const long long* changed, long long count, long long newN) {
  LATENT_CUDA_CHECK(cudaSetDevice(db.device));
  LATENT_CUDA_CHECK(db.flags.reserve(2));
  const size_t rowBytes = static_cast<size_t>(db.d) * sizeof(float);
  for (long long i = 0; i < count; ++i) {
    const size_t r = static_cast<size_t>(changed[i]);
    // Each row once, from pageable memory (a removal changes few rows; many go through a new upload).
    LATENT_CUDA_CHECK(cudaMemcpyAsync(db.rows.ptr + r * db.d, host + r * db.d, rowBytes, cudaMemcpyHostToDevice,
                                      db.stream));
    LATENT_CUDA_CHECK(launchNormTerms(db.rows.ptr + r * db.d, 1, db.d, db.metric, db.terms.ptr + r, db.flags.ptr,
                                      db.multiprocessors, db.stream));
  }
  LATENT_CUDA_CHECK(cudaStreamSynchronize(db.stream));
  db.n = newN;
  return cudaSuccess;
}

cudaError_t appendRows(Database& db, const float* host, long long n, long long* badRow) {
  LATENT_CUDA_CHECK(cudaSetDevice(db.device));
  const long long total = db.n + n;
  // Room by doubling, keeping the resident rows: appends cost the new rows, amortised.
  const size_t rowsCap = db.rows.capacity / static_cast<size_t>(db.d);
  if (static_cast<size_t>(total) > rowsCap || static_cast<size_t>(total) > db.terms.capacity) {
    const size_t cap = std::max<size_t>(static_cast<size_t>(total), 2 * rowsCap);
    LATENT_CUDA_CHECK(db.rows.grow(cap * db.d, static_cast<size_t>(db.n) * db.d, db.stream));
    LATENT_CUDA_CHECK(db.terms.grow(cap, static_cast<size_t>(db.n), db.stream));
  }
  LATENT_CUDA_CHECK(uploadAndNorm(db, host, db.n, n, badRow));
  if (*badRow < 0) {
    db.n = total;   // only now are the new rows part of the matrix
  }
  return cudaSuccess;
}

}  // namespace latent
