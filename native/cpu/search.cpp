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
#include <emmintrin.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <utility>
#include <vector>

#include "heap.h"
#include "latent_cpu_internal.h"
#include "pool.h"

namespace latent_cpu {

constexpr int64_t kQueryBlockBytes = 20 << 10;  // queries of one tile, kept in L1 beside 4-8 database rows
constexpr int64_t kMinQueriesPerThread = 48;    // below this, threads split rows, not queries (see topk)
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

inline float to_score(int metric, float dot, float qa, float xa) {
    switch (metric) {
        case LATENT_METRIC_COSINE: return dot * qa * xa;
        case LATENT_METRIC_L2: {
            float v = qa + xa - 2.0f * dot;  // |q|^2 + |x|^2 - 2 q.x, clamped: roundoff can go below 0
            return v > 0.0f ? v : 0.0f;
        }
        default: return dot;
    }
}

/// Walks candidates [c0, c1) x queries [q0, q1) in tiles; sink(qi, nqt, cbase, nct, tile, ld)
/// receives each tile of raw dot products (row-major, ld = NB). On a packed kernel level, when the
/// call has at least kPackedMinQueries queries, each block of NB rows is packed once and serves every
/// query tile; otherwise the rows are read in place.
template <class Sink>
void scan(const Problem &p, int64_t q0, int64_t q1, int64_t c0, int64_t c1, Sink &&sink) {
    const Kernels *kn = kernels();
    const int64_t nb = p.row_block;
    const int qbk = p.query_block;
    // Decided by the whole call's query count, not this thread's share, so every query of a call is
    // scored by the same path (threads splitting 1921 queries can leave one thread with 10).
    const bool packed = kn->lanes > 0 && p.nq >= kPackedMinQueries;
    std::vector<const float *> xp(nb);
    std::vector<const float *> qp(qbk);
    std::vector<float> tile(static_cast<size_t>(qbk) * nb);
    std::vector<float> panel(packed ? static_cast<size_t>((nb + kn->lanes - 1) / kn->lanes * kn->lanes) * p.d : 0);
    for (int64_t cb = c0; cb < c1; cb += nb) {
        int nct = static_cast<int>(std::min(nb, c1 - cb));
        for (int j = 0; j < nct; j++) xp[j] = p.x + p.cand(cb + j) * p.d;
        if (packed) kn->pack(xp.data(), nct, p.d, panel.data());
        for (int64_t qb = q0; qb < q1; qb += qbk) {
            int nqt = static_cast<int>(std::min<int64_t>(qbk, q1 - qb));
            for (int i = 0; i < nqt; i++) qp[i] = p.q + (qb + i) * p.d;
            if (packed) {
                kn->dot_packed(qp.data(), nqt, panel.data(), nct, p.d, tile.data(), nb);
            } else {
                kn->dot_tile(qp.data(), nqt, xp.data(), nct, p.d, tile.data(), nb);
            }
            sink(qb, nqt, cb, nct, tile.data(), nb);
        }
    }
}

/// The heap key of one raw dot product (see Entry).
template <int METRIC>
inline float key_of(float dot, float qa, float xa) {
    if (METRIC == 0) return dot;
    if (METRIC == 1) return dot * qa * xa;
    return -to_score(2, dot, qa, xa);
}

/// Keys of 8 consecutive candidates (rows cb + j ...) with SSE (x86-64 baseline), the same
/// arithmetic as key_of lane by lane, so the filter and the insertion agree bit for bit.
template <int METRIC>
inline void keys8(const float *dot, float qa, const float *xa, __m128 &k0, __m128 &k1) {
    __m128 d0 = _mm_loadu_ps(dot), d1 = _mm_loadu_ps(dot + 4);
    if (METRIC == 0) {
        k0 = d0;
        k1 = d1;
    } else if (METRIC == 1) {
        __m128 q = _mm_set1_ps(qa);
        k0 = _mm_mul_ps(_mm_mul_ps(d0, q), _mm_loadu_ps(xa));
        k1 = _mm_mul_ps(_mm_mul_ps(d1, q), _mm_loadu_ps(xa + 4));
    } else {
        __m128 q = _mm_set1_ps(qa), two = _mm_set1_ps(2.0f), zero = _mm_setzero_ps();
        __m128 v0 = _mm_sub_ps(_mm_add_ps(q, _mm_loadu_ps(xa)), _mm_mul_ps(two, d0));
        __m128 v1 = _mm_sub_ps(_mm_add_ps(q, _mm_loadu_ps(xa + 4)), _mm_mul_ps(two, d1));
        // v > 0 ? v : 0 as in to_score, then an exact sign flip (like unary minus, also on zero).
        __m128 sign = _mm_set1_ps(-0.0f);
        k0 = _mm_xor_ps(sign, _mm_and_ps(v0, _mm_cmpgt_ps(v0, zero)));
        k1 = _mm_xor_ps(sign, _mm_and_ps(v1, _mm_cmpgt_ps(v1, zero)));
    }
}

/// Feeds one tile of dot products into the heaps. Specialised per metric and subset so the
/// per-score work stays a small fraction of the ~24 FMA cycles a score costs at d = 384: whole
/// rows use an 8-wide SSE test against the heap threshold and only look closer when one beats it.
template <int METRIC, bool SUBSET>
void consume(const Problem &p, TopK *heaps, int64_t qb, int nqt, int64_t cb, int nct, const float *tile,
             int64_t ld) {
    const int64_t *rows = p.rows;
    const float *xaux = p.xaux;
    for (int i = 0; i < nqt; i++) {
        TopK &hp = heaps[i];
        const float qa = METRIC == 0 ? 0.0f : p.qaux[qb + i];
        const float *row = tile + i * ld;
        float thr = hp.threshold();
        int j = 0;
        if (!SUBSET) {
            for (; j + 8 <= nct; j += 8) {
                __m128 k0, k1;
                keys8<METRIC>(row + j, qa, METRIC == 0 ? nullptr : xaux + cb + j, k0, k1);
                __m128 t = _mm_set1_ps(thr);
                if (_mm_movemask_ps(_mm_or_ps(_mm_cmpgt_ps(k0, t), _mm_cmpgt_ps(k1, t))) == 0) continue;
                alignas(16) float keys[8];
                _mm_store_ps(keys, k0);
                _mm_store_ps(keys + 4, k1);
                for (int l = 0; l < 8; l++) {
                    if (keys[l] > thr) {
                        hp.push(keys[l], cb + j + l);
                        thr = hp.threshold();
                    }
                }
            }
        }
        for (; j < nct; j++) {
            const int64_t id = SUBSET ? rows[cb + j] : cb + j;
            const float key = key_of<METRIC>(row[j], qa, METRIC == 0 ? 0.0f : xaux[id]);
            if (key > thr) {
                hp.push(key, id);
                thr = hp.threshold();
            }
        }
    }
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
    const int64_t count = std::min<int64_t>(k, p.ncand);
    if (count == 0 || p.nq == 0) return LATENT_CPU_OK;
    const int kk = static_cast<int>(count);
    const double work = static_cast<double>(p.nq) * p.ncand * p.d;
    const int tmax = thread_count();
    auto emit = [&](int64_t qi, Entry *e, int n) {
        std::sort(e, e + n, better);
        for (int r = 0; r < kk; r++) {
            ids[qi * kk + r] = e[r].id;
            scores[qi * kk + r] = p.metric == 2 ? -e[r].key : e[r].key;
        }
    };
    // Enough queries per thread that the FMA work per database byte hides memory: split queries
    // (no merge). With fewer, each thread streaming the whole database would make the call
    // memory-bound, so split the rows instead and merge the per-thread lists.
    if (p.nq >= static_cast<int64_t>(tmax) * kMinQueriesPerThread || tmax == 1) {
        int t = threads_for(work, (p.nq + 2) / 3);
        int64_t per = (p.nq + t - 1) / t;
        std::vector<Entry> store(static_cast<size_t>(p.nq) * kk);
        std::vector<int> counts(p.nq);
        run_threads(t, [&](int ti) {
            int64_t q0 = std::min<int64_t>(p.nq, ti * per), q1 = std::min<int64_t>(p.nq, q0 + per);
            if (q0 >= q1) return;
            topk_range(p, q0, q1, 0, p.ncand, kk, store.data() + q0 * kk, counts.data() + q0);
            for (int64_t qi = q0; qi < q1; qi++) emit(qi, store.data() + qi * kk, counts[qi]);
        });
        return LATENT_CPU_OK;
    }
    // Few queries: split the candidates, keep a top-k per thread, merge.
    int t = threads_for(work, (p.ncand + p.row_block - 1) / p.row_block);
    int64_t per = (p.ncand + t - 1) / t;
    per = (per + p.row_block - 1) / p.row_block * p.row_block;
    std::vector<Entry> store(static_cast<size_t>(t) * p.nq * kk);
    std::vector<int> counts(static_cast<size_t>(t) * p.nq);
    run_threads(t, [&](int ti) {
        int64_t c0 = std::min<int64_t>(p.ncand, ti * per), c1 = std::min<int64_t>(p.ncand, c0 + per);
        if (c0 >= c1) return;
        topk_range(p, 0, p.nq, c0, c1, kk, store.data() + static_cast<size_t>(ti) * p.nq * kk,
                   counts.data() + static_cast<size_t>(ti) * p.nq);
    });
    std::vector<Entry> merged(static_cast<size_t>(t) * kk);
    for (int64_t qi = 0; qi < p.nq; qi++) {
        int n = 0;
        for (int ti = 0; ti < t; ti++) {
            const Entry *e = store.data() + (static_cast<size_t>(ti) * p.nq + qi) * kk;
            int c = counts[static_cast<size_t>(ti) * p.nq + qi];
            std::copy(e, e + c, merged.data() + n);
            n += c;
        }
        std::partial_sort(merged.data(), merged.data() + kk, merged.data() + n, better);
        emit(qi, merged.data(), kk);
    }
    return LATENT_CPU_OK;
}

/// Top-k over one candidate list per query (CSR). Threads split the queries.
int topk_lists(const Problem &base, const int64_t *offsets, const int64_t *lists, int count, int64_t *ids,
               float *scores) {
    if (count == 0 || base.nq == 0) return LATENT_CPU_OK;
    double work = 0;
    for (int64_t qi = 0; qi < base.nq; qi++) work += static_cast<double>(offsets[qi + 1] - offsets[qi]) * base.d;
    int t = threads_for(work, base.nq);
    int64_t per = (base.nq + t - 1) / t;
    run_threads(t, [&](int ti) {
        std::vector<Entry> store(count);
        int64_t q0 = std::min<int64_t>(base.nq, ti * per), q1 = std::min<int64_t>(base.nq, q0 + per);
        for (int64_t qi = q0; qi < q1; qi++) {
            Problem p = base;
            p.q = base.q + qi * base.d;
            p.qaux = base.qaux ? base.qaux + qi : nullptr;
            p.nq = 1;
            p.rows = lists + offsets[qi];
            p.ncand = offsets[qi + 1] - offsets[qi];
            int n = 0;
            if (p.ncand > 0) {
                // The candidates of one query are its own subset: qaux is indexed from this query.
                topk_range(p, 0, 1, 0, p.ncand, count, store.data(), &n);
            }
            std::sort(store.data(), store.data() + n, better);
            for (int r = 0; r < count; r++) {
                if (r < n) {
                    ids[qi * count + r] = store[r].id;
                    scores[qi * count + r] = p.metric == LATENT_METRIC_L2 ? -store[r].key : store[r].key;
                } else {
                    ids[qi * count + r] = -1;
                    scores[qi * count + r] = std::numeric_limits<float>::quiet_NaN();
                }
            }
        }
    });
    return LATENT_CPU_OK;
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
