// Search: distances, exact top-k over all rows or a subset, top-k over per-query candidate lists,
// and range search (baseline x86-64 flags; the SIMD work happens in kernels_<isa>.cpp).
//
// Search = a blocked matrix product plus per-query bounded heaps:
//   for each database block of NB rows (about 256 KiB, kept in L2)
//     for each tile of up to kQb queries
//       dot products of the tile (register-blocked micro-kernel; packed panels on AVX2/AVX-512 for 16+ queries) -> kQb x NB
//       metric transform + threshold test + heap insertion per score
// Threads split the queries when there are enough of them (each thread then reads the database
// once); otherwise they split the rows and their per-thread top-k lists are merged.
#include <algorithm>
#include <atomic>
#include <utility>
#include <vector>

#include "scan.h"

namespace latent_cpu {

constexpr int64_t kQueryBlockBytes = 20 << 10;  // queries of one tile, kept in L1 beside 4-8 database rows
constexpr int64_t kRowBlockBytes = 256 << 10;  // database block kept hot in L2 (row-major kernels)
constexpr int64_t kPackedRowBlockBytes = 512 << 10;  // the same for packed kernels (AVX-512 CPUs have >= 1 MiB of L2)

int64_t row_block_for(int d) {
    // 16-lane packed levels run on AVX-512 CPUs, whose L2 holds 1 MiB or more; the rest keep 256 KiB.
    int64_t nb = (kernels()->lanes >= 16 ? kPackedRowBlockBytes : kRowBlockBytes) / (static_cast<int64_t>(d) * 4);
    nb = nb / 8 * 8;
    return std::max<int64_t>(8, std::min<int64_t>(512, nb));
}

int query_block_for(int d) {
    int64_t qb = kQueryBlockBytes / (static_cast<int64_t>(d) * 4);
    qb = qb / 3 * 3;
    return static_cast<int>(std::max<int64_t>(3, std::min<int64_t>(kMaxQb, qb)));
}

namespace {

/// Float32 rows for blocked_scan: packed panels on a packed level when the call has at least
/// kPackedMinQueries queries (decided by the whole call's query count, not a thread's share, so every
/// query of a call is scored by the same path), else rows read in place.
struct FloatSource {
    using Row = float;
    using Query = float;
    using Out = float;
    const Problem &p;
    const Kernels *kn;
    int64_t row_block;
    int query_block;
    bool packed;

    explicit FloatSource(const Problem &pr)
        : p(pr), kn(kernels()), row_block(pr.row_block), query_block(pr.query_block),
          packed(kn->lanes > 0 && pr.nq >= kPackedMinQueries) {}
    const float *row(int64_t c) const { return p.x + p.cand(c) * p.d; }
    const float *query(int64_t i) const { return p.q + i * p.d; }
    size_t panel_elems() const {
        return static_cast<size_t>((row_block + kn->lanes - 1) / kn->lanes * kn->lanes) * p.d;
    }
    void pack(const float *const *x, int nx, float *panel) const { kn->pack(x, nx, p.d, panel); }
    void dot_packed(const float *const *q, int nq, const float *panel, int nx, float *out, int64_t ldo) const {
        kn->dot_packed(q, nq, panel, nx, p.d, out, ldo);
    }
    void dot_tile(const float *const *q, int nq, const float *const *x, int nx, float *out, int64_t ldo) const {
        kn->dot_tile(q, nq, x, nx, p.d, out, ldo);
    }
};

template <class Sink>
void scan(const Problem &p, int64_t q0, int64_t q1, int64_t c0, int64_t c1, Sink &&sink) {
    blocked_scan(FloatSource(p), q0, q1, c0, c1, sink);
}

template <int METRIC, bool SUBSET>
void consume(const Problem &p, TopK *heaps, int64_t qb, int nqt, int64_t cb, int nct, const float *tile,
             int64_t ld) {
    feed_heaps<METRIC, SUBSET>(heaps, nqt, cb, nct, tile, ld, p.rows, p.xaux,
                               [&](int i) { return FloatDots{METRIC == 0 ? 0.0f : p.qaux[qb + i]}; });
}

using ConsumeFn = void (*)(const Problem &, TopK *, int64_t, int, int64_t, int, const float *, int64_t);

ConsumeFn consume_for(int metric, bool subset) {
    static const ConsumeFn table[3][2] = {{consume<0, false>, consume<0, true>},
                                          {consume<1, false>, consume<1, true>},
                                          {consume<2, false>, consume<2, true>}};
    return table[metric][subset ? 1 : 0];
}

/// Top-k over candidates [c0, c1) for queries [q0, q1) into heaps[(qi - q0) * k ...].
void topk_range(const Problem &p, int64_t q0, int64_t q1, int64_t c0, int64_t c1, int k, Entry *store,
                int *counts) {
    std::vector<TopK> heaps;
    heaps.reserve(q1 - q0);
    for (int64_t qi = q0; qi < q1; qi++) heaps.push_back(TopK{store + (qi - q0) * k, k});
    const ConsumeFn consume_tile = consume_for(p.metric, p.rows != nullptr);
    scan(p, q0, q1, c0, c1, [&](int64_t qb, int nqt, int64_t cb, int nct, const float *tile, int64_t ld) {
        consume_tile(p, heaps.data() + (qb - q0), qb, nqt, cb, nct, tile, ld);
    });
    for (int64_t qi = q0; qi < q1; qi++) counts[qi - q0] = heaps[qi - q0].n;
}

}  // namespace

int topk(const Problem &p, int k, int64_t *ids, float *scores) {
    const int count = static_cast<int>(std::min<int64_t>(k, p.ncand));
    return topk_split(p.nq, p.ncand, static_cast<double>(p.nq) * p.ncand * p.d, p.row_block,
                      p.metric == LATENT_METRIC_L2, count,
                      [&](int64_t q0, int64_t q1, int64_t c0, int64_t c1, int kk, Entry *store, int *counts) {
                          topk_range(p, q0, q1, c0, c1, kk, store, counts);
                      },
                      ids, scores);
}

/// Top-k over one candidate list per query (CSR). Threads split the queries.
int topk_lists(const Problem &base, const int64_t *offsets, const int64_t *lists, int count, int64_t *ids,
               float *scores) {
    return topk_per_list(base.nq, offsets, base.d, base.metric == LATENT_METRIC_L2, count,
                         [&](int64_t qi, Entry *store, int kk) {
                             Problem p = base;
                             p.q = base.q + qi * base.d;
                             // The candidates of one query are its own subset: qaux is indexed from this query.
                             p.qaux = base.qaux ? base.qaux + qi : nullptr;
                             p.nq = 1;
                             p.rows = lists + offsets[qi];
                             p.ncand = offsets[qi + 1] - offsets[qi];
                             int n = 0;
                             topk_range(p, 0, 1, 0, p.ncand, kk, store, &n);
                             return n;
                         },
                         ids, scores);
}

namespace {

/// Float32 rows of one inverted list scored for the queries that probe it: rows and queries are read in
/// place through index arrays (no copies); packed panels when the list has kPackedMinQueries queries.
struct GroupSource : FloatSource {
    const int64_t *rows;  // the list's rows
    const int64_t *qids;  // the queries probing it

    GroupSource(const Problem &pr, const int64_t *r, const int64_t *qs, int64_t nqs)
        : FloatSource(pr), rows(r), qids(qs) {
        packed = kn->lanes > 0 && nqs >= kPackedMinQueries;
    }
    const float *row(int64_t c) const { return p.x + rows[c] * p.d; }
    const float *query(int64_t i) const { return p.q + qids[i] * p.d; }
};

/// Scores one list for its queries into their heaps (heaps[qid - q0]); see feed_group.
template <int METRIC>
void score_list(const Problem &p, const int64_t *rows, int64_t nrows, const int64_t *qids, int64_t nqs,
                int64_t q0, TopK *heaps) {
    blocked_scan(GroupSource(p, rows, qids, nqs), 0, nqs, 0, nrows,
                 [&](int64_t qb, int nqt, int64_t cb, int nct, const float *tile, int64_t ld) {
                     feed_group<METRIC>(heaps, q0, qids + qb, nqt, rows, cb, nct, tile, ld, p.xaux, [&](int i) {
                         return FloatDots{METRIC == 0 ? 0.0f : p.qaux[qids[qb + i]]};
                     });
                 });
}

using ScoreListFn = void (*)(const Problem &, const int64_t *, int64_t, const int64_t *, int64_t, int64_t, TopK *);

}  // namespace

/// Top-k over the probed lists of every query, each list scored once for all queries that probe it
/// (grouped_topk in scan.h).
int topk_grouped(const Problem &base, const int64_t *list_offsets, const int64_t *list_rows, int64_t nlists,
                 const int32_t *probes, int nprobe, int count, int64_t *ids, float *scores) {
    static const ScoreListFn fns[3] = {score_list<0>, score_list<1>, score_list<2>};
    const ScoreListFn score = fns[base.metric];
    return grouped_topk(base.nq, list_offsets, list_rows, nlists, probes, nprobe, static_cast<double>(base.d),
                        base.metric == LATENT_METRIC_L2, count,
                        [&](const int64_t *rows, int64_t nrows, const int64_t *qids, int64_t nqs, int64_t q0,
                            TopK *heaps) { score(base, rows, nrows, qids, nqs, q0, heaps); },
                        ids, scores);
}

/// Range search: scores are filtered where the tiles are computed. Threads split the queries when
/// there are enough of them, else the candidates (each thread's hits of a query are then in its row
/// range, and ranges are concatenated in row order).
int range(const Problem &p, float radius, int64_t maxResults, RangeResult &out, int64_t *overQuery) {
    const bool higher = p.metric != LATENT_METRIC_L2;
    const double work = static_cast<double>(p.nq) * p.ncand * p.d;
    const int tmax = thread_count();
    const bool byQueries = p.nq >= static_cast<int64_t>(tmax) * kMinQueriesPerThread || tmax == 1;
    int t = byQueries ? threads_for(work, (p.nq + 2) / 3)
                      : threads_for(work, (p.ncand + p.row_block - 1) / p.row_block);
    int64_t per = byQueries ? (p.nq + t - 1) / t : ((p.ncand + t - 1) / t + p.row_block - 1) / p.row_block * p.row_block;
    // Per thread and query: the hits, in row order.
    std::vector<std::vector<std::vector<std::pair<int64_t, float>>>> hits(t);
    std::atomic<int64_t> total{0};
    std::atomic<int64_t> over{-1};
    run_threads(t, [&](int ti) {
        int64_t q0 = 0, q1 = p.nq, c0 = 0, c1 = p.ncand;
        if (byQueries) {
            q0 = std::min<int64_t>(p.nq, ti * per);
            q1 = std::min<int64_t>(p.nq, q0 + per);
        } else {
            c0 = std::min<int64_t>(p.ncand, ti * per);
            c1 = std::min<int64_t>(p.ncand, c0 + per);
        }
        auto &mine = hits[ti];
        mine.resize(static_cast<size_t>(q1 - q0));
        if (q0 >= q1 || c0 >= c1) return;
        scan(p, q0, q1, c0, c1, [&](int64_t qb, int nqt, int64_t cb, int nct, const float *tile, int64_t ld) {
            if (over.load(std::memory_order_relaxed) >= 0) return;
            for (int i = 0; i < nqt; i++) {
                const float qa = p.qaux ? p.qaux[qb + i] : 0.0f;
                auto &list = mine[static_cast<size_t>(qb + i - q0)];
                int64_t found = 0;
                for (int j = 0; j < nct; j++) {
                    const int64_t id = p.cand(cb + j);
                    const float sc = to_score(p.metric, tile[i * ld + j], qa, p.xaux ? p.xaux[id] : 0.0f);
                    if (higher ? sc >= radius : sc <= radius) {
                        list.emplace_back(id, sc);
                        found++;
                    }
                }
                if (found > 0 && total.fetch_add(found, std::memory_order_relaxed) + found > maxResults) {
                    int64_t none = -1;
                    over.compare_exchange_strong(none, qb + i);
                    return;
                }
            }
        });
    });
    if (over.load() >= 0) {
        *overQuery = over.load();
        return LATENT_CPU_ETOO_MANY;
    }
    out.offsets.assign(static_cast<size_t>(p.nq) + 1, 0);
    out.rows.reserve(static_cast<size_t>(total.load()));
    out.scores.reserve(static_cast<size_t>(total.load()));
    for (int64_t qi = 0; qi < p.nq; qi++) {
        for (int ti = 0; ti < t; ti++) {
            int64_t local = byQueries ? qi - std::min<int64_t>(p.nq, ti * per) : qi;
            if (local < 0 || local >= static_cast<int64_t>(hits[ti].size())) continue;
            for (const auto &h : hits[ti][static_cast<size_t>(local)]) {
                out.rows.push_back(h.first);
                out.scores.push_back(h.second);
            }
        }
        out.offsets[static_cast<size_t>(qi) + 1] = static_cast<int64_t>(out.rows.size());
    }
    return LATENT_CPU_OK;
}

/// Scores of every query against every row, written where the tiles are computed. Threads split the
/// queries when there are enough of them, else the rows.
int distances(const Problem &p, float *out) {
    const int64_t nq = p.nq, nx = p.nx;
    const int metric = p.metric;
    const double work = static_cast<double>(nq) * nx * p.d;
    auto sink = [&](int64_t qb, int nqt, int64_t cb, int nct, const float *tile, int64_t ld) {
        for (int i = 0; i < nqt; i++) {
            float qa = p.qaux ? p.qaux[qb + i] : 0.0f;
            float *o = out + (qb + i) * nx + cb;
            for (int j = 0; j < nct; j++) {
                o[j] = to_score(metric, tile[i * ld + j], qa, p.xaux ? p.xaux[cb + j] : 0.0f);
            }
        }
    };
    int tmax = thread_count();
    if (nq >= static_cast<int64_t>(tmax) * kMinQueriesPerThread) {
        int t = threads_for(work, (nq + 2) / 3);
        int64_t per = (nq + t - 1) / t;
        run_threads(t, [&](int ti) {
            int64_t q0 = std::min<int64_t>(nq, ti * per), q1 = std::min<int64_t>(nq, q0 + per);
            if (q0 < q1) scan(p, q0, q1, 0, nx, sink);
        });
    } else {
        int t = threads_for(work, (nx + p.row_block - 1) / p.row_block);
        int64_t per = (nx + t - 1) / t;
        run_threads(t, [&](int ti) {
            int64_t c0 = std::min<int64_t>(nx, ti * per), c1 = std::min<int64_t>(nx, c0 + per);
            if (c0 < c1) scan(p, 0, nq, c0, c1, sink);
        });
    }
    return LATENT_CPU_OK;
}

}  // namespace latent_cpu
