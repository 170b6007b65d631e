// Runs the top-k and distance kernels on the host simulator (cuda_sim.h) against a float64
// reference: every bucket, k > N, ties (small-integer data: exact scores, so the ids must match
// exactly, ties by the lower row), subsets, several chunks and merge passes. See run.sh.
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
  if (passes) {
    // Several merge passes: more chunks than one merge block's fan-in (8 lists at k = 2048, 16 at k = 1000).
    check(make(rng, 2, 70000, 1, kL2, true, -1), 2048, 8);
    check(make(rng, 1, 70000, 2, kInnerProduct, true, 50000), 1000, 16);
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
  std::printf(failures == 0 ? "ALL OK\n" : "%d FAILURES\n", failures);
  return failures == 0 ? 0 : 1;
}
