// Runs the top-k and distance kernels on the host simulator (cuda_sim.h) against a float64
// reference: every bucket, k > N, ties (small-integer data: exact scores, so the ids must match
// exactly, ties by the lower row), subsets, several chunks and merge passes; and the 8-bit code
// scans (latent_sq8.cuh) against a scalar reference of the same integer rule, bit for bit. See run.sh.
#include "cuda_sim.h"

#include <cinttypes>
#include <numeric>
#include <random>
#include <string>

#include "../latent_buckets.h"
#include "../latent_kernels.cuh"
#include "../latent_large.cuh"
#include "../latent_norms.cuh"
#include "../latent_plan.h"
#include "../latent_sq8.cuh"

using namespace latent;

namespace {

int failures = 0;

struct Problem {
  int q, n, d, metric;
  bool integers;                   // small integers: float32 results are exact
  std::vector<float> queries, rows;
  std::vector<uint32_t> subset;    // empty: all rows
  bool useSubset = false;
  std::string name;
};

double refScore(const Problem& p, int qi, uint32_t row) {
  double dot = 0, qq = 0, xx = 0;
  for (int c = 0; c < p.d; ++c) {
    const double a = p.queries[static_cast<size_t>(qi) * p.d + c];
    const double b = p.rows[static_cast<size_t>(row) * p.d + c];
    dot += a * b;
    qq += a * a;
    xx += b * b;
  }
  if (p.metric == kCosine) return dot / std::sqrt(qq * xx);
  if (p.metric == kL2) return std::max(qq + xx - 2 * dot, 0.0);
  return dot;
}

std::vector<float> normTerms(const std::vector<float>& m, long long count, int d, int metric, int sms,
                             unsigned long long* zero) {
  std::vector<float> terms(std::max<long long>(count, 1));
  const long long blocks = std::min<long long>((count + kWarps - 1) / kWarps, 16LL * sms);
  sim::launch(dim3(static_cast<unsigned>(blocks)), kThreads, 0,
              [&] { normTermsKernel(m.data(), count, d, metric, terms.data(), zero); });
  return terms;
}

/// Score-block arguments of all queries × rows [r0, r0 + rows) into `block` (row stride `ld`), as topkLargeBatch
/// sets them.
DistanceArgs scoreArgs(const Problem& p, const std::vector<float>& qTerm, const std::vector<float>& dbTerm, long long r0,
                       long long rows, std::vector<float>& block, long long ld) {
  DistanceArgs s{};
  s.queries = p.queries.data();
  s.qTerm = qTerm.data();
  s.nQueries = p.q;
  s.d = p.d;
  s.db = p.rows.data();
  s.dbTerm = dbTerm.data();
  s.firstRow = static_cast<uint32_t>(r0);
  s.nRows = static_cast<uint32_t>(rows);
  s.metric = p.metric;
  s.out = block.data();
  s.ld = static_cast<size_t>(ld);
  return s;
}

/// Merge passes over `lists` sorted lists of k per query in keysA/rowsA, as search.cu runs them; returns the passes.
template <int K, int B, int TQ, int TN>
int merge(const Problem& p, int k, long long lists, long long fanIn, std::vector<float>& keysA,
          std::vector<uint32_t>& rowsA, std::vector<long long>& ids, std::vector<float>& scores) {
  const long long queryTiles = (p.q + TQ - 1) / TQ;
  std::vector<float> keysB;
  std::vector<uint32_t> rowsB;
  scores.assign(static_cast<size_t>(p.q) * k, -7.0f);
  ids.assign(static_cast<size_t>(p.q) * k, -7);
  bool inA = true;
  int passes = 0;
  do {
    const long long next = (lists + fanIn - 1) / fanIn;
    MergeArgs m{};
    m.inKey = inA ? keysA.data() : keysB.data();
    m.inRow = inA ? rowsA.data() : rowsB.data();
    m.nQueries = p.q;
    m.listsIn = static_cast<int>(lists);
    m.listsPerBlock = static_cast<int>(fanIn);
    m.k = k;
    m.metric = p.metric;
    std::vector<float>& outKeys = inA ? keysB : keysA;
    std::vector<uint32_t>& outRows = inA ? rowsB : rowsA;
    if (next == 1) {
      m.outScore = scores.data();
      m.outId = ids.data();
    } else {
      outKeys.assign(static_cast<size_t>(p.q * next * k), -1.0f);
      outRows.assign(outKeys.size(), 12345u);
      m.outKey = outKeys.data();
      m.outRow = outRows.data();
    }
    sim::launch(dim3(static_cast<unsigned>(next), static_cast<unsigned>(queryTiles)), kThreads,
                mergeKernelSmem<K, B, TQ, TN>(), [&] { topkMergeKernel<K, B, TQ, TN>(m); });
    lists = next;
    inA = !inA;
    ++passes;
  } while (lists > 1);
  return passes;
}

template <int K, int B, int TQ, int TN>
void topk(const Problem& p, int k, int sms, std::vector<long long>& ids, std::vector<float>& scores,
          TopkPlan& planOut, int& passes) {
  unsigned long long zero = ~0ULL;
  const std::vector<float> dbTerm = normTerms(p.rows, p.n, p.d, p.metric, sms, &zero);
  const std::vector<float> qTerm = normTerms(p.queries, p.q, p.d, p.metric, sms, nullptr);
  const long long candidates = p.useSubset ? static_cast<long long>(p.subset.size()) : p.n;
  const TopkPlan plan = planTopk(p.q, candidates, k, TQ, TN, sms, 2);
  planOut = plan;
  std::vector<float> keysA(static_cast<size_t>(p.q * plan.chunks * k), -1.0f);
  std::vector<uint32_t> rowsA(keysA.size(), 12345u);
  ChunkArgs c{};
  c.queries = p.queries.data();
  c.qTerm = qTerm.data();
  c.nQueries = p.q;
  c.d = p.d;
  c.db = p.rows.data();
  c.dbTerm = dbTerm.data();
  c.subset = p.useSubset ? p.subset.data() : nullptr;
  c.nCand = static_cast<uint32_t>(candidates);
  c.chunkRows = static_cast<uint32_t>(plan.chunkRows);
  c.metric = p.metric;
  c.k = k;
  c.outKey = keysA.data();
  c.outRow = rowsA.data();
  sim::launch(dim3(static_cast<unsigned>(plan.chunks), static_cast<unsigned>(plan.queryTiles)), kThreads,
              chunkKernelSmem<K, B, TQ, TN>(), [&] { topkChunkKernel<K, B, TQ, TN>(c); });

  passes = merge<K, B, TQ, TN>(p, k, plan.chunks, plan.fanIn, keysA, rowsA, ids, scores);
}

/// The large-batch path (latent_large.cuh) as topkLargeBatch runs it, with small stripes and chunks so that
/// a small problem has several of each: score blocks of `stripe` rows, lists of `chunk` columns, the merge.
template <int K, int B, int TQ, int TN>
void topkLarge(const Problem& p, int k, int sms, long long stripe, long long chunk, bool tensorCores,
               std::vector<long long>& ids, std::vector<float>& scores, TopkPlan& planOut, int& passes) {
  unsigned long long zero = ~0ULL;
  const std::vector<float> dbTerm = normTerms(p.rows, p.n, p.d, p.metric, sms, &zero);
  const std::vector<float> qTerm = normTerms(p.queries, p.q, p.d, p.metric, sms, nullptr);
  const long long lists = (p.n + chunk - 1) / chunk;
  std::vector<float> keysA(static_cast<size_t>(p.q * lists * k), -1.0f);
  std::vector<uint32_t> rowsA(keysA.size(), 12345u);
  std::vector<float> block(static_cast<size_t>(p.q * stripe), std::nanf(""));
  for (long long r0 = 0; r0 < p.n; r0 += stripe) {
    const long long rows = std::min<long long>(stripe, p.n - r0);
    const DistanceArgs s = scoreArgs(p, qTerm, dbTerm, r0, rows, block, stripe);
    if (tensorCores) {
      sim::launch(dim3(static_cast<unsigned>((rows + kTcTN - 1) / kTcTN), static_cast<unsigned>((p.q + kTcTQ - 1) / kTcTQ)),
                  kThreads, kScoreTcSmem, [&] { scoreBlockTcKernel(s); });
    } else {
      sim::launch(dim3(static_cast<unsigned>((rows + kBlockTN - 1) / kBlockTN), static_cast<unsigned>((p.q + kBlockTQ - 1) / kBlockTQ)),
                  kThreads, kScoreBlockSmem, [&] { scoreBlockKernel(s); });
    }
    SelectArgs t{};
    t.keys = block.data();
    t.ld = static_cast<size_t>(stripe);
    t.nQueries = p.q;
    t.nCols = static_cast<uint32_t>(rows);
    t.colsPerChunk = static_cast<uint32_t>(chunk);
    t.firstRow = static_cast<uint32_t>(r0);
    t.k = k;
    t.listsPerQuery = static_cast<int>(lists);
    t.firstList = static_cast<int>(r0 / chunk);
    t.outKey = keysA.data();
    t.outRow = rowsA.data();
    if (tensorCores) {
      SelectTcArgs u{};
      u.s = t;
      u.queries = p.queries.data();
      u.qTerm = qTerm.data();
      u.db = p.rows.data();
      u.dbTerm = dbTerm.data();
      u.d = p.d;
      u.metric = p.metric;
      u.delta = tcDotErrorBound(p.d);
      sim::launch(dim3(static_cast<unsigned>(p.q), static_cast<unsigned>((rows + chunk - 1) / chunk)), kThreads,
                  selectTcSmem(static_cast<uint32_t>(chunk)), [&] { selectTcKernel(u); });
    } else {
      sim::launch(dim3(static_cast<unsigned>((rows + chunk - 1) / chunk), static_cast<unsigned>(p.q)), kThreads,
                  selectSmem(static_cast<uint32_t>(chunk), k), [&] { selectKernel(t); });
    }
  }
  planOut = TopkPlan{};
  planOut.chunks = lists;
  planOut.chunkRows = chunk;
  passes = merge<K, B, TQ, TN>(p, k, lists, std::max<long long>(8, kMergeCandidates / k), keysA, rowsA, ids, scores);
}

/// Checks the fused path, or with stripe > 0 the large-batch path (stripes of `stripe` rows, chunks of `chunk`),
/// with tensorCores its TF32 candidates and exact re-rank, which must also equal the float32 score blocks'
/// results bit for bit.
void check(const Problem& p, int k, int sms, long long stripe = 0, long long chunk = 0, bool tensorCores = false) {
  const long long candidates = p.useSubset ? static_cast<long long>(p.subset.size()) : p.n;
  const int count = static_cast<int>(std::min<long long>(k, candidates));
  std::vector<long long> ids, fmaIds;
  std::vector<float> scores, fmaScores;
  TopkPlan plan{};
  int passes = 0;
  // The smallest bucket of the shared list (latent_buckets.h) that holds count, as bucketFor() picks.
  bool ran = false;
#define LATENT_SIM_BUCKET(K_, B_, TQ_, TN_)                                 \
  if (!ran && count <= (K_)) {                                             \
    if (stripe > 0) {                                                      \
      topkLarge<K_, B_, TQ_, TN_>(p, count, sms, stripe, chunk, tensorCores, ids, scores, plan, passes); \
      if (tensorCores) {                                                   \
        topkLarge<K_, B_, TQ_, TN_>(p, count, sms, stripe, chunk, false, fmaIds, fmaScores, plan, passes); \
      }                                                                    \
    } else {                                                               \
      topk<K_, B_, TQ_, TN_>(p, count, sms, ids, scores, plan, passes);    \
    }                                                                      \
    ran = true;                                                            \
  }
  LATENT_TOPK_BUCKETS(LATENT_SIM_BUCKET)
#undef LATENT_SIM_BUCKET
  if (!ran) {
    std::printf("FAIL %s: k=%d is above the largest bucket\n", p.name.c_str(), count);
    ++failures;
    return;
  }
  const std::string config = p.name + (stripe > 0 ? " large(stripe " + std::to_string(stripe) + ")" : "") +
                             (tensorCores ? " tensor cores" : "") +
                             " k=" + std::to_string(k) + " (count " + std::to_string(count) +
                             ", chunks " + std::to_string(plan.chunks) + " x " + std::to_string(plan.chunkRows) +
                             ", merge passes " + std::to_string(passes) + ")";
  const bool higher = p.metric != kL2;
  int bad = 0;
  if (tensorCores) {
    for (size_t i = 0; i < ids.size() && bad == 0; ++i) {
      if (ids[i] != fmaIds[i] || std::memcmp(&scores[i], &fmaScores[i], sizeof(float)) != 0) {
        std::printf("FAIL %s: result %zu is row %lld score %.9g, the float32 path's row %lld score %.9g\n",
                    config.c_str(), i, ids[i], scores[i], fmaIds[i], fmaScores[i]);
        ++failures;
        ++bad;
      }
    }
  }
  for (int qi = 0; qi < p.q && bad < 3; ++qi) {
    std::vector<std::pair<double, uint32_t>> ref;
    for (long long i = 0; i < candidates; ++i) {
      const uint32_t row = p.useSubset ? p.subset[i] : static_cast<uint32_t>(i);
      ref.emplace_back(refScore(p, qi, row), row);
    }
    std::stable_sort(ref.begin(), ref.end(), [higher](const auto& a, const auto& b) {
      return higher ? a.first > b.first : a.first < b.first;  // stable: ties keep the lower row first
    });
    const double tol = p.integers && p.metric != kCosine ? 0.0 : 1e-5 * (1 + std::fabs(ref[0].first));
    std::vector<long long> seen;
    for (int r = 0; r < count; ++r) {
      const long long id = ids[static_cast<size_t>(qi) * count + r];
      const float score = scores[static_cast<size_t>(qi) * count + r];
      std::string why;
      if (id < 0 || id >= p.n) {
        why = "id out of range";
      } else if (std::find(seen.begin(), seen.end(), id) != seen.end()) {
        why = "duplicate id";
      } else if (std::fabs(score - ref[r].first) > tol) {
        why = "score differs from the reference at this rank";
      } else if (std::fabs(refScore(p, qi, static_cast<uint32_t>(id)) - score) > tol) {
        why = "score is not the score of the returned row";
      } else if (tol == 0.0 && id != static_cast<long long>(ref[r].second)) {
        why = "exact data but a different row (tie broken wrongly?)";
      }
      seen.push_back(id);
      if (!why.empty()) {
        std::printf("FAIL %s: query %d rank %d: got row %lld score %.9g, want row %u score %.9g: %s\n",
                    config.c_str(), qi, r, id, score, ref[r].second, ref[r].first, why.c_str());
        ++failures;
        ++bad;
        break;
      }
    }
  }
  if (bad == 0) {
    std::printf("ok   %s\n", config.c_str());
  }
}

Problem make(std::mt19937_64& rng, int q, int n, int d, int metric, bool integers, int subsetSize,
             int distinctRows = 0) {
  Problem p{q, n, d, metric, integers, {}, {}, {}, false, ""};
  std::normal_distribution<float> gauss;
  std::uniform_int_distribution<int> small(-2, 2);
  auto fill = [&](std::vector<float>& v, size_t count) {
    v.resize(count);
    for (float& x : v) x = integers ? static_cast<float>(small(rng)) : gauss(rng);
  };
  fill(p.queries, static_cast<size_t>(q) * d);
  fill(p.rows, static_cast<size_t>(n) * d);
  for (int i = 0; i < q; ++i) p.queries[static_cast<size_t>(i) * d] = 1;  // non-zero (cosine)
  for (int i = 0; i < n; ++i) p.rows[static_cast<size_t>(i) * d + (i % d)] = 2;
  if (distinctRows > 0) {  // duplicates: every row copies one of the first distinctRows rows
    std::uniform_int_distribution<int> pick(0, distinctRows - 1);
    for (int i = distinctRows; i < n; ++i) {
      const int src = pick(rng);
      std::copy_n(p.rows.begin() + static_cast<size_t>(src) * d, d, p.rows.begin() + static_cast<size_t>(i) * d);
    }
  }
  if (subsetSize >= 0) {
    std::vector<uint32_t> all(n);
    std::iota(all.begin(), all.end(), 0u);
    std::shuffle(all.begin(), all.end(), rng);
    p.subset.assign(all.begin(), all.begin() + std::min(subsetSize, n));
    std::sort(p.subset.begin(), p.subset.end());
    p.useSubset = true;
  }
  static const char* names[] = {"IP", "COS", "L2"};
  p.name = std::string(names[metric]) + " Q=" + std::to_string(q) + " N=" + std::to_string(n) +
           " d=" + std::to_string(d) + (integers ? " ints" : " floats") +
           (distinctRows > 0 ? " dup" + std::to_string(distinctRows) : "") +
           (p.useSubset ? " subset=" + std::to_string(p.subset.size()) : "");
  return p;
}

/// Rows in clusters of `clusterSize` around shared centres, each row its centre plus noise of `eta` times a
/// unit normal; queries are centres plus the same noise. Within a cluster the keys differ by far less than
/// TF32's rounding, so the TF32 order is noise and only the margin and the exact re-rank give the float32 order.
Problem makeNearTies(std::mt19937_64& rng, int q, int n, int d, int metric, int clusterSize, float eta) {
  Problem p{q, n, d, metric, false, {}, {}, {}, false, ""};
  std::normal_distribution<float> gauss;
  const int centres = std::max(1, n / clusterSize);
  std::vector<float> centre(static_cast<size_t>(centres) * d);
  for (float& x : centre) x = gauss(rng);
  p.rows.resize(static_cast<size_t>(n) * d);
  for (int i = 0; i < n; ++i) {
    const int c = i % centres;  // a cluster's rows spread over every chunk
    for (int j = 0; j < d; ++j) p.rows[static_cast<size_t>(i) * d + j] = centre[static_cast<size_t>(c) * d + j] + eta * gauss(rng);
  }
  p.queries.resize(static_cast<size_t>(q) * d);
  for (int i = 0; i < q; ++i) {
    const int c = i % centres;
    for (int j = 0; j < d; ++j) p.queries[static_cast<size_t>(i) * d + j] = centre[static_cast<size_t>(c) * d + j] + eta * gauss(rng);
  }
  static const char* names[] = {"IP", "COS", "L2"};
  char tag[64];
  std::snprintf(tag, sizeof(tag), " near-ties(%d a cluster, eta %g)", clusterSize, eta);
  p.name = std::string(names[metric]) + " Q=" + std::to_string(q) + " N=" + std::to_string(n) + " d=" + std::to_string(d) + tag;
  return p;
}

/// The TF32 score block against float32 keys computed on the host as scoreBlockKernel computes them: every
/// pair must lie within tcKeyError of its exact key (what the candidate rule relies on). Also reports how
/// much of the bound the worst pair used.
void checkTcKeys(const Problem& p, int sms) {
  unsigned long long zero = ~0ULL;
  const std::vector<float> dbTerm = normTerms(p.rows, p.n, p.d, p.metric, sms, &zero);
  const std::vector<float> qTerm = normTerms(p.queries, p.q, p.d, p.metric, sms, nullptr);
  std::vector<float> block(static_cast<size_t>(p.q) * p.n, std::nanf(""));
  const DistanceArgs s = scoreArgs(p, qTerm, dbTerm, 0, p.n, block, p.n);
  sim::launch(dim3(static_cast<unsigned>((p.n + kTcTN - 1) / kTcTN), static_cast<unsigned>((p.q + kTcTQ - 1) / kTcTQ)),
              kThreads, kScoreTcSmem, [&] { scoreBlockTcKernel(s); });
  const float delta = tcDotErrorBound(p.d);
  double worst = 0;
  long long outside = 0;
  int shown = 0;
  for (int qi = 0; qi < p.q; ++qi) {
    for (int r = 0; r < p.n; ++r) {
      float dot = 0.0f;
      for (int c = 0; c < p.d; ++c) {
        dot = std::fmaf(p.queries[static_cast<size_t>(qi) * p.d + c], p.rows[static_cast<size_t>(r) * p.d + c], dot);
      }
      const float exactKey = canonicalKey(keyOf(p.metric, scoreOf(p.metric, dot, qTerm[qi], dbTerm[r])));
      const float approx = block[static_cast<size_t>(qi) * p.n + r];
      const float e = tcKeyError(p.metric, delta, approx, qTerm[qi], dbTerm[r]);
      const double used = std::fabs(static_cast<double>(approx) - exactKey) / e;
      worst = std::max(worst, used != used ? 1e30 : used);
      if (!(used <= 1.0)) {
        ++outside;
        if (shown++ < 3) {
          std::printf("     query %d row %d: TF32 key %.9g, float32 key %.9g, bound %.3g\n", qi, r, approx, exactKey, e);
        }
      }
    }
  }
  const std::string name = "tensor-core keys within the bound: " + p.name;
  if (outside == 0) {
    std::printf("ok   %s (worst pair used %.3f of it)\n", name.c_str(), worst);
  } else {
    std::printf("FAIL %s: %lld of %lld pairs outside the bound (worst %.3g times it)\n", name.c_str(), outside,
                static_cast<long long>(p.q) * p.n, worst);
    ++failures;
  }
}

void checkDistances(std::mt19937_64& rng, int q, int n, int d, int metric, int from, int to) {
  Problem p = make(rng, q, n, d, metric, false, -1);
  unsigned long long zero = ~0ULL;
  const std::vector<float> dbTerm = normTerms(p.rows, n, d, metric, 2, &zero);
  const std::vector<float> qTerm = normTerms(p.queries, q, d, metric, 2, nullptr);
  const int width = to - from;
  std::vector<float> out(static_cast<size_t>(q) * width, -12345.0f);
  DistanceArgs a{p.queries.data(), qTerm.data(), q, d, p.rows.data(), dbTerm.data(),
                 static_cast<uint32_t>(from), static_cast<uint32_t>(width), metric, out.data(),
                 static_cast<size_t>(width)};
  sim::launch(dim3((width + 63) / 64, (q + 31) / 32), kThreads, 0, [&] { distanceKernel<32, 64>(a); });
  double worst = 0;
  for (int i = 0; i < q; ++i) {
    for (int r = 0; r < width; ++r) {
      const double want = refScore(p, i, static_cast<uint32_t>(from + r));
      worst = std::max(worst, std::fabs(out[static_cast<size_t>(i) * width + r] - want) / (1 + std::fabs(want)));
    }
  }
  const bool good = worst < 1e-5;
  failures += good ? 0 : 1;
  std::printf("%s distances %s rows [%d, %d): max relative error %.3g\n", good ? "ok  " : "FAIL", p.name.c_str(),
              from, to, worst);
}

/// The norm kernel reports the lowest non-finite row (every metric) or zero row (cosine).
void checkBadRows() {
  const int n = 300, d = 5;
  for (int metric : {kInnerProduct, kCosine, kL2}) {
    std::vector<float> rows(static_cast<size_t>(n) * d, 1.0f);
    std::fill_n(rows.begin() + 250 * d, d, 0.0f);                   // zero row 250
    rows[static_cast<size_t>(270) * d + 3] = std::nanf("");         // NaN in row 270
    rows[static_cast<size_t>(280) * d + 1] = 3e38f;                 // squared norm overflows in row 280
    unsigned long long bad = ~0ULL;
    normTerms(rows, n, d, metric, 2, &bad);
    const unsigned long long want = metric == kCosine ? 250 : 270;
    const bool good = bad == want;
    failures += good ? 0 : 1;
    rows[static_cast<size_t>(270) * d + 3] = 1.0f;
    unsigned long long overflow = ~0ULL;
    if (metric != kCosine) {
      normTerms(rows, n, d, metric, 2, &overflow);
      failures += overflow == 280 ? 0 : 1;
    }
    std::printf("%s bad rows metric %d: lowest %llu (want %llu)%s\n", good ? "ok  " : "FAIL", metric, bad, want,
                metric != kCosine ? (overflow == 280 ? ", overflow row 280 found" : ", OVERFLOW ROW MISSED") : "");
  }
}

// ---- 8-bit codes (latent_sq8.cuh) ----

/// Codes and quantised queries as the Java side sends them (Sq8: rows of unsigned bytes, queries of signed
/// bytes, zero past d, 4 a word; per query step b, offset o, |q|²; per row |x̂|²), and optional per-query lists.
struct Sq8Problem {
  int q = 0, n = 0, d = 0, metric = kInnerProduct, words = 0;
  std::vector<uint32_t> codes, queries;
  std::vector<float> norms, terms;
  std::vector<long long> offsets;  // empty: every query scans all rows
  std::vector<uint32_t> lists;
  long long longest = 0;
  std::string name;
};

uint8_t byteOf(const std::vector<uint32_t>& words, size_t word, int b) {
  return static_cast<uint8_t>((words[word] >> (8 * b)) & 0xFFu);
}

/// Random codes in [0, codeMax] and query codes in [-queryMax, queryMax] (-128 too at queryMax 127); `exact`
/// picks steps and offsets that keep every score exact in float32 (many ties). Rows past `distinct` (when > 0)
/// copy earlier rows. listKinds > 0 gives every query a list: empty, a few rows, a third, or all rows.
Sq8Problem makeSq8(std::mt19937_64& rng, int q, int n, int d, int metric, int codeMax, int queryMax, bool exact,
                   int distinct, bool lists) {
  Sq8Problem p;
  p.q = q;
  p.n = n;
  p.d = d;
  p.metric = metric;
  p.words = (d + 3) / 4;
  std::uniform_int_distribution<int> code(0, codeMax);
  std::uniform_int_distribution<int> qcode(queryMax == 127 ? -128 : -queryMax, queryMax);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  p.codes.assign(static_cast<size_t>(n) * p.words, 0u);
  p.norms.resize(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) {
    for (int t = 0; t < d; ++t) {
      p.codes[static_cast<size_t>(r) * p.words + t / 4] |= static_cast<uint32_t>(code(rng)) << (8 * (t % 4));
    }
    p.norms[static_cast<size_t>(r)] = exact ? static_cast<float>(code(rng) % 8) : 5.0f * unit(rng);
  }
  if (distinct > 0) {
    std::uniform_int_distribution<int> pick(0, distinct - 1);
    for (int r = distinct; r < n; ++r) {
      const int src = pick(rng);
      std::copy_n(p.codes.begin() + static_cast<size_t>(src) * p.words, p.words,
                  p.codes.begin() + static_cast<size_t>(r) * p.words);
      p.norms[static_cast<size_t>(r)] = p.norms[static_cast<size_t>(src)];
    }
  }
  p.queries.assign(static_cast<size_t>(q) * p.words, 0u);
  p.terms.resize(static_cast<size_t>(q) * kSq8QueryTerms);
  for (int i = 0; i < q; ++i) {
    for (int t = 0; t < d; ++t) {
      const int c = qcode(rng);
      p.queries[static_cast<size_t>(i) * p.words + t / 4] |= static_cast<uint32_t>(static_cast<uint8_t>(c)) << (8 * (t % 4));
    }
    float* t = p.terms.data() + static_cast<size_t>(i) * kSq8QueryTerms;
    if (exact) {   // dyadic steps and offsets, small integer sums: every float step exact
      t[0] = i % 3 == 0 ? 1.0f : 0.25f;
      t[1] = static_cast<float>(i % 5) - 2.0f;
      t[2] = static_cast<float>(i % 4);
    } else {
      t[0] = 1e-4f + 0.01f * unit(rng);
      t[1] = 2.0f * unit(rng) - 1.0f;
      t[2] = i % 3 == 0 ? 0.0f : 3.0f * unit(rng);  // |q|² of 0 clamps many squared L2 scores to 0: ties
    }
  }
  if (lists) {
    std::uniform_int_distribution<int> few(0, 299), third(0, 2);
    p.offsets.assign(static_cast<size_t>(q) + 1, 0);
    for (int i = 0; i < q; ++i) {
      const int kind = i % 4;  // empty, a few, a third of the rows, all rows
      for (int r = 0; r < n; ++r) {
        if (kind == 1 ? few(rng) == 0 || r == i % n : kind == 2 ? third(rng) == 0 : kind == 3) {
          p.lists.push_back(static_cast<uint32_t>(r));
        }
      }
      p.offsets[static_cast<size_t>(i) + 1] = static_cast<long long>(p.lists.size());
      p.longest = std::max(p.longest, p.offsets[static_cast<size_t>(i) + 1] - p.offsets[static_cast<size_t>(i)]);
    }
  } else {
    p.longest = n;
  }
  static const char* names[] = {"IP", "COS", "L2"};
  p.name = std::string("sq8 ") + names[metric] + " Q=" + std::to_string(q) + " N=" + std::to_string(n) +
           " d=" + std::to_string(d) + " codes<=" + std::to_string(codeMax) + " |queries|<=" + std::to_string(queryMax) +
           (exact ? " exact" : "") + (distinct > 0 ? " dup" + std::to_string(distinct) : "") + (lists ? " lists" : "");
  return p;
}

/// The reference score: Java's Sq8.score (the integer sum in 64 bits, then two float operations, then squared L2's
/// v > 0 ? v : 0), written without the kernel header.
float sq8RefScore(const Sq8Problem& p, int qi, int row) {
  long long s = 0;
  for (int t = 0; t < p.d; ++t) {
    const int code = byteOf(p.codes, static_cast<size_t>(row) * p.words + t / 4, t % 4);
    const int c = static_cast<int8_t>(byteOf(p.queries, static_cast<size_t>(qi) * p.words + t / 4, t % 4));
    s += static_cast<long long>(c) * code;
  }
  const float* t = p.terms.data() + static_cast<size_t>(qi) * kSq8QueryTerms;
  const float scaled = static_cast<float>(s) * t[0];
  const float dot = scaled + t[1];
  if (p.metric != kL2) return dot;
  const float sum = t[2] + p.norms[static_cast<size_t>(row)];
  const float v = sum - 2.0f * dot;
  return v > 0 ? v : 0;
}

/// The reference top-count of every query (ids -1 and NaN past a short list), best first, ties to the lower row.
void sq8Reference(const Sq8Problem& p, int count, std::vector<long long>& ids, std::vector<float>& scores) {
  ids.assign(static_cast<size_t>(p.q) * count, -1);
  scores.assign(ids.size(), std::nanf(""));
  const bool higher = p.metric != kL2;
  for (int qi = 0; qi < p.q; ++qi) {
    std::vector<std::pair<float, int>> all;  // (score, row)
    const long long from = p.offsets.empty() ? 0 : p.offsets[static_cast<size_t>(qi)];
    const long long to = p.offsets.empty() ? p.n : p.offsets[static_cast<size_t>(qi) + 1];
    for (long long j = from; j < to; ++j) {
      const int row = p.offsets.empty() ? static_cast<int>(j) : static_cast<int>(p.lists[static_cast<size_t>(j)]);
      all.emplace_back(sq8RefScore(p, qi, row), row);
    }
    std::sort(all.begin(), all.end(), [higher](const auto& a, const auto& b) {
      if (a.first != b.first) return higher ? a.first > b.first : a.first < b.first;
      return a.second < b.second;
    });
    for (int r = 0; r < count && r < static_cast<int>(all.size()); ++r) {
      ids[static_cast<size_t>(qi) * count + r] = all[static_cast<size_t>(r)].second;
      scores[static_cast<size_t>(qi) * count + r] = all[static_cast<size_t>(r)].first;
    }
  }
}

Sq8Args sq8Args(const Sq8Problem& p, int k, const TopkPlan& plan, std::vector<float>& keys, std::vector<uint32_t>& rows) {
  Sq8Args a{};
  a.queries = p.queries.data();
  a.qTerms = p.terms.data();
  a.nQueries = p.q;
  a.words = p.words;
  a.codes = p.codes.data();
  a.norms = p.metric == kL2 ? p.norms.data() : nullptr;
  a.offsets = p.offsets.empty() ? nullptr : p.offsets.data();
  a.lists = p.lists.empty() ? nullptr : p.lists.data();
  a.nCand = static_cast<uint32_t>(p.n);
  a.chunkRows = static_cast<uint32_t>(plan.chunkRows);
  a.metric = p.metric;
  a.k = k;
  keys.assign(static_cast<size_t>(p.q) * plan.chunks * k, -1.0f);
  rows.assign(keys.size(), 12345u);
  a.outKey = keys.data();
  a.outRow = rows.data();
  return a;
}

/// One scan as sq8.cu runs it (tile kernel: TQ queries a block over all rows; stream kernel: one query a block
/// over its list or all rows), then the merge passes; kk = min(count, longest candidate list) results a query.
template <int K, int B, int TQ, int TN>
void sq8Scan(const Sq8Problem& p, int kk, int sms, bool tile, std::vector<long long>& ids, std::vector<float>& scores,
             TopkPlan& plan, int& passes) {
  plan = planTopk(p.q, p.longest, kk, tile ? TQ : 1, TN, sms, 2);
  std::vector<float> keys;
  std::vector<uint32_t> rows;
  const Sq8Args a = sq8Args(p, kk, plan, keys, rows);
  if (tile) {
    sim::launch(dim3(static_cast<unsigned>(plan.chunks), static_cast<unsigned>(plan.queryTiles)), kThreads,
                sq8TileSmem<K, B, TQ, TN>(), [&] { sq8TileKernel<K, B, TQ, TN>(a); });
  } else {
    sim::launch(dim3(static_cast<unsigned>(plan.chunks), static_cast<unsigned>(p.q)), kThreads,
                sq8StreamSmem<K, B, TQ, TN>(p.words), [&] { sq8StreamKernel<K, B, TQ, TN>(a); });
  }
  Problem shape{};
  shape.q = p.q;
  shape.metric = p.metric;
  passes = merge<K, B, TQ, TN>(shape, kk, plan.chunks, plan.fanIn, keys, rows, ids, scores);
}

/// Top-k of p (all rows: both kernels; lists: the stream kernel) against the reference, ids and score bits.
void checkSq8(const Sq8Problem& p, int k, int sms) {
  const bool lists = !p.offsets.empty();
  const int count = static_cast<int>(lists ? k : std::min<long long>(k, p.n));
  const int kk = static_cast<int>(std::min<long long>(count, p.longest));
  std::vector<long long> want;
  std::vector<float> wantScores;
  sq8Reference(p, count, want, wantScores);
  for (bool tile : {false, true}) {
    if (tile && lists) continue;
    const std::string config = p.name + (tile ? " tile" : " stream") + " k=" + std::to_string(k);
    std::vector<long long> got(want.size(), -1);
    std::vector<float> gotScores(want.size(), std::nanf(""));
    TopkPlan plan{};
    int passes = 0;
    if (kk > 0) {
      std::vector<long long> ids;
      std::vector<float> scores;
      bool ran = false;
#define LATENT_SIM_SQ8_BUCKET(K_, B_, TQ_, TN_)                        \
      if (!ran && kk <= (K_)) {                                      \
        sq8Scan<K_, B_, TQ_, TN_>(p, kk, sms, tile, ids, scores, plan, passes); \
        ran = true;                                                  \
      }
      LATENT_TOPK_BUCKETS(LATENT_SIM_SQ8_BUCKET)
#undef LATENT_SIM_SQ8_BUCKET
      // As sq8.cu: count results a query, an empty slot (id -1) with score NaN.
      for (int qi = 0; qi < p.q; ++qi) {
        for (int r = 0; r < kk; ++r) {
          const long long id = ids[static_cast<size_t>(qi) * kk + r];
          got[static_cast<size_t>(qi) * count + r] = id;
          gotScores[static_cast<size_t>(qi) * count + r] = id >= 0 ? scores[static_cast<size_t>(qi) * kk + r] : std::nanf("");
        }
      }
    }
    int bad = 0;
    for (size_t i = 0; i < want.size() && bad < 3; ++i) {
      const bool nanBoth = std::isnan(gotScores[i]) && std::isnan(wantScores[i]);
      if (got[i] != want[i] || (!nanBoth && std::memcmp(&gotScores[i], &wantScores[i], sizeof(float)) != 0)) {
        std::printf("FAIL %s: query %zu rank %zu: row %lld score %.9g, reference row %lld score %.9g\n", config.c_str(),
                    i / count, i % count, got[i], gotScores[i], want[i], wantScores[i]);
        ++bad;
      }
    }
    failures += bad > 0 ? 1 : 0;
    if (bad == 0) {
      std::printf("ok   %s (count %d, chunks %lld x %lld, merge passes %d)\n", config.c_str(), count, plan.chunks,
                  plan.chunkRows, passes);
    }
  }
}

/// The sq8 score block (k above the largest bucket) against the reference scores, bit for bit.
void checkSq8Distances(const Sq8Problem& p, int from, int to) {
  const int width = to - from;
  std::vector<float> out(static_cast<size_t>(p.q) * width, -12345.0f);
  Sq8DistanceArgs a{};
  a.queries = p.queries.data();
  a.qTerms = p.terms.data();
  a.nQueries = p.q;
  a.words = p.words;
  a.codes = p.codes.data();
  a.norms = p.metric == kL2 ? p.norms.data() : nullptr;
  a.firstRow = static_cast<uint32_t>(from);
  a.nRows = static_cast<uint32_t>(width);
  a.metric = p.metric;
  a.out = out.data();
  a.ld = static_cast<size_t>(width);
  sim::launch(dim3((width + 63) / 64, (p.q + 31) / 32), kThreads, 0, [&] { sq8DistanceKernel<32, 64>(a); });
  long long wrong = 0;
  for (int i = 0; i < p.q; ++i) {
    for (int r = 0; r < width; ++r) {
      const float want = sq8RefScore(p, i, from + r);
      const float got = out[static_cast<size_t>(i) * width + r];
      wrong += std::memcmp(&want, &got, sizeof(float)) != 0 ? 1 : 0;
    }
  }
  failures += wrong == 0 ? 0 : 1;
  std::printf("%s %s distances rows [%d, %d): %lld of %lld scores differ from the reference\n", wrong == 0 ? "ok  " : "FAIL",
              p.name.c_str(), from, to, wrong, static_cast<long long>(p.q) * width);
}

/// Two merge passes after the sq8 scans: more chunks than a merge block's fan-in (8 lists at k = 2048, 16 at
/// k = 1000), over all rows (both kernels, exact ties among duplicates) and over lists.
void sq8PassCases(std::mt19937_64& rng) {
  checkSq8(makeSq8(rng, 2, 70000, 1, kL2, 3, 2, true, 500, false), 2048, 8);
  checkSq8(makeSq8(rng, 4, 70000, 2, kInnerProduct, 255, 127, false, 0, true), 1000, 32);
}

/// The sq8 cases: rows 1, 7, 1000, 4097 (k above the rows), dimensions with partial words and partial tiles of
/// words (1, 3, 7, 33, 130, 385), every bucket, full-range codes and queries (|S| up to 255 * 128 * d), exact
/// scores with many ties (narrow codes, duplicate rows, squared L2 clamped to 0), per-query lists padded to k,
/// several chunks and merge passes on few multiprocessors.
void sq8Cases(std::mt19937_64& rng, bool quick) {
  if (quick) {  // small enough for -fsanitize=thread
    checkSq8(makeSq8(rng, 5, 300, 7, kL2, 3, 2, true, 20, false), 10, 2);
    checkSq8(makeSq8(rng, 6, 250, 9, kInnerProduct, 255, 127, false, 0, true), 40, 2);
    checkSq8Distances(makeSq8(rng, 33, 70, 35, kL2, 255, 127, false, 0, false), 3, 70);
    return;
  }
  for (int metric : {kInnerProduct, kCosine, kL2}) {
    checkSq8(makeSq8(rng, 1, 1, 1, metric, 255, 127, false, 0, false), 1, 2);
    checkSq8(makeSq8(rng, 3, 7, 3, metric, 3, 2, true, 3, false), 100, 2);
    checkSq8(makeSq8(rng, 7, 1000, 33, metric, 255, 127, false, 0, false), 10, 4);
    checkSq8(makeSq8(rng, 17, 1000, 7, metric, 2, 1, true, 40, false), 33, 2);
    checkSq8(makeSq8(rng, 5, 4097, 130, metric, 255, 127, false, 50, false), 129, 8);
    checkSq8(makeSq8(rng, 40, 4097, 3, metric, 255, 127, false, 0, false), 300, 2);
    checkSq8(makeSq8(rng, 2, 4097, 5, metric, 3, 2, true, 100, false), 2048, 16);
    checkSq8(makeSq8(rng, 9, 1000, 385, metric, 255, 127, false, 0, false), 513, 2);
    checkSq8(makeSq8(rng, 1, 4097, 17, metric, 255, 127, false, 0, false), 2048, 4);
    // Per-query lists (empty, a few rows, a third, all rows), padded to k with id -1 and NaN.
    checkSq8(makeSq8(rng, 12, 1000, 9, metric, 255, 127, false, 0, true), 10, 4);
    checkSq8(makeSq8(rng, 8, 4097, 6, metric, 2, 1, true, 60, true), 600, 2);
    checkSq8(makeSq8(rng, 5, 7, 33, metric, 255, 127, false, 0, true), 2048, 2);
    checkSq8Distances(makeSq8(rng, 33, 200, 70, metric, 255, 127, false, 0, false), 7, 200);
  }
  checkSq8Distances(makeSq8(rng, 1, 1, 1, kL2, 255, 127, false, 0, false), 0, 1);
}

}  // namespace

/// The large-batch path on the tensor cores (k <= kTcMaxK), equal to the float32 path bit for bit: the fragment
/// layout, partial tiles in every direction (d = 1, 7, 33: stages of 16 dimensions), duplicates and exact ties
/// (the fallback when a chunk has more candidates than kTcCandidates), k larger than a chunk; adversarial
/// near-ties (keys of a cluster closer than TF32 can tell apart), then a cluster larger than a chunk's
/// candidate room (the exact fallback); and every TF32 key within its bound of the float32 key.
void tensorCoreCases(std::mt19937_64& rng, int metric) {
  check(make(rng, 129, 1000, 7, metric, true, -1, 30), 10, 2, 512, 256, true);
  check(make(rng, 64, 4097, 33, metric, false, -1), 100, 2, 2048, 1024, true);
  check(make(rng, 70, 1500, 3, metric, true, -1), 256, 2, 768, 256, true);
  check(make(rng, 65, 777, 1, metric, true, -1, 5), 1, 2, 256, 128, true);
  check(make(rng, 200, 3000, 40, metric, false, -1, 3), 7, 2, 2048, 2048, true);
  // Adversarial near-ties: keys of a cluster closer than TF32 can tell apart; then a cluster larger than a
  // chunk's candidate room (the exact fallback).
  check(makeNearTies(rng, 70, 3000, 24, metric, 60, 1e-4f), 10, 2, 3000, 1500, true);
  check(makeNearTies(rng, 66, 2500, 19, metric, 2500, 1e-6f), 5, 2, 2500, 2500, true);
  checkTcKeys(make(rng, 150, 300, 37, metric, false, -1), 2);
  checkTcKeys(makeNearTies(rng, 130, 260, 64, metric, 20, 1e-3f), 2);
}

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const bool quick = argc > 1 && std::string(argv[1]) == "quick";
  const unsigned long long seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 42;
  std::printf("seed %llu\n", seed);
  std::mt19937_64 rng(seed);
  const bool passes = argc > 1 && std::string(argv[1]) == "passes";
  if (argc > 1 && std::string(argv[1]) == "tensor") {  // the tensor-core cases alone (the planted-bug runs)
    for (int metric : {kInnerProduct, kCosine, kL2}) {
      tensorCoreCases(rng, metric);
    }
    std::printf(failures == 0 ? "ALL OK\n" : "%d FAILURES\n", failures);
    return failures == 0 ? 0 : 1;
  }
  if (argc > 1 && std::string(argv[1]) == "sq8") {  // the 8-bit code cases alone
    sq8Cases(rng, false);
    sq8PassCases(rng);
    std::printf(failures == 0 ? "ALL OK\n" : "%d FAILURES\n", failures);
    return failures == 0 ? 0 : 1;
  }
  if (passes) {
    // Several merge passes: more chunks than one merge block's fan-in (8 lists at k = 2048, 16 at k = 1000).
    check(make(rng, 2, 70000, 1, kL2, true, -1), 2048, 8);
    check(make(rng, 1, 70000, 2, kInnerProduct, true, 50000), 1000, 16);
    sq8PassCases(rng);
    std::printf(failures == 0 ? "ALL OK\n" : "%d FAILURES\n", failures);
    return failures == 0 ? 0 : 1;
  }
  if (quick) {  // small enough for -fsanitize=thread
    check(make(rng, 5, 300, 7, kL2, true, -1, 20), 10, 2);
    check(make(rng, 3, 700, 5, kInnerProduct, true, -1), 200, 2);
    check(make(rng, 2, 1200, 3, kCosine, false, 500), 600, 1);
    checkDistances(rng, 33, 70, 35, kL2, 3, 70);
    check(make(rng, 130, 700, 9, kL2, true, -1, 40), 10, 2, 512, 256);
    check(make(rng, 130, 700, 9, kCosine, false, -1), 10, 2, 512, 256, true);
    checkBadRows();
    sq8Cases(rng, true);
    return failures == 0 ? 0 : 1;
  }
  // Every bucket (k = 1, 10, 32 | 33, 100, 128 | 129, 300, 512 | 513, 2048), k > N, odd shapes,
  // exact ties and duplicate rows, subsets, several chunks and merge passes (few SMs).
  for (int metric : {kInnerProduct, kCosine, kL2}) {
    check(make(rng, 1, 1, 1, metric, true, -1), 1, 2);
    check(make(rng, 7, 7, 7, metric, true, -1), 100, 2);
    check(make(rng, 33, 100, 7, metric, true, -1, 9), 10, 2);
    check(make(rng, 40, 1000, 33, metric, false, -1), 32, 4);
    check(make(rng, 17, 1000, 5, metric, true, -1, 50), 33, 2);
    check(make(rng, 3, 4097, 100, metric, false, -1), 100, 8);
    check(make(rng, 9, 2000, 2, metric, true, -1), 128, 2);
    check(make(rng, 5, 3000, 1, metric, true, -1), 129, 2);
    check(make(rng, 8, 4097, 7, metric, false, -1), 300, 2);
    check(make(rng, 2, 5000, 4, metric, true, 4097, 30), 512, 4);
    check(make(rng, 5, 2500, 6, metric, true, -1), 513, 2);
    check(make(rng, 2, 20000, 3, metric, true, -1), 2048, 16);
    check(make(rng, 1, 4097, 9, metric, false, 3000), 2048, 2);
    check(make(rng, 3, 1000, 3, metric, true, 7), 2048, 2);
    check(make(rng, 1, 30000, 2, metric, true, -1), 10, 16);
    // The large-batch path: query tiles of 128 (one partial), stripes of several chunks (the last partial),
    // chunks shorter than k (all taken), exact ties among duplicates, k = 1 and the largest bucket.
    check(make(rng, 129, 1000, 7, metric, true, -1, 30), 10, 2, 512, 256);
    check(make(rng, 64, 4097, 33, metric, false, -1), 100, 2, 2048, 1024);
    check(make(rng, 70, 1500, 3, metric, true, -1), 300, 2, 768, 256);
    check(make(rng, 65, 777, 1, metric, true, -1, 5), 1, 2, 256, 128);
    check(make(rng, 64, 5000, 5, metric, true, -1, 100), 2048, 2, 4096, 4096);
    tensorCoreCases(rng, metric);
  }
  checkBadRows();
  checkDistances(rng, 1, 1, 1, kL2, 0, 1);
  checkDistances(rng, 33, 200, 70, kCosine, 7, 200);
  checkDistances(rng, 70, 130, 3, kInnerProduct, 0, 129);
  sq8Cases(rng, false);
  std::printf(failures == 0 ? "ALL OK\n" : "%d FAILURES\n", failures);
  return failures == 0 ? 0 : 1;
}
