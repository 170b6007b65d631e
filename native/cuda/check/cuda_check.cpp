// cuda_check: liblatentcuda through its C API (latent_cuda.h) on fixed cases, checked against a
// float64 reference, with no JVM. It is what compute-sanitizer (memcheck, racecheck, synccheck,
// initcheck) runs on a GPU host, and, linked against the host simulator instead of the GPU library
// (build.sh sim), it proves its own checks on any machine.
//
//   cuda_check [--quick] [--large] [--seed S] [--device N]
//     --quick   small cases only (for the sanitizers, which slow kernels down 10-1000x)
//     --large   add GPU-sized cases (10^5..10^6 rows, two query batches, multi-pass merges);
//               their reference runs on a sample of queries
//
// Every case prints one line, "ok   <case>" or "FAIL <case>: <why>", and the last line is
// "cuda_check: <cases> cases, <failures> failures"; the exit status is 0 only when nothing failed
// (2 when no device could be used at all).
//
// Checks, per top-k case: result count; ids in range and unique; the score at every rank equal to
// the float64 reference's score at that rank within the tolerance; each returned score equal to the
// exact score of the returned row; and on small-integer data (exact in float32) the exact reference
// ids, so ties must go to the lower row. Tolerance: REL * scale, with scale |q||x| (inner product),
// 1 (cosine) or |q|^2 + |x|^2 (squared L2): a float32 sum of d products errs in proportion to the sum
// of their magnitudes, which Cauchy-Schwarz bounds by that scale.
//
// 8-bit codes (latent_cuda_sq8_*): rows encoded and queries quantised here as the Java side does (Sq8: per-dimension
// ranges, 255 levels, queries to [-127, 127]), and every result checked against a scalar reference of the integer
// rule, ids and score bits exactly: all rows and per-query lists, append, refresh, score blocks, a small scratch
// limit, and the argument checks.
#include "latent_cuda.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

/// Live device allocations when linked against the host simulator (sim/sim_runtime.cpp); absent on a GPU.
extern "C" long long latent_cuda_sim_live_allocations(void) __attribute__((weak));
/// Large top-k batches the library scored on the tensor cores (search.cu); absent from older libraries.
extern "C" long long latent_cuda_tensor_core_batches(void) __attribute__((weak));

namespace {

constexpr int kIp = 0, kCos = 1, kL2 = 2;
constexpr double REL = 1e-4;
const char* const kMetricNames[] = {"IP", "COS", "L2"};

int cases = 0;
int failures = 0;
int device = 0;

void report(bool good, const std::string& name, const std::string& why = "") {
  ++cases;
  if (good) {
    std::printf("ok   %s\n", name.c_str());
  } else {
    ++failures;
    std::printf("FAIL %s: %s\n", name.c_str(), why.c_str());
  }
}

std::string describe(int code) {
  return std::to_string(code) + " (" + latent_cuda_error_string(code) + "; " + latent_cuda_last_error() + ")";
}

struct Data {
  int metric = kIp;
  long long n = 0;
  int q = 0, d = 0;
  bool integers = false;  // small integers: every float32 result is exact
  std::vector<float> rows, queries;
  std::string name;
};

/// n rows and q queries: Gaussian floats, or small integers in [-2, 2] (exact scores, real ties);
/// distinct > 0 makes every row past the first `distinct` a copy of one of them (duplicates).
Data make(std::mt19937_64& rng, int metric, long long n, int d, int q, bool integers, int distinct = 0) {
  Data p;
  p.metric = metric;
  p.n = n;
  p.d = d;
  p.q = q;
  p.integers = integers;
  std::normal_distribution<float> gauss;
  std::uniform_int_distribution<int> small(-2, 2);
  auto fill = [&](std::vector<float>& v, size_t count) {
    v.resize(count);
    for (float& x : v) x = integers ? static_cast<float>(small(rng)) : gauss(rng);
  };
  fill(p.rows, static_cast<size_t>(n) * d);
  fill(p.queries, static_cast<size_t>(q) * d);
  // Non-zero rows and queries (cosine needs them).
  for (long long i = 0; i < n; ++i) p.rows[static_cast<size_t>(i) * d + static_cast<size_t>(i % d)] = 2;
  for (int i = 0; i < q; ++i) p.queries[static_cast<size_t>(i) * d] = 1;
  if (distinct > 0) {
    std::uniform_int_distribution<long long> pick(0, distinct - 1);
    for (long long i = distinct; i < n; ++i) {
      std::copy_n(p.rows.begin() + static_cast<size_t>(pick(rng)) * d, d, p.rows.begin() + static_cast<size_t>(i) * d);
    }
  }
  p.name = std::string(kMetricNames[metric]) + " N=" + std::to_string(n) + " d=" + std::to_string(d) +
           " Q=" + std::to_string(q) + (integers ? " ints" : " floats") +
           (distinct > 0 ? " dup" + std::to_string(distinct) : "");
  return p;
}

double exact(const Data& p, const float* query, long long row) {
  const float* x = p.rows.data() + static_cast<size_t>(row) * p.d;
  double dot = 0, qq = 0, xx = 0;
  for (int c = 0; c < p.d; ++c) {
    dot += static_cast<double>(query[c]) * x[c];
    qq += static_cast<double>(query[c]) * query[c];
    xx += static_cast<double>(x[c]) * x[c];
  }
  if (p.metric == kCos) return dot / std::sqrt(qq * xx);
  if (p.metric == kL2) return std::max(qq + xx - 2 * dot, 0.0);
  return dot;
}

double scale(const Data& p, const float* query, long long row) {
  if (p.metric == kCos) return 1.0;
  const float* x = p.rows.data() + static_cast<size_t>(row) * p.d;
  double qq = 0, xx = 0;
  for (int c = 0; c < p.d; ++c) {
    qq += static_cast<double>(query[c]) * query[c];
    xx += static_cast<double>(x[c]) * x[c];
  }
  return p.metric == kL2 ? qq + xx : std::sqrt(qq * xx);
}

/// A database handle freed exactly once.
struct Handle {
  long long h = 0;
  ~Handle() {
    if (h != 0) latent_cuda_db_free(h);
  }
  int release() {
    const long long x = h;
    h = 0;
    return latent_cuda_db_free(x);
  }
};

int create(const Data& p, Handle& out, long long* badRow = nullptr) {
  long long bad = -1;
  const int rc = latent_cuda_db_create(device, p.rows.data(), p.n, p.d, p.metric, &out.h, &bad);
  if (badRow != nullptr) *badRow = bad;
  return rc;
}

/// Checks q x count results of `queries` (a subset of p's queries: `first` onwards, `checked` of them)
/// over the candidates (all rows, or `subset`) against the float64 reference. Returns "" when right.
std::string verify(const Data& p, const float* queries, int checked, int k, const std::vector<long long>* subset,
                   const std::vector<long long>& ids, const std::vector<float>& scores, int count) {
  const long long candidates = subset != nullptr ? static_cast<long long>(subset->size()) : p.n;
  const int want = static_cast<int>(std::min<long long>(k, candidates));
  if (count != want) return "count " + std::to_string(count) + ", want " + std::to_string(want);
  const bool higher = p.metric != kL2;
  char buf[512];
  std::vector<std::pair<double, long long>> ref(static_cast<size_t>(candidates));
  for (int qi = 0; qi < checked; ++qi) {
    const float* query = queries + static_cast<size_t>(qi) * p.d;
    for (long long i = 0; i < candidates; ++i) {
      const long long row = subset != nullptr ? (*subset)[static_cast<size_t>(i)] : i;
      ref[static_cast<size_t>(i)] = {exact(p, query, row), row};
    }
    // Best `count` by (score, lower row): a strict order, so the exact ids are defined.
    std::partial_sort(ref.begin(), ref.begin() + count, ref.end(), [higher](const auto& a, const auto& b) {
      if (a.first != b.first) return higher ? a.first > b.first : a.first < b.first;
      return a.second < b.second;
    });
    std::vector<long long> seen;
    seen.reserve(static_cast<size_t>(count));
    for (int r = 0; r < count; ++r) {
      const long long id = ids[static_cast<size_t>(qi) * count + r];
      const float score = scores[static_cast<size_t>(qi) * count + r];
      const bool inRange = id >= 0 && id < p.n &&
                           (subset == nullptr || std::binary_search(subset->begin(), subset->end(), id));
      if (!inRange) {
        std::snprintf(buf, sizeof(buf), "query %d rank %d: id %lld is not a candidate", qi, r, id);
        return buf;
      }
      if (std::find(seen.begin(), seen.end(), id) != seen.end()) {
        std::snprintf(buf, sizeof(buf), "query %d rank %d: id %lld repeated", qi, r, id);
        return buf;
      }
      seen.push_back(id);
      const auto& want_r = ref[static_cast<size_t>(r)];
      const double tol = p.integers && p.metric != kCos
                             ? 0.0
                             : REL * std::max(scale(p, query, id), scale(p, query, want_r.second));
      const double own = exact(p, query, id);
      if (std::fabs(score - want_r.first) > tol) {
        std::snprintf(buf, sizeof(buf), "query %d rank %d: score %.9g, reference %.9g (row %lld), tolerance %.3g",
                      qi, r, score, want_r.first, want_r.second, tol);
        return buf;
      }
      if (std::fabs(score - own) > tol) {
        std::snprintf(buf, sizeof(buf), "query %d rank %d: score %.9g but row %lld scores %.9g exactly", qi, r, score,
                      id, own);
        return buf;
      }
      if (tol == 0.0 && id != want_r.second) {
        std::snprintf(buf, sizeof(buf), "query %d rank %d: row %lld, want row %lld (exact data: ties go to the lower row)",
                      qi, r, id, want_r.second);
        return buf;
      }
    }
  }
  return "";
}

/// Sets a handle's scratch limit (when `limit` > 0); "" when that worked.
std::string limitScratch(const Handle& h, long long limit) {
  if (limit <= 0) return "";
  const int rc = latent_cuda_db_set_scratch_limit(h.h, limit);
  return rc == 0 ? "" : "latent_cuda_db_set_scratch_limit returned " + describe(rc);
}

/// "" when the handle's scratch is within `limit` (or no limit is set).
std::string scratchWithin(const Handle& h, long long limit) {
  if (limit <= 0) return "";
  long long bytes = -1;
  const int rc = latent_cuda_db_scratch_bytes(h.h, &bytes);
  if (rc != 0) return "latent_cuda_db_scratch_bytes returned " + describe(rc);
  return bytes <= limit ? "" : "scratch " + std::to_string(bytes) + " bytes, above the limit " + std::to_string(limit);
}

/// Creates the handle of p with its scratch limited to `scratch` bytes when > 0; reports a failure as
/// case `name` and returns false.
bool open(const Data& p, Handle& h, long long scratch, const std::string& name) {
  const int rc = create(p, h);
  std::string why = rc != 0 ? "latent_cuda_db_create returned " + describe(rc) : limitScratch(h, scratch);
  if (!why.empty()) report(false, name, why);
  return why.empty();
}

/// Top-k of all queries of p (or a subset of rows), checked on the first `sample` queries (all when 0),
/// with the handle's scratch limited to `scratch` bytes when > 0 (the work split to fit it).
void checkTopk(std::mt19937_64& rng, const Data& p, int k, double subsetFraction = 0, int sample = 0,
               long long scratch = 0) {
  std::vector<long long> subset;
  if (subsetFraction > 0) {
    std::bernoulli_distribution keep(subsetFraction);
    for (long long i = 0; i < p.n; ++i) {
      if (keep(rng)) subset.push_back(i);
    }
  }
  std::string name = p.name + " k=" + std::to_string(k) +
                     (subsetFraction > 0 ? " subset=" + std::to_string(subset.size()) : "") +
                     (scratch > 0 ? " scratch=" + std::to_string(scratch >> 10) + "KiB" : "");
  Handle h;
  if (!open(p, h, scratch, name)) return;
  const long long candidates = subsetFraction > 0 ? static_cast<long long>(subset.size()) : p.n;
  const int count = static_cast<int>(std::min<long long>(k, candidates));
  std::vector<long long> ids(static_cast<size_t>(p.q) * std::max(count, 1), -7);
  std::vector<float> scores(ids.size(), -7.0f);
  int outCount = -1;
  const auto start = std::chrono::steady_clock::now();
  long long badQuery = -1;
  int rc = latent_cuda_topk(h.h, p.queries.data(), p.q, p.d, k, subsetFraction > 0 ? subset.data() : nullptr,
                        static_cast<long long>(subset.size()), ids.data(), scores.data(), &outCount, &badQuery);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (rc != 0) {
    report(false, name, "latent_cuda_topk returned " + describe(rc));
    return;
  }
  const int checked = sample > 0 ? std::min(sample, p.q) : p.q;
  std::string why = verify(p, p.queries.data(), checked, k, subsetFraction > 0 ? &subset : nullptr, ids, scores,
                           outCount);
  if (why.empty()) why = scratchWithin(h, scratch);
  if (why.empty()) {
    // The same call again on the same handle (scratch reused) must give the same answer.
    std::vector<long long> ids2(ids.size(), -9);
    std::vector<float> scores2(ids.size(), -9.0f);
    int count2 = -1;
    rc = latent_cuda_topk(h.h, p.queries.data(), p.q, p.d, k, subsetFraction > 0 ? subset.data() : nullptr,
                          static_cast<long long>(subset.size()), ids2.data(), scores2.data(), &count2, &badQuery);
    if (rc != 0) {
      why = "second latent_cuda_topk returned " + describe(rc);
    } else if (count2 != outCount || ids2 != ids || scores2 != scores) {
      why = "a second identical call on the same handle gave different results";
    }
  }
  const int freed = h.release();
  if (why.empty() && freed != 0) why = "latent_cuda_db_free returned " + describe(freed);
  char timing[96];
  std::snprintf(timing, sizeof(timing), " (%.1f ms%s)", ms,
                checked < p.q ? (", reference on " + std::to_string(checked) + " queries").c_str() : "");
  report(why.empty(), name + timing, why);
}

/// A large batch (64 queries or more, k <= 256) twice: on the tensor cores (TF32 candidates, exact re-rank) and
/// with LATENT_CUDA_TENSOR_CORES=0 on float32 score blocks. The results must be equal bit for bit, match the
/// float64 reference, and the library's counter must show that the first call took the tensor cores (on
/// compute capability 8.0 or newer; on older devices both calls take the float32 path and that is reported).
void checkTensorCores(const Data& p, int k, long long scratch = 0) {
  const std::string name = "tensor cores = float32 path " + p.name + " k=" + std::to_string(k) +
                           (scratch > 0 ? " scratch=" + std::to_string(scratch >> 10) + "KiB" : "");
  if (latent_cuda_tensor_core_batches == nullptr) {
    report(false, name, "the library does not export latent_cuda_tensor_core_batches");
    return;
  }
  Handle h;
  if (!open(p, h, scratch, name)) return;
  const int count = static_cast<int>(std::min<long long>(k, p.n));
  std::vector<long long> ids[2];
  std::vector<float> scores[2];
  long long batches[2] = {0, 0};
  for (int run = 0; run < 2; ++run) {
    ids[run].assign(static_cast<size_t>(p.q) * count, -7);
    scores[run].assign(ids[run].size(), -7.0f);
    if (run == 1) setenv("LATENT_CUDA_TENSOR_CORES", "0", 1);
    const long long before = latent_cuda_tensor_core_batches();
    int outCount = -1;
    long long badQuery = -1;
    const int rc = latent_cuda_topk(h.h, p.queries.data(), p.q, p.d, k, nullptr, 0, ids[run].data(),
                                    scores[run].data(), &outCount, &badQuery);
    batches[run] = latent_cuda_tensor_core_batches() - before;
    unsetenv("LATENT_CUDA_TENSOR_CORES");
    if (rc != 0 || outCount != count) {
      report(false, name, "latent_cuda_topk returned " + describe(rc));
      return;
    }
  }
  int major = 0, minor = 0, sms = 0;
  long long freeBytes = 0, totalBytes = 0;
  char device_name[256];
  latent_cuda_device_info(device, device_name, sizeof(device_name), &major, &minor, &sms, &freeBytes, &totalBytes);
  std::string why;
  if (major >= 8 && batches[0] == 0) {
    why = "compute capability " + std::to_string(major) + "." + std::to_string(minor) + " but no batch took the tensor cores";
  } else if (batches[1] != 0) {
    why = "LATENT_CUDA_TENSOR_CORES=0 still took the tensor cores";
  } else if (ids[0] != ids[1] || std::memcmp(scores[0].data(), scores[1].data(), scores[0].size() * sizeof(float)) != 0) {
    size_t i = 0;
    while (i < ids[0].size() && ids[0][i] == ids[1][i] &&
           std::memcmp(&scores[0][i], &scores[1][i], sizeof(float)) == 0) ++i;
    char detail[160];
    std::snprintf(detail, sizeof(detail), "result %zu: row %lld score %.9g on the tensor cores, row %lld score %.9g in float32",
                  i, ids[0][i], scores[0][i], ids[1][i], scores[1][i]);
    why = detail;
  } else {
    // The float64 reference on every query, or on the first 16 of a large problem.
    const int checked = p.n * p.q > 50000000LL ? std::min(p.q, 16) : p.q;
    why = verify(p, p.queries.data(), checked, k, nullptr, ids[0], scores[0], count);
  }
  if (why.empty()) why = scratchWithin(h, scratch);
  report(why.empty(), name + (major >= 8 ? " (" + std::to_string(batches[0]) + " tensor-core batches)" : " (no tensor cores on this device)"), why);
}

void checkDistances(const Data& p, long long from, long long to, long long scratch = 0) {
  const std::string name = "distances " + p.name + " rows [" + std::to_string(from) + ", " + std::to_string(to) + ")" +
                           (scratch > 0 ? " scratch=" + std::to_string(scratch >> 10) + "KiB" : "");
  Handle h;
  if (!open(p, h, scratch, name)) return;
  const long long width = to - from;
  std::vector<float> out(static_cast<size_t>(p.q) * std::max<long long>(width, 1), -12345.0f);
  long long badQuery = -1;
  int rc = latent_cuda_distances(h.h, p.queries.data(), p.q, p.d, from, to, out.data(), &badQuery);
  if (rc != 0) {
    report(false, name, "latent_cuda_distances returned " + describe(rc));
    return;
  }
  double worst = 0;
  for (int i = 0; i < p.q; ++i) {
    const float* query = p.queries.data() + static_cast<size_t>(i) * p.d;
    for (long long r = 0; r < width; ++r) {
      const double want = exact(p, query, from + r);
      const double err = std::fabs(out[static_cast<size_t>(i) * width + r] - want) / scale(p, query, from + r);
      worst = std::max(worst, err);
    }
  }
  char why[128];
  std::snprintf(why, sizeof(why), "largest error %.3g of the scale, allowed %.3g", worst, REL);
  const std::string over = scratchWithin(h, scratch);
  report(worst <= REL && over.empty(), name, worst <= REL ? over : why);
}

/// The host encoder's pooling (TextEncoder.pool), the reference latent_cuda_topk_pooled must match bit for bit.
std::vector<float> poolOnHost(const std::vector<float>& tokens, const std::vector<long long>& mask, int q, int t, int h,
                              int pooling, bool normalize) {
  std::vector<float> out(static_cast<size_t>(q) * h);
  for (int r = 0; r < q; ++r) {
    float* row = out.data() + static_cast<size_t>(r) * h;
    const float* base = tokens.data() + static_cast<size_t>(r) * t * h;
    if (pooling == LATENT_POOL_FIRST) {
      std::copy_n(base, h, row);
    } else {
      float count = 0;
      for (int k = 0; k < t; ++k) {
        if (mask[static_cast<size_t>(r) * t + k] == 0) continue;
        count++;
        for (int c = 0; c < h; ++c) row[c] += base[static_cast<size_t>(k) * h + c];
      }
      const float inv = 1.0f / std::max(count, 1e-9f);
      for (int c = 0; c < h; ++c) row[c] *= inv;
    }
    if (normalize) {
      double ss = 0;
      for (int c = 0; c < h; ++c) ss += static_cast<double>(row[c]) * row[c];
      const float inv = static_cast<float>(1.0 / std::max(std::sqrt(ss), 1e-12));
      for (int c = 0; c < h; ++c) row[c] *= inv;
    }
  }
  return out;
}

/// Top-k of queries pooled on the device from token embeddings in device memory: the same results, bit for
/// bit, as latent_cuda_topk on the host-pooled queries, and right against the float64 reference.
void checkPooled(std::mt19937_64& rng, int metric, int q, int t, int pooling, bool normalize, int k, long long n = 3000) {
  Data p = make(rng, metric, n, 24, q, false);
  const std::string name = "pooled " + p.name + " t=" + std::to_string(t) +
                           (pooling == LATENT_POOL_MEAN ? " mean" : " first") + (normalize ? " normalised" : "") +
                           " k=" + std::to_string(k);
  std::normal_distribution<float> gauss;
  std::vector<float> tokens(static_cast<size_t>(q) * t * p.d);
  for (float& x : tokens) x = gauss(rng);
  std::vector<long long> mask(static_cast<size_t>(q) * t, 0);
  std::uniform_int_distribution<int> kept(1, t);
  for (int r = 0; r < q; ++r) {   // 1..t leading tokens kept, as padding leaves them, and one hole
    const int n = kept(rng);
    for (int i = 0; i < n; ++i) mask[static_cast<size_t>(r) * t + i] = 1;
    if (n > 2) mask[static_cast<size_t>(r) * t + 1] = 0;
  }
  p.queries = poolOnHost(tokens, mask, q, t, p.d, pooling, normalize);
  Handle h;
  if (!open(p, h, 0, name)) return;
  long long address = 0;
  int rc = latent_cuda_device_alloc(device, static_cast<long long>(tokens.size() * sizeof(float)), &address);
  if (rc == 0) rc = latent_cuda_device_copy(address, tokens.data(), static_cast<long long>(tokens.size() * sizeof(float)), 1);
  const int count = static_cast<int>(std::min<long long>(k, p.n));
  std::vector<long long> ids(static_cast<size_t>(q) * count, -5), want(ids.size(), -6);
  std::vector<float> scores(ids.size(), -5.0f), wantScores(ids.size(), -6.0f);
  int outCount = -1, wantCount = -1;
  long long bad = -1;
  if (rc == 0) {
    rc = latent_cuda_topk_pooled(h.h, address, mask.data(), q, t, p.d, pooling, normalize ? 1 : 0, k, ids.data(),
                                 scores.data(), &outCount, &bad);
  }
  std::string why = rc != 0 ? "latent_cuda_topk_pooled returned " + describe(rc) + ": " + latent_cuda_last_error() : "";
  if (why.empty()) {
    rc = latent_cuda_topk(h.h, p.queries.data(), q, p.d, k, nullptr, 0, want.data(), wantScores.data(), &wantCount, &bad);
    if (rc != 0) {
      why = "latent_cuda_topk returned " + describe(rc);
    } else if (outCount != wantCount || ids != want || scores != wantScores) {
      why = "results differ from latent_cuda_topk on the host-pooled queries";
    }
  }
  if (why.empty()) why = verify(p, p.queries.data(), q, k, nullptr, ids, scores, outCount);
  const int freed = latent_cuda_device_free(address);
  if (why.empty() && freed != 0) why = "latent_cuda_device_free returned " + describe(freed);
  report(why.empty(), name, why);
}

/// Removals as VectorSet makes them (the last row moved into each hole), patched into a handle with
/// latent_cuda_db_refresh: top-k on the patched handle equals top-k on a handle made from the rows now.
void checkRefresh(std::mt19937_64& rng, int metric) {
  Data p = make(rng, metric, 700, 7, 9, true, 60);
  const std::string name = "refresh after removals " + p.name;
  Handle h;
  if (!open(p, h, 0, name)) return;
  std::vector<float> rows = p.rows;
  long long n = p.n;
  std::vector<long long> holes;
  std::uniform_int_distribution<long long> any(0, n - 1);
  for (int i = 0; i < 40; ++i) {
    const long long r = any(rng) % n;
    const long long last = n - 1;
    if (r != last) {
      std::copy_n(rows.begin() + last * p.d, p.d, rows.begin() + r * p.d);
      holes.push_back(r);
    }
    n--;
  }
  std::vector<long long> changed;
  for (long long r : holes) {
    if (r < n) changed.push_back(r);
  }
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  int rc = latent_cuda_db_refresh(h.h, rows.data(), changed.data(), static_cast<long long>(changed.size()), n);
  Data now = p;
  now.n = n;
  now.rows.assign(rows.begin(), rows.begin() + n * p.d);
  Handle fresh;
  std::string why = rc != 0 ? "latent_cuda_db_refresh returned " + describe(rc) : "";
  if (why.empty() && !open(now, fresh, 0, name)) return;
  for (int k : {1, 10, 700}) {
    if (!why.empty()) break;
    const int count = static_cast<int>(std::min<long long>(k, n));
    std::vector<long long> a(static_cast<size_t>(p.q) * count), b(a.size());
    std::vector<float> as(a.size()), bs(a.size());
    int ca = 0, cb = 0;
    long long bad = -1;
    rc = latent_cuda_topk(h.h, p.queries.data(), p.q, p.d, k, nullptr, 0, a.data(), as.data(), &ca, &bad);
    if (rc == 0) rc = latent_cuda_topk(fresh.h, p.queries.data(), p.q, p.d, k, nullptr, 0, b.data(), bs.data(), &cb, &bad);
    if (rc != 0) {
      why = "latent_cuda_topk returned " + describe(rc);
    } else if (ca != cb || a != b || as != bs) {
      why = "k=" + std::to_string(k) + ": the refreshed handle and a fresh one differ";
    } else {
      why = verify(now, p.queries.data(), p.q, k, nullptr, a, as, ca);
    }
  }
  if (why.empty()) {
    const long long bad[] = {5, 3};
    rc = latent_cuda_db_refresh(h.h, rows.data(), bad, 2, n);
    if (rc != LATENT_CUDA_E_INVALID) why = "unsorted changed rows were accepted: " + describe(rc);
  }
  report(why.empty(), name + " (" + std::to_string(changed.size()) + " rows changed)", why);
}

/// A pooled query that is all zero (no kept token) breaks the cosine rule and is named.
void checkPooledBadQuery(std::mt19937_64& rng) {
  Data p = make(rng, kCos, 100, 8, 3, false);
  std::vector<float> tokens(static_cast<size_t>(3) * 2 * 8, 1.0f);
  std::vector<long long> mask{1, 1, 1, 0, 0, 0};   // query 2 keeps no token
  Handle h;
  if (!open(p, h, 0, "pooled bad query")) return;
  long long address = 0;
  int rc = latent_cuda_device_alloc(device, static_cast<long long>(tokens.size() * sizeof(float)), &address);
  if (rc == 0) rc = latent_cuda_device_copy(address, tokens.data(), static_cast<long long>(tokens.size() * sizeof(float)), 1);
  std::vector<long long> ids(3 * 5);
  std::vector<float> scores(ids.size());
  int count = 0;
  long long bad = -1;
  if (rc == 0) {
    rc = latent_cuda_topk_pooled(h.h, address, mask.data(), 3, 2, 8, LATENT_POOL_MEAN, 1, 5, ids.data(), scores.data(),
                                 &count, &bad);
  }
  latent_cuda_device_free(address);
  report(rc == LATENT_CUDA_E_BAD_QUERY && bad == 2, "a pooled query with no kept token is named under cosine",
         describe(rc) + ", query " + std::to_string(bad));
}

/// The scratch limit: refused below the minimum; a call that cannot fit one query fails with
/// LATENT_CUDA_E_SCRATCH and changes nothing; the same call fits a larger limit.
void checkScratchLimit(std::mt19937_64& rng) {
  Data p = make(rng, kL2, 300000, 1, 1, true, 50);
  Handle h;
  int rc = create(p, h);
  if (rc != 0) {
    report(false, "scratch limit", "latent_cuda_db_create returned " + describe(rc));
    return;
  }
  rc = latent_cuda_db_set_scratch_limit(h.h, LATENT_CUDA_MIN_SCRATCH - 1);
  report(rc == LATENT_CUDA_E_INVALID, "a scratch limit below the minimum is refused", describe(rc));
  // One query whose candidate list alone (4 bytes a row) is larger than 1 MiB.
  std::vector<long long> offsets{0, p.n};
  std::vector<long long> rows(static_cast<size_t>(p.n));
  std::iota(rows.begin(), rows.end(), 0LL);
  std::vector<long long> ids(5, -9);
  std::vector<float> scores(5, -9.0f);
  long long bq = -1;
  rc = limitScratch(h, 1LL << 20).empty() ? 0 : -1;
  if (rc == 0) {
    rc = latent_cuda_topk_lists(h.h, p.queries.data(), 1, 1, 5, offsets.data(), rows.data(), ids.data(), scores.data(),
                                &bq);
  }
  report(rc == LATENT_CUDA_E_SCRATCH && ids == std::vector<long long>(5, -9) && scratchWithin(h, 1LL << 20).empty(),
         "one query that needs more than the scratch limit fails with LATENT_CUDA_E_SCRATCH",
         describe(rc) + ": " + latent_cuda_last_error());
  rc = limitScratch(h, 4LL << 20).empty() ? 0 : -1;
  if (rc == 0) {
    rc = latent_cuda_topk_lists(h.h, p.queries.data(), 1, 1, 5, offsets.data(), rows.data(), ids.data(), scores.data(),
                                &bq);
  }
  std::string why = rc != 0 ? "topk_lists returned " + describe(rc) : verify(p, p.queries.data(), 1, 5, &rows, ids, scores, 5);
  if (why.empty()) why = scratchWithin(h, 4LL << 20);
  report(why.empty(), "the same query within a 4 MiB scratch limit", why);
}

/// Every argument check and bad-row report of the API.
void checkErrors(std::mt19937_64& rng) {
  long long handle = -1, bad = -2;
  float one[4] = {1, 2, 3, 4};
  report(latent_cuda_db_create(device, one, 1, 4, kIp, nullptr, &bad) == LATENT_CUDA_E_INVALID,
         "db_create with a null handle output is invalid");
  report(latent_cuda_db_create(device, one, -1, 4, kIp, &handle, &bad) == LATENT_CUDA_E_INVALID && handle == 0,
         "db_create with n = -1 is invalid and leaves the handle 0");
  report(latent_cuda_db_create(device, one, 1, 0, kIp, &handle, &bad) == LATENT_CUDA_E_INVALID, "db_create with d = 0");
  report(latent_cuda_db_create(device, one, 1, 4, 3, &handle, &bad) == LATENT_CUDA_E_INVALID, "db_create with metric 3");
  report(latent_cuda_db_create(device, nullptr, 2, 4, kIp, &handle, &bad) == LATENT_CUDA_E_INVALID,
         "db_create with null rows");
  report(latent_cuda_db_free(0) == 0, "db_free(0) is accepted");

  // The lowest bad row is named: zero row 3 (cosine only), NaN in row 5, +inf in row 6, a squared
  // norm beyond float32 in row 7.
  const int n = 300, d = 5;
  for (int metric : {kIp, kCos, kL2}) {
    std::vector<float> rows(static_cast<size_t>(n) * d, 1.0f);
    std::fill_n(rows.begin() + 3 * d, d, 0.0f);
    rows[5 * d + 2] = std::nanf("");
    rows[6 * d + 4] = INFINITY;
    rows[7 * d + 1] = 3e38f;
    const long long want = metric == kCos ? 3 : 5;
    handle = -1;
    int rc = latent_cuda_db_create(device, rows.data(), n, d, metric, &handle, &bad);
    report(rc == LATENT_CUDA_E_BAD_ROW && bad == want && handle == 0,
           std::string("bad rows under ") + kMetricNames[metric] + ": lowest named",
           "rc " + describe(rc) + ", bad_row " + std::to_string(bad) + ", want " + std::to_string(want));
    rows[5 * d + 2] = 1.0f;
    rows[6 * d + 4] = 1.0f;
    std::fill_n(rows.begin() + 3 * d, d, 1.0f);
    rc = latent_cuda_db_create(device, rows.data(), n, d, metric, &handle, &bad);
    report(rc == LATENT_CUDA_E_BAD_ROW && bad == 7, std::string("overflowing squared norm under ") + kMetricNames[metric],
           "rc " + describe(rc) + ", bad_row " + std::to_string(bad));
    if (rc == 0) latent_cuda_db_free(handle);
  }

  Data p = make(rng, kL2, 5000, 8, 3, false);
  Handle h;
  int rc = create(p, h);
  if (rc != 0) {
    report(false, "error cases database", "latent_cuda_db_create returned " + describe(rc));
    return;
  }
  std::vector<long long> ids(3 * 3000);
  std::vector<float> scores(ids.size());
  int count = -1;
  long long bq = -1;
  report(latent_cuda_topk(0, p.queries.data(), 3, 8, 5, nullptr, 0, ids.data(), scores.data(), &count, &bq) ==
             LATENT_CUDA_E_INVALID,
         "topk on handle 0 is invalid");
  report(latent_cuda_topk(h.h, p.queries.data(), 3, 7, 5, nullptr, 0, ids.data(), scores.data(), &count, &bq) ==
             LATENT_CUDA_E_INVALID,
         "topk with the wrong dimension is invalid");
  report(latent_cuda_topk(h.h, p.queries.data(), 3, 8, 0, nullptr, 0, ids.data(), scores.data(), &count, &bq) ==
             LATENT_CUDA_E_INVALID,
         "topk with k = 0 is invalid");
  rc = latent_cuda_topk(h.h, p.queries.data(), 3, 8, 3000, nullptr, 0, ids.data(), scores.data(), &count, &bq);
  report(rc == LATENT_CUDA_E_K_TOO_LARGE, "topk with k = 3000 over 5000 rows: k too large", describe(rc));
  const long long unsorted[3] = {4, 2, 9};
  report(latent_cuda_topk(h.h, p.queries.data(), 3, 8, 2, unsorted, 3, ids.data(), scores.data(), &count, &bq) ==
             LATENT_CUDA_E_INVALID,
         "topk with an unsorted subset is invalid");
  const long long outside[2] = {4, 5000};
  report(latent_cuda_topk(h.h, p.queries.data(), 3, 8, 2, outside, 2, ids.data(), scores.data(), &count, &bq) ==
             LATENT_CUDA_E_INVALID,
         "topk with a subset row past the end is invalid");
  std::vector<float> block(8);
  report(latent_cuda_distances(h.h, p.queries.data(), 1, 8, 10, 5, block.data(), &bq) == LATENT_CUDA_E_INVALID,
         "distances over rows [10, 5) is invalid");
  report(latent_cuda_distances(h.h, p.queries.data(), 1, 8, 4999, 5001, block.data(), &bq) == LATENT_CUDA_E_INVALID,
         "distances past the last row is invalid");
  // k above the maximum but clamped by a small subset: allowed.
  const long long few[3] = {1, 17, 4000};
  rc = latent_cuda_topk(h.h, p.queries.data(), 3, 8, 3000, few, 3, ids.data(), scores.data(), &count, &bq);
  std::vector<long long> fewSubset(few, few + 3);
  std::string why = rc != 0 ? "rc " + describe(rc) : verify(p, p.queries.data(), 3, 3000, &fewSubset, ids, scores, count);
  report(why.empty(), "topk with k = 3000 over a subset of 3 rows returns 3", why);
  long long bytes = -1;
  rc = latent_cuda_db_device_bytes(h.h, &bytes);
  report(rc == 0 && bytes >= 5000LL * 8 * 4, "db_device_bytes counts at least the rows",
         "rc " + describe(rc) + ", bytes " + std::to_string(bytes));
  report(h.release() == 0, "db_free of the error cases database");

  // An empty database answers with zero results.
  Data empty = make(rng, kIp, 0, 4, 2, false);
  Handle e;
  rc = create(empty, e);
  count = -1;
  const int rc2 = rc == 0 ? latent_cuda_topk(e.h, empty.queries.data(), 2, 4, 5, nullptr, 0, ids.data(), scores.data(),
                                             &count, &bq)
                          : rc;
  report(rc == 0 && rc2 == 0 && count == 0, "an empty database returns 0 results per query",
         "rc " + describe(rc2) + ", count " + std::to_string(count));
}

/// Appending rows: the result equals a database created with every row at once; a bad appended row is
/// named (absolute index) and changes nothing.
void checkAppend(std::mt19937_64& rng, int metric) {
  Data full = make(rng, metric, 3000, 9, 5, true, 40);
  const std::string name = std::string("append ") + full.name;
  Data part = full;
  part.n = 1000;
  part.rows.resize(static_cast<size_t>(1000) * full.d);
  Handle h;
  int rc = create(part, h);
  long long bad = -5;
  if (rc == 0) rc = latent_cuda_db_append(h.h, full.rows.data() + 1000 * full.d, 1500, &bad);
  if (rc == 0) rc = latent_cuda_db_append(h.h, full.rows.data() + 2500 * full.d, 500, &bad);
  if (rc != 0) {
    report(false, name, "create/append returned " + describe(rc));
    return;
  }
  std::vector<float> junk(static_cast<size_t>(3) * full.d, 1.0f);
  junk[static_cast<size_t>(1) * full.d + 2] = std::nanf("");
  rc = latent_cuda_db_append(h.h, junk.data(), 3, &bad);
  if (rc != LATENT_CUDA_E_BAD_ROW || bad != 3001) {
    report(false, name, "a bad appended row gave " + describe(rc) + ", bad_row " + std::to_string(bad) + " (want 3001)");
    return;
  }
  std::vector<long long> ids(static_cast<size_t>(full.q) * 50);
  std::vector<float> scores(ids.size());
  int count = -1;
  long long bq = -1;
  rc = latent_cuda_topk(h.h, full.queries.data(), full.q, full.d, 50, nullptr, 0, ids.data(), scores.data(), &count, &bq);
  std::string why = rc != 0 ? "topk returned " + describe(rc) : verify(full, full.queries.data(), full.q, 50, nullptr, ids, scores, count);
  report(why.empty(), name, why);
}

/// One candidate list per query (CSR): every query's results against the reference over its own list,
/// padded with id -1 and score NaN.
void checkLists(std::mt19937_64& rng, int metric, int count) {
  Data p = make(rng, metric, 2000, 6, 9, true, 100);
  std::vector<long long> offsets{0};
  std::vector<long long> rows;
  std::uniform_int_distribution<int> len(0, 300);
  for (int i = 0; i < p.q; ++i) {
    std::vector<long long> list;
    const int want = i == 3 ? 0 : len(rng);
    std::bernoulli_distribution keep(std::min(1.0, want / 2000.0));
    for (long long r = 0; r < p.n; ++r) {
      if (keep(rng)) list.push_back(r);
    }
    rows.insert(rows.end(), list.begin(), list.end());
    offsets.push_back(static_cast<long long>(rows.size()));
  }
  const std::string name = "lists " + p.name + " count=" + std::to_string(count);
  Handle h;
  int rc = create(p, h);
  std::vector<long long> ids(static_cast<size_t>(p.q) * count, -9);
  std::vector<float> scores(ids.size(), -9.0f);
  long long bq = -1;
  if (rc == 0) {
    rc = latent_cuda_topk_lists(h.h, p.queries.data(), p.q, p.d, count, offsets.data(), rows.data(), ids.data(),
                                scores.data(), &bq);
  }
  if (rc != 0) {
    report(false, name, "topk_lists returned " + describe(rc));
    return;
  }
  for (int i = 0; i < p.q; ++i) {
    std::vector<long long> list(rows.begin() + offsets[i], rows.begin() + offsets[i + 1]);
    const int real = static_cast<int>(std::min<long long>(count, static_cast<long long>(list.size())));
    std::vector<long long> qi(ids.begin() + static_cast<long>(i) * count, ids.begin() + static_cast<long>(i) * count + real);
    std::vector<float> qs(scores.begin() + static_cast<long>(i) * count, scores.begin() + static_cast<long>(i) * count + real);
    Data one = p;
    one.q = 1;
    std::string why = real == 0 ? "" : verify(one, p.queries.data() + static_cast<size_t>(i) * p.d, 1, count, &list, qi, qs, real);
    for (int r = real; r < count && why.empty(); ++r) {
      if (ids[static_cast<size_t>(i) * count + r] != -1 || scores[static_cast<size_t>(i) * count + r] == scores[static_cast<size_t>(i) * count + r]) {
        why = "query " + std::to_string(i) + " rank " + std::to_string(r) + ": padding is not id -1 and NaN";
      }
    }
    if (!why.empty()) {
      report(false, name, why);
      return;
    }
  }
  report(true, name);
}

/// Range search on exact data with a radius between score values: exactly the rows within it, each
/// query's hits by row; a limit below the hit count gives LATENT_CUDA_E_TOO_MANY.
void checkRange(std::mt19937_64& rng, int metric, bool withSubset) {
  Data p = make(rng, metric == kCos ? kIp : metric, 3000, 5, 40, true, 200);
  std::vector<long long> subset;
  if (withSubset) {
    for (long long r = 0; r < p.n; r += 3) subset.push_back(r);
  }
  const float radius = p.metric == kL2 ? 10.5f : 4.5f;
  const std::string name = "range " + p.name + " radius " + std::to_string(radius) + (withSubset ? " subset" : "");
  Handle h;
  int rc = create(p, h);
  long long result = 0, total = -1, over = -2, bq = -1;
  if (rc == 0) {
    rc = latent_cuda_range(h.h, p.queries.data(), p.q, p.d, radius, 1LL << 40, withSubset ? subset.data() : nullptr,
                           static_cast<long long>(subset.size()), &result, &total, &over, &bq);
  }
  if (rc != 0) {
    report(false, name, "range returned " + describe(rc));
    return;
  }
  std::vector<long long> offsets(static_cast<size_t>(p.q) + 1), rows(static_cast<size_t>(total));
  std::vector<float> scores(rows.size());
  rc = latent_cuda_range_fetch(result, offsets.data(), rows.data(), scores.data());
  std::string why = rc != 0 ? "range_fetch returned " + describe(rc) : "";
  long long expectedTotal = 0;
  for (int i = 0; i < p.q && why.empty(); ++i) {
    const float* query = p.queries.data() + static_cast<size_t>(i) * p.d;
    std::vector<long long> want;
    const long long cands = withSubset ? static_cast<long long>(subset.size()) : p.n;
    for (long long c = 0; c < cands; ++c) {
      const long long r = withSubset ? subset[static_cast<size_t>(c)] : c;
      const double e = exact(p, query, r);
      if (p.metric == kL2 ? e <= radius : e >= radius) want.push_back(r);
    }
    expectedTotal += static_cast<long long>(want.size());
    std::vector<long long> got(rows.begin() + offsets[i], rows.begin() + offsets[i + 1]);
    if (got != want) {
      why = "query " + std::to_string(i) + ": " + std::to_string(got.size()) + " hits, want " + std::to_string(want.size());
      break;
    }
    for (long long j = offsets[i]; j < offsets[i + 1]; ++j) {
      if (static_cast<double>(scores[static_cast<size_t>(j)]) != exact(p, query, rows[static_cast<size_t>(j)])) {
        why = "query " + std::to_string(i) + ": a hit's score is not its exact score";
        break;
      }
    }
  }
  if (why.empty() && expectedTotal > 1) {
    rc = latent_cuda_range(h.h, p.queries.data(), p.q, p.d, radius, expectedTotal - 1,
                           withSubset ? subset.data() : nullptr, static_cast<long long>(subset.size()), &result, &total,
                           &over, &bq);
    if (rc != LATENT_CUDA_E_TOO_MANY || over < 0) {
      why = "a limit of " + std::to_string(expectedTotal - 1) + " hits gave " + describe(rc);
    }
  }
  report(why.empty(), name + " (" + std::to_string(expectedTotal) + " hits)", why);
}

/// Assignment, per-label sums and the Gram/scatter matrix on resident points.
void checkCluster(std::mt19937_64& rng, int metric) {
  Data pts = make(rng, metric, 2500, 37, 1, true, 300);
  Data cen = make(rng, metric, 19, 37, 1, true, 7);
  const std::string name = std::string(kMetricNames[metric]) + " points 2500 x 37, 19 targets";
  Handle hp, hc;
  long long bad = -1;
  int rc = latent_cuda_db_create(device, pts.rows.data(), pts.n, pts.d, metric, &hp.h, &bad);
  if (rc == 0) rc = latent_cuda_db_create(device, cen.rows.data(), cen.n, cen.d, metric, &hc.h, &bad);
  if (rc != 0) {
    report(false, "cluster " + name, "create returned " + describe(rc));
    return;
  }
  std::vector<int> labels(static_cast<size_t>(pts.n), -9);
  std::vector<float> scores(labels.size());
  rc = latent_cuda_assign(hp.h, hc.h, labels.data(), scores.data());
  std::string why = rc != 0 ? "assign returned " + describe(rc) : "";
  const bool higher = metric != kL2;
  for (long long i = 0; i < pts.n && why.empty(); ++i) {
    const float* x = pts.rows.data() + static_cast<size_t>(i) * pts.d;
    Data ref = cen;
    int best = 0;
    double bestScore = exact(ref, x, 0);
    for (int c = 1; c < cen.n; ++c) {
      const double e = exact(ref, x, c);
      if (higher ? e > bestScore : e < bestScore) {
        best = c;
        bestScore = e;
      }
    }
    const double tol = metric == kCos ? 1e-5 : 0.0;
    if (std::fabs(exact(ref, x, labels[static_cast<size_t>(i)]) - bestScore) > tol ||
        (tol == 0.0 && labels[static_cast<size_t>(i)] != best) || std::fabs(scores[static_cast<size_t>(i)] - bestScore) > std::max(tol, 1e-6)) {
      why = "point " + std::to_string(i) + ": label " + std::to_string(labels[static_cast<size_t>(i)]) + ", want " +
            std::to_string(best) + " (score " + std::to_string(bestScore) + ")";
    }
  }
  report(why.empty(), "assign " + name, why);

  const int k = 19;
  std::uniform_int_distribution<int> pick(-1, k - 1);
  std::vector<int> lab(static_cast<size_t>(pts.n));
  for (int& l : lab) l = pick(rng);
  std::vector<double> sums(static_cast<size_t>(k) * pts.d, -1), sums2(sums.size(), -2);
  std::vector<long long> counts(k, -1), counts2(k, -2);
  rc = latent_cuda_accumulate(hp.h, lab.data(), k, sums.data(), counts.data());
  if (rc == 0) rc = latent_cuda_accumulate(hp.h, lab.data(), k, sums2.data(), counts2.data());
  why = rc != 0 ? "accumulate returned " + describe(rc) : "";
  std::vector<double> want(sums.size(), 0.0);
  std::vector<long long> wantCounts(k, 0);
  for (long long i = 0; i < pts.n; ++i) {
    if (lab[static_cast<size_t>(i)] < 0) continue;
    wantCounts[lab[static_cast<size_t>(i)]]++;
    for (int c = 0; c < pts.d; ++c) {
      want[static_cast<size_t>(lab[static_cast<size_t>(i)]) * pts.d + c] += pts.rows[static_cast<size_t>(i) * pts.d + c];
    }
  }
  if (why.empty() && (sums != want || counts != wantCounts)) why = "sums or counts differ from the exact ones";
  if (why.empty() && (sums2 != sums || counts2 != counts)) why = "a second call gave different sums";
  report(why.empty(), "accumulate " + name, why);

  for (bool centred : {false, true}) {
    std::vector<double> mean(static_cast<size_t>(pts.d), 0.0);
    for (long long i = 0; i < pts.n; ++i) {
      for (int c = 0; c < pts.d; ++c) mean[static_cast<size_t>(c)] += pts.rows[static_cast<size_t>(i) * pts.d + c];
    }
    for (double& m : mean) m /= static_cast<double>(pts.n);
    std::vector<double> g(static_cast<size_t>(pts.d) * pts.d, -1.0);
    rc = latent_cuda_gram(hp.h, centred ? mean.data() : nullptr, g.data());
    why = rc != 0 ? "gram returned " + describe(rc) : "";
    for (int a = 0; a < pts.d && why.empty(); ++a) {
      for (int b = 0; b < pts.d && why.empty(); ++b) {
        double e = 0, scaleSum = 0;
        for (long long i = 0; i < pts.n; ++i) {
          const double va = pts.rows[static_cast<size_t>(i) * pts.d + a] - (centred ? mean[static_cast<size_t>(a)] : 0.0);
          const double vb = pts.rows[static_cast<size_t>(i) * pts.d + b] - (centred ? mean[static_cast<size_t>(b)] : 0.0);
          e += va * vb;
          scaleSum += std::fabs(va * vb);
        }
        const double got = g[static_cast<size_t>(a) * pts.d + b];
        if (std::fabs(got - e) > REL * scaleSum + 1e-9 || got != g[static_cast<size_t>(b) * pts.d + a]) {
          char buf[160];
          std::snprintf(buf, sizeof(buf), "entry (%d, %d): %.9g, exact %.9g (or not symmetric)", a, b, got, e);
          why = buf;
        }
      }
    }
    report(why.empty(), std::string(centred ? "scatter " : "gram ") + name, why);
  }
}

/// A query that breaks the vector rule is named by its index, checked on the device.
void checkBadQueries(std::mt19937_64& rng) {
  Data p = make(rng, kCos, 100, 4, 5, false);
  p.queries[static_cast<size_t>(3) * p.d + 1] = std::nanf("");
  Handle h;
  int rc = create(p, h);
  std::vector<long long> ids(static_cast<size_t>(p.q) * 5);
  std::vector<float> scores(ids.size());
  int count = -1;
  long long bq = -1;
  if (rc == 0) rc = latent_cuda_topk(h.h, p.queries.data(), p.q, p.d, 5, nullptr, 0, ids.data(), scores.data(), &count, &bq);
  report(rc == LATENT_CUDA_E_BAD_QUERY && bq == 3, "a NaN query is named (topk)", describe(rc) + ", query " + std::to_string(bq));
  p.queries[static_cast<size_t>(3) * p.d + 1] = 0.5f;
  std::fill_n(p.queries.begin() + 2 * p.d, p.d, 0.0f);
  std::vector<float> block(static_cast<size_t>(p.q) * p.n);
  rc = latent_cuda_distances(h.h, p.queries.data(), p.q, p.d, 0, p.n, block.data(), &bq);
  report(rc == LATENT_CUDA_E_BAD_QUERY && bq == 2, "a zero query under cosine is named (distances)",
         describe(rc) + ", query " + std::to_string(bq));
}

}  // namespace

// ---- 8-bit codes ----

/// Rows encoded to 8-bit codes and queries quantised as dev.latent.compute.Sq8 does (trained on the rows; under
/// cosine on unit rows), laid out as the C API takes them.
struct Codes {
  int metric = kIp, d = 0, stride = 0, q = 0;
  long long n = 0;
  std::vector<unsigned char> codes;  // n x stride
  std::vector<float> norms;          // n
  std::vector<signed char> queries;  // q x stride
  std::vector<float> terms;          // q x 3
  std::string name;
};

Codes encode(const Data& p) {
  Codes c;
  c.metric = p.metric;
  c.d = p.d;
  c.stride = (p.d + 3) / 4 * 4;
  c.n = p.n;
  c.q = p.q;
  c.name = "sq8 " + p.name;
  auto unit = [&](const float* x, std::vector<float>& out) {
    out.assign(x, x + p.d);
    if (p.metric != kCos) return;
    double sq = 0;
    for (int t = 0; t < p.d; ++t) sq += static_cast<double>(x[t]) * x[t];
    const double inv = 1.0 / std::sqrt(sq);
    for (int t = 0; t < p.d; ++t) out[t] = static_cast<float>(x[t] * inv);
  };
  std::vector<float> lo(p.d, INFINITY), hi(p.d, -INFINITY), u;
  for (long long r = 0; r < p.n; ++r) {
    unit(p.rows.data() + static_cast<size_t>(r) * p.d, u);
    for (int t = 0; t < p.d; ++t) {
      lo[t] = std::min(lo[t], u[t]);
      hi[t] = std::max(hi[t], u[t]);
    }
  }
  std::vector<float> scale(p.d);
  for (int t = 0; t < p.d; ++t) scale[t] = p.n > 0 ? (hi[t] - lo[t]) / 255.0f : 0.0f;
  c.codes.assign(static_cast<size_t>(p.n) * c.stride, 0);
  c.norms.resize(static_cast<size_t>(p.n));
  for (long long r = 0; r < p.n; ++r) {
    unit(p.rows.data() + static_cast<size_t>(r) * p.d, u);
    double sq = 0;
    for (int t = 0; t < p.d; ++t) {
      const float v = scale[t] > 0 ? std::min(std::max((u[t] - lo[t]) / scale[t], 0.0f), 255.0f) : 0.0f;
      const int code = static_cast<int>(std::nearbyint(v));
      c.codes[static_cast<size_t>(r) * c.stride + t] = static_cast<unsigned char>(code);
      const float xh = lo[t] + code * scale[t];
      sq += static_cast<double>(xh) * xh;
    }
    c.norms[static_cast<size_t>(r)] = static_cast<float>(sq);
  }
  c.queries.assign(static_cast<size_t>(p.q) * c.stride, 0);
  c.terms.resize(static_cast<size_t>(p.q) * 3);
  for (int i = 0; i < p.q; ++i) {
    unit(p.queries.data() + static_cast<size_t>(i) * p.d, u);
    float m = 0;
    std::vector<float> scaled(p.d);
    for (int t = 0; t < p.d; ++t) {
      scaled[t] = u[t] * scale[t];
      m = std::max(m, std::fabs(scaled[t]));
    }
    if (m > 0) {
      const float r = 127.0f / m;
      for (int t = 0; t < p.d; ++t) {
        c.queries[static_cast<size_t>(i) * c.stride + t] =
            static_cast<signed char>(std::nearbyint(std::min(std::max(scaled[t] * r, -127.0f), 127.0f)));
      }
    }
    double o = 0, qq = 0;
    for (int t = 0; t < p.d; ++t) {
      o += static_cast<double>(u[t]) * lo[t];
      qq += static_cast<double>(u[t]) * u[t];
    }
    c.terms[static_cast<size_t>(i) * 3] = m > 0 ? m / 127.0f : 0.0f;
    c.terms[static_cast<size_t>(i) * 3 + 1] = static_cast<float>(o);
    c.terms[static_cast<size_t>(i) * 3 + 2] = static_cast<float>(qq);
  }
  return c;
}

/// The reference score of query i against row r: Java's Sq8.score (exact integer sum, then (float) S * b + o;
/// squared L2: v > 0 ? v : 0 with v = (|q|² + |x̂|²) - 2 dot), each float step one IEEE operation.
float sq8Exact(const Codes& c, int i, long long r) {
  long long s = 0;
  for (int t = 0; t < c.d; ++t) {
    s += static_cast<long long>(c.queries[static_cast<size_t>(i) * c.stride + t]) * c.codes[static_cast<size_t>(r) * c.stride + t];
  }
  const float* t = c.terms.data() + static_cast<size_t>(i) * 3;
  const float scaled = static_cast<float>(s) * t[0];
  const float dot = scaled + t[1];
  if (c.metric != kL2) return dot;
  const float sum = t[2] + c.norms[static_cast<size_t>(r)];
  const float v = sum - 2.0f * dot;
  return v > 0 ? v : 0;
}

/// "" when `ids`/`scores` (count a query, the first `checked` queries) are the reference's top-count over each
/// query's candidates (all rows, or its CSR list), ids and score bits, padded with id -1 and NaN.
std::string verifySq8(const Codes& c, int checked, int count, const std::vector<long long>* offsets,
                      const std::vector<long long>* lists, const std::vector<long long>& ids,
                      const std::vector<float>& scores) {
  const bool higher = c.metric != kL2;
  char buf[256];
  for (int i = 0; i < checked; ++i) {
    std::vector<std::pair<float, long long>> ref;
    const long long from = offsets != nullptr ? (*offsets)[static_cast<size_t>(i)] : 0;
    const long long to = offsets != nullptr ? (*offsets)[static_cast<size_t>(i) + 1] : c.n;
    for (long long j = from; j < to; ++j) {
      const long long r = lists != nullptr ? (*lists)[static_cast<size_t>(j)] : j;
      ref.emplace_back(sq8Exact(c, i, r), r);
    }
    std::sort(ref.begin(), ref.end(), [higher](const auto& a, const auto& b) {
      if (a.first != b.first) return higher ? a.first > b.first : a.first < b.first;
      return a.second < b.second;
    });
    for (int r = 0; r < count; ++r) {
      const long long id = ids[static_cast<size_t>(i) * count + r];
      const float score = scores[static_cast<size_t>(i) * count + r];
      const bool pad = r >= static_cast<int>(ref.size());
      const long long wantId = pad ? -1 : ref[static_cast<size_t>(r)].second;
      const float wantScore = pad ? NAN : ref[static_cast<size_t>(r)].first;
      const bool same = id == wantId && (pad ? std::isnan(score) : std::memcmp(&score, &wantScore, sizeof(float)) == 0);
      if (!same) {
        std::snprintf(buf, sizeof(buf), "query %d rank %d: row %lld score %.9g, reference row %lld score %.9g", i, r, id,
                      score, wantId, wantScore);
        return buf;
      }
    }
  }
  return "";
}

/// A handle of c's codes (created empty, then appended in `pieces` parts), its scratch limited when > 0.
int openSq8(const Codes& c, Handle& h, int pieces = 1, long long scratch = 0) {
  int rc = latent_cuda_sq8_create(device, c.d, c.metric, 0, &h.h);
  for (int i = 0; i < pieces && rc == 0; ++i) {
    const long long from = c.n * i / pieces, to = c.n * (i + 1) / pieces;
    rc = latent_cuda_sq8_append(h.h, c.codes.data() + static_cast<size_t>(from) * c.stride,
                                c.norms.data() + from, to - from);
  }
  if (rc == 0 && scratch > 0) rc = latent_cuda_db_set_scratch_limit(h.h, scratch);
  return rc;
}

/// Top-k over all rows (reference on the first `sample` queries when > 0), twice on the handle (scratch reused).
void checkSq8Topk(const Data& p, int k, int sample = 0, long long scratch = 0, int pieces = 1) {
  const Codes c = encode(p);
  const std::string name = c.name + " k=" + std::to_string(k) + (pieces > 1 ? " appended in " + std::to_string(pieces) : "") +
                           (scratch > 0 ? " scratch=" + std::to_string(scratch >> 10) + "KiB" : "");
  Handle h;
  int rc = openSq8(c, h, pieces, scratch);
  if (rc != 0) {
    report(false, name, "sq8_create/append returned " + describe(rc));
    return;
  }
  const int count = static_cast<int>(std::min<long long>(k, c.n));
  std::vector<long long> ids(static_cast<size_t>(c.q) * std::max(count, 1), -7);
  std::vector<float> scores(ids.size(), -7.0f);
  int outCount = -1;
  const auto start = std::chrono::steady_clock::now();
  rc = latent_cuda_sq8_topk(h.h, c.queries.data(), c.terms.data(), c.q, k, ids.data(), scores.data(), &outCount);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::string why = rc != 0 ? "sq8_topk returned " + describe(rc)
                    : outCount != count ? "count " + std::to_string(outCount) + ", want " + std::to_string(count)
                    : verifySq8(c, sample > 0 ? std::min(sample, c.q) : c.q, count, nullptr, nullptr, ids, scores);
  if (why.empty()) why = scratchWithin(h, scratch);
  if (why.empty()) {
    std::vector<long long> ids2(ids.size(), -9);
    std::vector<float> scores2(ids.size(), -9.0f);
    rc = latent_cuda_sq8_topk(h.h, c.queries.data(), c.terms.data(), c.q, k, ids2.data(), scores2.data(), &outCount);
    if (rc != 0) {
      why = "second sq8_topk returned " + describe(rc);
    } else if (ids2 != ids || std::memcmp(scores2.data(), scores.data(), scores.size() * sizeof(float)) != 0) {
      why = "a second identical call on the same handle gave different results";
    }
  }
  const int freed = h.release();
  if (why.empty() && freed != 0) why = "db_free returned " + describe(freed);
  char timing[64];
  std::snprintf(timing, sizeof(timing), " (%.1f ms)", ms);
  report(why.empty(), name + timing, why);
}

/// Per-query candidate lists: empty, a few rows, a third, all rows; padded to count.
void checkSq8Lists(std::mt19937_64& rng, const Data& p, int count, long long scratch = 0) {
  const Codes c = encode(p);
  std::vector<long long> offsets{0}, lists;
  std::uniform_int_distribution<int> few(0, 299), third(0, 2);
  for (int i = 0; i < c.q; ++i) {
    const int kind = i % 4;
    for (long long r = 0; r < c.n; ++r) {
      if (kind == 1 ? few(rng) == 0 : kind == 2 ? third(rng) == 0 : kind == 3) lists.push_back(r);
    }
    offsets.push_back(static_cast<long long>(lists.size()));
  }
  const std::string name = c.name + " lists count=" + std::to_string(count) +
                           (scratch > 0 ? " scratch=" + std::to_string(scratch >> 10) + "KiB" : "");
  Handle h;
  int rc = openSq8(c, h, 1, scratch);
  std::vector<long long> ids(static_cast<size_t>(c.q) * count, -9);
  std::vector<float> scores(ids.size(), -9.0f);
  if (rc == 0) {
    rc = latent_cuda_sq8_topk_lists(h.h, c.queries.data(), c.terms.data(), c.q, count, offsets.data(), lists.data(),
                                    ids.data(), scores.data());
  }
  std::string why = rc != 0 ? "sq8_topk_lists returned " + describe(rc) : verifySq8(c, c.q, count, &offsets, &lists, ids, scores);
  if (why.empty()) why = scratchWithin(h, scratch);
  report(why.empty(), name, why);
}

/// Score blocks (k above the largest bucket): every score equal to the reference's bits.
void checkSq8Distances(const Data& p, long long from, long long to, long long scratch = 0) {
  const Codes c = encode(p);
  const std::string name = c.name + " distances rows [" + std::to_string(from) + ", " + std::to_string(to) + ")" +
                           (scratch > 0 ? " scratch=" + std::to_string(scratch >> 10) + "KiB" : "");
  Handle h;
  int rc = openSq8(c, h, 1, scratch);
  const long long width = to - from;
  std::vector<float> out(static_cast<size_t>(c.q) * std::max(width, 1LL), -12345.0f);
  if (rc == 0) rc = latent_cuda_sq8_distances(h.h, c.queries.data(), c.terms.data(), c.q, from, to, out.data());
  std::string why = rc != 0 ? "sq8_distances returned " + describe(rc) : "";
  for (int i = 0; i < c.q && why.empty(); ++i) {
    for (long long r = 0; r < width && why.empty(); ++r) {
      const float want = sq8Exact(c, i, from + r);
      if (std::memcmp(&want, &out[static_cast<size_t>(i) * width + r], sizeof(float)) != 0) {
        why = "query " + std::to_string(i) + " row " + std::to_string(from + r) + ": " +
              std::to_string(out[static_cast<size_t>(i) * width + r]) + ", reference " + std::to_string(want);
      }
    }
  }
  if (why.empty()) why = scratchWithin(h, scratch);
  report(why.empty(), name, why);
}

/// Rows removed by moving the last rows into the holes: sq8_refresh with the changed rows' codes equals a handle
/// of the new rows; unsorted changed rows are refused.
void checkSq8Refresh(std::mt19937_64& rng, int metric) {
  Data p = make(rng, metric, 700, 7, 9, true, 60);
  Codes c = encode(p);
  const std::string name = "sq8 refresh after removals " + p.name;
  Handle h;
  int rc = openSq8(c, h);
  Codes now = c;
  std::uniform_int_distribution<long long> any(0, c.n - 1);
  std::vector<long long> holes;
  for (int i = 0; i < 40; ++i) {
    const long long r = any(rng) % now.n, last = now.n - 1;
    if (r != last) {
      std::copy_n(now.codes.begin() + last * c.stride, c.stride, now.codes.begin() + r * c.stride);
      now.norms[static_cast<size_t>(r)] = now.norms[static_cast<size_t>(last)];
      holes.push_back(r);
    }
    now.n--;
  }
  now.codes.resize(static_cast<size_t>(now.n) * c.stride);
  now.norms.resize(static_cast<size_t>(now.n));
  std::vector<long long> changed;
  for (long long r : holes) {
    if (r < now.n) changed.push_back(r);
  }
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  std::vector<unsigned char> rows;
  std::vector<float> norms;
  for (long long r : changed) {
    rows.insert(rows.end(), now.codes.begin() + r * c.stride, now.codes.begin() + (r + 1) * c.stride);
    norms.push_back(now.norms[static_cast<size_t>(r)]);
  }
  if (rc == 0) {
    rc = latent_cuda_sq8_refresh(h.h, rows.data(), norms.data(), changed.data(), static_cast<long long>(changed.size()),
                                 now.n);
  }
  std::string why = rc != 0 ? "sq8 create/refresh returned " + describe(rc) : "";
  for (int k : {1, 10, 700}) {
    if (!why.empty()) break;
    const int count = static_cast<int>(std::min<long long>(k, now.n));
    std::vector<long long> ids(static_cast<size_t>(c.q) * count);
    std::vector<float> scores(ids.size());
    int outCount = -1;
    rc = latent_cuda_sq8_topk(h.h, c.queries.data(), c.terms.data(), c.q, k, ids.data(), scores.data(), &outCount);
    why = rc != 0 ? "sq8_topk returned " + describe(rc) : verifySq8(now, c.q, count, nullptr, nullptr, ids, scores);
  }
  if (why.empty()) {
    const long long bad[] = {5, 3};
    rc = latent_cuda_sq8_refresh(h.h, rows.data(), norms.data(), bad, 2, now.n);
    if (rc != LATENT_CUDA_E_INVALID) why = "unsorted changed rows were accepted: " + describe(rc);
  }
  report(why.empty(), name + " (" + std::to_string(changed.size()) + " rows changed)", why);
}

/// The argument checks of the sq8 calls, and handles of one kind refused by the calls of the other.
void checkSq8Errors(std::mt19937_64& rng) {
  long long handle = -1;
  report(latent_cuda_sq8_create(device, 0, kIp, 0, &handle) == LATENT_CUDA_E_INVALID && handle == 0, "sq8_create with d = 0");
  report(latent_cuda_sq8_create(device, 65537, kIp, 0, &handle) == LATENT_CUDA_E_INVALID, "sq8_create with d = 65537");
  report(latent_cuda_sq8_create(device, 4, 3, 0, &handle) == LATENT_CUDA_E_INVALID, "sq8_create with metric 3");
  report(latent_cuda_sq8_create(device, 4, kIp, 0, nullptr) == LATENT_CUDA_E_INVALID, "sq8_create with a null output");
  Data p = make(rng, kL2, 3000, 8, 3, false);
  const Codes c = encode(p);
  Handle codes, rows;
  int rc = openSq8(c, codes);
  if (rc == 0) rc = create(p, rows);
  if (rc != 0) {
    report(false, "sq8 error cases", "create returned " + describe(rc));
    return;
  }
  std::vector<long long> ids(3 * 3000);
  std::vector<float> scores(ids.size());
  int count = -1;
  long long bq = -1;
  report(latent_cuda_sq8_topk(rows.h, c.queries.data(), c.terms.data(), 3, 5, ids.data(), scores.data(), &count) ==
             LATENT_CUDA_E_INVALID,
         "sq8_topk refuses a handle of float rows");
  report(latent_cuda_topk(codes.h, p.queries.data(), 3, 8, 5, nullptr, 0, ids.data(), scores.data(), &count, &bq) ==
             LATENT_CUDA_E_INVALID,
         "topk refuses a handle of 8-bit codes");
  report(latent_cuda_db_append(codes.h, p.rows.data(), 1, &bq) == LATENT_CUDA_E_INVALID,
         "db_append refuses a handle of 8-bit codes");
  report(latent_cuda_sq8_append(codes.h, c.codes.data(), nullptr, 1) == LATENT_CUDA_E_INVALID,
         "sq8_append of squared L2 codes without norms is invalid");
  report(latent_cuda_sq8_topk(codes.h, c.queries.data(), c.terms.data(), 3, 0, ids.data(), scores.data(), &count) ==
             LATENT_CUDA_E_INVALID,
         "sq8_topk with k = 0 is invalid");
  rc = latent_cuda_sq8_topk(codes.h, c.queries.data(), c.terms.data(), 3, 2049, ids.data(), scores.data(), &count);
  report(rc == LATENT_CUDA_E_K_TOO_LARGE, "sq8_topk with k = 2049 over 3000 rows: k too large", describe(rc));
  const std::vector<long long> unsorted{0, 3, 3, 3};
  const std::vector<long long> listRows{4, 2, 9};
  report(latent_cuda_sq8_topk_lists(codes.h, c.queries.data(), c.terms.data(), 3, 2, unsorted.data(), listRows.data(),
                                    ids.data(), scores.data()) == LATENT_CUDA_E_INVALID,
         "sq8_topk_lists with an unsorted list is invalid");
  const std::vector<long long> shifted{1, 2, 3, 3};
  report(latent_cuda_sq8_topk_lists(codes.h, c.queries.data(), c.terms.data(), 3, 2, shifted.data(), listRows.data(),
                                    ids.data(), scores.data()) == LATENT_CUDA_E_INVALID,
         "sq8_topk_lists with offsets[0] = 1 is invalid");
  std::vector<float> block(8);
  report(latent_cuda_sq8_distances(codes.h, c.queries.data(), c.terms.data(), 1, 2999, 3001, block.data()) ==
             LATENT_CUDA_E_INVALID,
         "sq8_distances past the last row is invalid");
  long long bytes = -1;
  rc = latent_cuda_db_device_bytes(codes.h, &bytes);
  report(rc == 0 && bytes >= 3000LL * (8 + 4), "db_device_bytes counts at least the codes and their norms",
         "rc " + describe(rc) + ", bytes " + std::to_string(bytes));
  rc = latent_cuda_sq8_reserve(codes.h, 10000);
  long long grown = -1;
  if (rc == 0) rc = latent_cuda_db_device_bytes(codes.h, &grown);
  report(rc == 0 && grown >= 10000LL * (8 + 4), "sq8_reserve makes room for 10000 rows",
         "rc " + describe(rc) + ", bytes " + std::to_string(grown));
  // An empty handle answers with zero results.
  Handle empty;
  rc = latent_cuda_sq8_create(device, 8, kIp, 0, &empty.h);
  count = -1;
  if (rc == 0) rc = latent_cuda_sq8_topk(empty.h, c.queries.data(), c.terms.data(), 3, 5, ids.data(), scores.data(), &count);
  report(rc == 0 && count == 0, "an empty handle of codes returns 0 results per query",
         "rc " + describe(rc) + ", count " + std::to_string(count));
}

/// A scratch limit too small for one query's candidate list fails with LATENT_CUDA_E_SCRATCH and changes nothing.
void checkSq8Scratch(std::mt19937_64& rng) {
  Data p = make(rng, kIp, 300000, 1, 1, true, 50);
  const Codes c = encode(p);
  Handle h;
  int rc = openSq8(c, h, 1, 1LL << 20);
  std::vector<long long> offsets{0, c.n}, lists(static_cast<size_t>(c.n));
  std::iota(lists.begin(), lists.end(), 0LL);
  std::vector<long long> ids(5, -9);
  std::vector<float> scores(5, -9.0f);
  if (rc == 0) {
    rc = latent_cuda_sq8_topk_lists(h.h, c.queries.data(), c.terms.data(), 1, 5, offsets.data(), lists.data(), ids.data(),
                                    scores.data());
  }
  report(rc == LATENT_CUDA_E_SCRATCH && ids == std::vector<long long>(5, -9) && scratchWithin(h, 1LL << 20).empty(),
         "sq8: one query that needs more than the scratch limit fails with LATENT_CUDA_E_SCRATCH",
         describe(rc) + ": " + latent_cuda_last_error());
}

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  bool quick = false, large = false;
  unsigned long long seed = std::chrono::steady_clock::now().time_since_epoch().count() % 1000000007ULL;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
    } else if (a == "--large") {
      large = true;
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--device" && i + 1 < argc) {
      device = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: cuda_check [--quick] [--large] [--seed S] [--device N]\n");
      return 64;
    }
  }
  const auto start = std::chrono::steady_clock::now();
  int runtime = 0, driver = 0, count = 0;
  latent_cuda_versions(&runtime, &driver);
  std::printf("cuda_check: seed %llu, ABI %d (header %d), CUDA runtime %d, driver %d\n", seed,
              latent_cuda_abi_version(), LATENT_CUDA_ABI_VERSION, runtime, driver);
  if (latent_cuda_abi_version() != LATENT_CUDA_ABI_VERSION) {
    std::printf("FAIL library ABI %d, this driver was built for %d\n", latent_cuda_abi_version(), LATENT_CUDA_ABI_VERSION);
    return 1;
  }
  const int rc = latent_cuda_device_count(&count);
  if (rc != 0 || count <= device) {
    std::printf("FAIL no usable CUDA device %d: latent_cuda_device_count returned %s, %d devices\n", device,
                describe(rc).c_str(), count);
    return 2;
  }
  char name[256];
  int major = 0, minor = 0, sms = 0;
  long long freeBytes = 0, totalBytes = 0;
  const int info = latent_cuda_device_info(device, name, sizeof(name), &major, &minor, &sms, &freeBytes, &totalBytes);
  if (info != 0) {
    std::printf("FAIL latent_cuda_device_info returned %s\n", describe(info).c_str());
    return 2;
  }
  std::printf("device %d: %s, compute capability %d.%d, %d multiprocessors, %.1f of %.1f GiB free\n", device, name,
              major, minor, sms, freeBytes / 1073741824.0, totalBytes / 1073741824.0);
  std::mt19937_64 rng(seed);

  checkErrors(rng);
  // Every k bucket (<= 32, 128, 512, 2048), k > N, odd shapes, exact ties and duplicate rows,
  // subsets, several chunks and merge passes.
  for (int metric : {kIp, kCos, kL2}) {
    checkTopk(rng, make(rng, metric, 1, 1, 1, true), 1);
    checkTopk(rng, make(rng, metric, 7, 3, 5, true), 10);
    checkTopk(rng, make(rng, metric, 100, 7, 33, true, 9), 10);
    checkTopk(rng, make(rng, metric, 1000, 33, 7, false), 100);
    checkTopk(rng, make(rng, metric, 1000, 5, 17, true, 50), 33, 0.5);
    checkTopk(rng, make(rng, metric, 4097, 128, 3, false), 32);
    checkTopk(rng, make(rng, metric, 3000, 2, 9, true), 129);
    checkTopk(rng, make(rng, metric, 5000, 4, 2, true, 30), 512, 0.8);
    checkTopk(rng, make(rng, metric, 4097, 9, 1, false), 2048);
    // 64 queries and more over all rows: score blocks and the radix select (latent_large.cuh).
    checkTopk(rng, make(rng, metric, 9000, 9, 130, true, 30), 10);
    if (large) {  // too slow for the host simulator, which runs the full list but not these
      checkTopk(rng, make(rng, metric, 20000, 40, 200, false), 2048);
      checkTopk(rng, make(rng, metric, 8193, 3, 64, true, 7), 1);
      checkTopk(rng, make(rng, metric, 50000, 100, 257, false), 300);
    }
    if (!quick) {
      checkTopk(rng, make(rng, metric, 4097, 7, 8, false), 300);
      checkTopk(rng, make(rng, metric, 20000, 3, 2, true), 2048);
      checkTopk(rng, make(rng, metric, 30000, 2, 1, true), 10);
    }
  }
  // The tensor-core path against the float32 path: partial tiles, exact ties among duplicates, k = 256, small
  // scratch (query sub-batches and row stripes). --quick (the sanitizer runs) keeps one small case.
  if (quick) {
    checkTensorCores(make(rng, kCos, 3000, 20, 70, true, 40), 10);
  } else {
    for (int metric : {kIp, kCos, kL2}) {
      checkTensorCores(make(rng, metric, 9000, 33, 130, false), 10);
      checkTensorCores(make(rng, metric, 5000, 7, 70, true, 40), 256);
    }
    checkTensorCores(make(rng, kL2, 20000, 19, 200, true, 30), 17, 1LL << 20);
  }
  if (large) {
    checkTensorCores(make(rng, kIp, 300000, 384, 1000, false), 10);
    checkTensorCores(make(rng, kCos, 200000, 768, 4100, false), 100);
  }
  checkDistances(make(rng, kL2, 1, 1, 1, false), 0, 1);
  checkDistances(make(rng, kCos, 200, 70, 33, false), 7, 200);
  checkDistances(make(rng, kIp, 130, 3, 70, false), 0, 129);
  for (int metric : {kIp, kCos, kL2}) {
    checkAppend(rng, metric);
    checkLists(rng, metric, 40);
    checkRange(rng, metric, metric == kL2);
    checkCluster(rng, metric);
  }
  checkLists(rng, kL2, 600);
  checkBadQueries(rng);
  // A small scratch limit: the large path in query sub-batches and row stripes, the fused path and the
  // distance blocks in smaller batches, all within the limit and all exact.
  checkTopk(rng, make(rng, kIp, 20000, 5, 200, true, 40), 100, 0, 0, 1LL << 20);
  checkTopk(rng, make(rng, kL2, 300, 8, 1100, true, 40), 100, 0, 0, 1LL << 20);
  // Batches of 2,048 on the large path, then a last batch of 4 on the fused path; and fused batches whose
  // last, smaller batch splits into chunks differently: both must stay within the limit.
  checkTopk(rng, make(rng, kL2, 300, 8, 4100, true, 40), 20, 0, 16, 1LL << 20);
  checkTopk(rng, make(rng, kIp, 20000, 5, 45, true, 40), 1000, 0, 0, 1LL << 20);
  checkTopk(rng, make(rng, kCos, 3000, 6, 70, false), 2048, 0, 0, 1LL << 20);
  checkTopk(rng, make(rng, kL2, 5000, 4, 9, true, 30), 64, 0.5, 0, 1LL << 20);
  checkDistances(make(rng, kL2, 3000, 16, 300, false), 5, 2999, 1LL << 20);
  checkScratchLimit(rng);
  for (int metric : {kIp, kCos, kL2}) {
    checkPooled(rng, metric, 1, 1, LATENT_POOL_FIRST, true, 10);          // an already pooled output
    checkPooled(rng, metric, 9, 13, LATENT_POOL_MEAN, metric != kL2, 100);
    checkPooled(rng, metric, 70, 7, LATENT_POOL_MEAN, true, 5);            // 64 queries and more: the large path
    checkPooled(rng, metric, 5, 4, LATENT_POOL_FIRST, false, 600, 500);    // k above the rows
  }
  checkPooledBadQuery(rng);
  for (int metric : {kIp, kCos, kL2}) {
    checkRefresh(rng, metric);
  }
  // 8-bit codes: every bucket, k above the rows, partial words (d = 1, 3, 7, 33, 130), the stream kernel (up to 4
  // queries) and the tile kernel, duplicates (exact ties), lists padded to count, appends in pieces, refresh,
  // score blocks, a 1 MiB scratch limit (several batches), the argument checks.
  checkSq8Errors(rng);
  for (int metric : {kIp, kCos, kL2}) {
    checkSq8Topk(make(rng, metric, 1, 1, 1, false), 1);
    checkSq8Topk(make(rng, metric, 7, 3, 5, true), 10);
    checkSq8Topk(make(rng, metric, 1000, 33, 3, false, 40), 100, 0, 0, 3);
    checkSq8Topk(make(rng, metric, 4097, 130, 17, false), 129);
    checkSq8Topk(make(rng, metric, 3000, 7, 130, true, 30), 10);
    checkSq8Lists(rng, make(rng, metric, 2000, 6, 9, false, 100), 40);
    checkSq8Refresh(rng, metric);
    if (!quick) {
      checkSq8Topk(make(rng, metric, 4097, 9, 2, false), 2048);
      checkSq8Lists(rng, make(rng, metric, 3000, 5, 6, true, 50), 600);
    }
  }
  checkSq8Distances(make(rng, kL2, 1, 1, 1, false), 0, 1);
  checkSq8Distances(make(rng, kCos, 200, 70, 33, false), 7, 200);
  checkSq8Distances(make(rng, kIp, 3000, 16, 300, false), 5, 2999, 1LL << 20);
  checkSq8Topk(make(rng, kL2, 300, 8, 4100, true, 40), 20, 16, 1LL << 20);
  checkSq8Lists(rng, make(rng, kIp, 20000, 5, 45, false), 1000, 1LL << 20);
  checkSq8Scratch(rng);
  if (large) {
    checkSq8Topk(make(rng, kIp, 1000000, 128, 1000, false), 100, 8);
    checkSq8Topk(make(rng, kCos, 200000, 384, 3, false), 2048, 3);
    checkSq8Topk(make(rng, kL2, 100000, 768, 5000, false), 10, 8);
  }
  if (!quick) {
    // Two query batches (4096 queries per batch at this d) through one handle.
    checkTopk(rng, make(rng, kIp, 300, 8, 4100, true, 40), 20);
    // Multi-pass merges on a few multiprocessors: more chunks than one merge block takes.
    checkTopk(rng, make(rng, kL2, 80000, 2, 2, true), 2048);
  }
  if (large) {
    checkTopk(rng, make(rng, kIp, 1000000, 128, 1000, false), 100, 0, 16);
    checkTopk(rng, make(rng, kL2, 200000, 768, 64, false), 1000, 0, 8);
    checkTopk(rng, make(rng, kCos, 300000, 32, 2, false), 2048);
    checkTopk(rng, make(rng, kL2, 100000, 384, 5000, false), 10, 0, 16);
    checkTopk(rng, make(rng, kIp, 500000, 64, 300, true, 1000), 64, 0.3, 8);
    checkDistances(make(rng, kL2, 100000, 100, 40, false), 1000, 99000);
  }
  if (latent_cuda_sim_live_allocations != nullptr) {
    const long long live = latent_cuda_sim_live_allocations();
    report(live == 0, "every simulated device allocation was freed",
           std::to_string(live) + " allocations still live");
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("cuda_check: %d cases, %d failures, %.1f s, seed %llu\n", cases, failures, seconds, seed);
  return failures == 0 ? 0 : 1;
}
