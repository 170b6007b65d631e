// The search engine's shared steps (baseline x86-64 flags), written once for float32 rows (search.cpp)
// and 8-bit codes (sq8.cpp):
//   blocked_scan    database blocks kept in L2, query tiles in L1, packed panels for 16+ queries;
//   feed_heaps      a tile of dot products -> metric keys -> per-query bounded heaps (8-wide SSE filter);
//   topk_split      threads split the queries (enough per thread) or the rows (per-thread lists merged);
//   topk_per_list   one candidate list per query (CSR), threads split the queries, padding -1 / NaN;
//   grouped_topk    inverted lists each scored once for the queries probing it (feed_group), heaps merged.
#ifndef LATENT_CPU_SCAN_H
#define LATENT_CPU_SCAN_H

#include <emmintrin.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <vector>

#include "heap.h"
#include "latent_cpu_internal.h"
#include "pool.h"

#pragma GCC visibility push(hidden)

namespace latent_cpu {

constexpr int64_t kMinQueriesPerThread = 48;  // below this, threads split rows, not queries (see topk_split)

/// Walks candidates [c0, c1) x queries [q0, q1) in tiles; sink(qi, nqt, cbase, nct, tile, ld) receives
/// each tile of raw dot products (row-major, ld = the row block). When s.packed, each block of rows is
/// packed once and serves every query tile; otherwise the rows are read in place. The source s has
///   using Row, Query, Out;                      element types of rows, queries and tiles
///   int64_t row_block; int query_block; bool packed;
///   const Row *row(int64_t c); const Query *query(int64_t i);
///   size_t panel_elems();                       Row elements of one packed block
///   void pack(const Row *const *x, int nx, Row *panel);
///   void dot_packed(const Query *const *q, int nq, const Row *panel, int nx, Out *out, int64_t ldo);
///   void dot_tile(const Query *const *q, int nq, const Row *const *x, int nx, Out *out, int64_t ldo);
template <class Src, class Sink>
void blocked_scan(const Src &s, int64_t q0, int64_t q1, int64_t c0, int64_t c1, Sink &&sink) {
    using Row = typename Src::Row;
    using Query = typename Src::Query;
    const int64_t nb = s.row_block;
    const int qbk = s.query_block;
    std::vector<const Row *> xp(nb);
    std::vector<const Query *> qp(qbk);
    std::vector<typename Src::Out> tile(static_cast<size_t>(qbk) * nb);
    std::vector<Row> panel(s.packed ? s.panel_elems() : 0);
    for (int64_t cb = c0; cb < c1; cb += nb) {
        int nct = static_cast<int>(std::min(nb, c1 - cb));
        for (int j = 0; j < nct; j++) xp[j] = s.row(cb + j);
        if (s.packed) s.pack(xp.data(), nct, panel.data());
        for (int64_t qb = q0; qb < q1; qb += qbk) {
            int nqt = static_cast<int>(std::min<int64_t>(qbk, q1 - qb));
            for (int i = 0; i < nqt; i++) qp[i] = s.query(qb + i);
            if (s.packed) {
                s.dot_packed(qp.data(), nqt, panel.data(), nct, tile.data(), nb);
            } else {
                s.dot_tile(qp.data(), nqt, xp.data(), nct, tile.data(), nb);
            }
            sink(qb, nqt, cb, nct, tile.data(), nb);
        }
    }
}

/// The score of a dot product: the dot (inner product), dot * (1/|q|) * (1/|x|) (cosine with inverse
/// norms as aux terms), |q|^2 + |x|^2 - 2 dot clamped at 0 (squared L2 with squared norms).
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

/// The heap key of one dot product (see Entry).
template <int METRIC>
inline float key_of(float dot, float qa, float xa) {
    if (METRIC == 0) return dot;
    if (METRIC == 1) return dot * qa * xa;
    return -to_score(2, dot, qa, xa);
}

/// Keys of 8 consecutive candidates from their dot products (d0, d1) with SSE (x86-64 baseline), the
/// same arithmetic as key_of lane by lane, so the filter and the insertion agree bit for bit.
template <int METRIC>
inline void keys8(__m128 d0, __m128 d1, float qa, const float *xa, __m128 &k0, __m128 &k1) {
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

/// Float32 tiles: the entries are the dot products.
struct FloatDots {
    float qa;
    __m128 four(const float *p) const { return _mm_loadu_ps(p); }
    float one(float v) const { return v; }
};

/// Feeds one tile of dot products (rows cb.. of queries 0..nqt-1 of `heaps`) into the heaps.
/// terms(i) gives query i's converter of tile entries to float dot products (four(p), one(v)) and its
/// norm term qa. Specialised per metric and subset so the per-score work stays a small fraction of a
/// dot product: whole rows use an 8-wide SSE test against the heap threshold and only look closer when
/// one beats it. Rows arrive in ascending order, so a strict > on the key is the whole tie rule.
template <int METRIC, bool SUBSET, class T, class Terms>
void feed_heaps(TopK *heaps, int nqt, int64_t cb, int nct, const T *tile, int64_t ld, const int64_t *rows,
                const float *xaux, Terms &&terms) {
    for (int i = 0; i < nqt; i++) {
        TopK &hp = heaps[i];
        const auto dots = terms(i);
        const float qa = METRIC == 0 ? 0.0f : dots.qa;
        const T *row = tile + i * ld;
        float thr = hp.threshold();
        int j = 0;
        if (!SUBSET) {
            for (; j + 8 <= nct; j += 8) {
                __m128 k0, k1;
                keys8<METRIC>(dots.four(row + j), dots.four(row + j + 4), qa,
                              METRIC == 0 ? nullptr : xaux + cb + j, k0, k1);
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
            const float key = key_of<METRIC>(dots.one(row[j]), qa, METRIC == 0 ? 0.0f : xaux[id]);
            if (key > thr) {
                hp.push(key, id);
                thr = hp.threshold();
            }
        }
    }
}

/// Sorts the n entries of e best first and writes `count` of them (ids, scores; the key negated back
/// for squared L2), padding past n with id -1 and score NaN.
inline void emit_best(Entry *e, int n, int count, bool negate, int64_t *ids, float *scores) {
    std::sort(e, e + n, better);
    for (int r = 0; r < count; r++) {
        if (r < n) {
            ids[r] = e[r].id;
            scores[r] = negate ? -e[r].key : e[r].key;
        } else {
            ids[r] = -1;
            scores[r] = std::numeric_limits<float>::quiet_NaN();
        }
    }
}

/// Top-`count` of nq queries over ncand candidates into ids[nq * count] and scores[nq * count] (padded
/// past ncand). range(q0, q1, c0, c1, k, store, counts) keeps the top-k of candidates [c0, c1) for queries
/// [q0, q1) in store[(qi - q0) * k ...] and their number in counts[qi - q0]. With enough queries per thread
/// that the work per database byte hides memory, threads split the queries (no merge); with fewer, each
/// thread streaming the whole database would make the call memory-bound, so threads split the rows (in
/// whole row blocks) and the per-thread lists are merged. `work` (multiply-adds) sizes the thread count.
template <class Range>
int topk_split(int64_t nq, int64_t ncand, double work, int64_t row_block, bool negate, int count, Range &&range,
               int64_t *ids, float *scores) {
    const int kk = static_cast<int>(std::min<int64_t>(count, ncand));
    if (count == 0 || nq == 0) return LATENT_CPU_OK;
    if (kk == 0) {
        for (int64_t qi = 0; qi < nq; qi++) emit_best(nullptr, 0, count, negate, ids + qi * count, scores + qi * count);
        return LATENT_CPU_OK;
    }
    const int tmax = thread_count();
    if (nq >= static_cast<int64_t>(tmax) * kMinQueriesPerThread || tmax == 1) {
        int t = threads_for(work, (nq + 2) / 3);
        int64_t per = (nq + t - 1) / t;
        std::vector<Entry> store(static_cast<size_t>(nq) * kk);
        std::vector<int> counts(nq);
        run_threads(t, [&](int ti) {
            int64_t q0 = std::min<int64_t>(nq, ti * per), q1 = std::min<int64_t>(nq, q0 + per);
            if (q0 >= q1) return;
            range(q0, q1, int64_t{0}, ncand, kk, store.data() + q0 * kk, counts.data() + q0);
            for (int64_t qi = q0; qi < q1; qi++) {
                emit_best(store.data() + qi * kk, counts[qi], count, negate, ids + qi * count, scores + qi * count);
            }
        });
        return LATENT_CPU_OK;
    }
    int t = threads_for(work, (ncand + row_block - 1) / row_block);
    int64_t per = (ncand + t - 1) / t;
    per = (per + row_block - 1) / row_block * row_block;
    std::vector<Entry> store(static_cast<size_t>(t) * nq * kk);
    std::vector<int> counts(static_cast<size_t>(t) * nq);
    run_threads(t, [&](int ti) {
        int64_t c0 = std::min<int64_t>(ncand, ti * per), c1 = std::min<int64_t>(ncand, c0 + per);
        if (c0 >= c1) return;
        range(int64_t{0}, nq, c0, c1, kk, store.data() + static_cast<size_t>(ti) * nq * kk,
              counts.data() + static_cast<size_t>(ti) * nq);
    });
    std::vector<Entry> merged(static_cast<size_t>(t) * kk);
    for (int64_t qi = 0; qi < nq; qi++) {
        int n = 0;
        for (int ti = 0; ti < t; ti++) {
            const Entry *e = store.data() + (static_cast<size_t>(ti) * nq + qi) * kk;
            int c = counts[static_cast<size_t>(ti) * nq + qi];
            std::copy(e, e + c, merged.data() + n);
            n += c;
        }
        int keep = std::min(n, kk);
        std::partial_sort(merged.data(), merged.data() + keep, merged.data() + n, better);
        emit_best(merged.data(), keep, count, negate, ids + qi * count, scores + qi * count);
    }
    return LATENT_CPU_OK;
}

/// Top-`count` over one candidate list per query (CSR offsets[nq + 1]), padded with id -1 and score NaN.
/// one(qi, store, count) keeps the top-count of query qi's list in store and returns how many it kept (it
/// is not called for an empty list). Threads split the queries; `work_per_candidate` (multiply-adds)
/// sizes the thread count.
template <class One>
int topk_per_list(int64_t nq, const int64_t *offsets, double work_per_candidate, bool negate, int count, One &&one,
                  int64_t *ids, float *scores) {
    if (count == 0 || nq == 0) return LATENT_CPU_OK;
    const double work = static_cast<double>(offsets[nq] - offsets[0]) * work_per_candidate;
    int t = threads_for(work, nq);
    int64_t per = (nq + t - 1) / t;
    run_threads(t, [&](int ti) {
        std::vector<Entry> store(count);
        int64_t q0 = std::min<int64_t>(nq, ti * per), q1 = std::min<int64_t>(nq, q0 + per);
        for (int64_t qi = q0; qi < q1; qi++) {
            int n = offsets[qi + 1] > offsets[qi] ? one(qi, store.data(), count) : 0;
            emit_best(store.data(), n, count, negate, ids + qi * count, scores + qi * count);
        }
    });
    return LATENT_CPU_OK;
}

/// Feeds one tile of a list scored for several queries: tile row i belongs to query qids[i] (heap
/// heaps[qids[i] - q0]), tile column j to row rows[cb + j]. Lists arrive in any order, so a candidate
/// equal to the threshold may still win on the lower row: push decides that. terms(i) as in feed_heaps.
template <int METRIC, class T, class Terms>
void feed_group(TopK *heaps, int64_t q0, const int64_t *qids, int nqt, const int64_t *rows, int64_t cb, int nct,
                const T *tile, int64_t ld, const float *xaux, Terms &&terms) {
    for (int i = 0; i < nqt; i++) {
        TopK &hp = heaps[qids[i] - q0];
        const auto dots = terms(i);
        const float qa = METRIC == 0 ? 0.0f : dots.qa;
        const T *t = tile + i * ld;
        float thr = hp.threshold();
        for (int j = 0; j < nct; j++) {
            const int64_t id = rows[cb + j];
            const float key = key_of<METRIC>(dots.one(t[j]), qa, METRIC == 0 ? 0.0f : xaux[id]);
            if (key >= thr) {
                hp.push(key, id);
                thr = hp.threshold();
            }
        }
    }
}

/// Top-`count` over inverted lists (list l: rows list_rows[list_offsets[l] .. list_offsets[l + 1])), query
/// i probing probes[i * nprobe ..], each list scored once for all the queries that probe it, into
/// ids[nq * count] and scores[nq * count] (padded with id -1 and score NaN). score(rows, nrows, qids, nqs,
/// q0, heaps) scores a list's rows for its queries qids (ascending) into heaps[qid - q0]. Queries go in
/// chunks (bounding the per-thread heaps); within a chunk the probes are inverted into per-list query lists,
/// threads take lists (largest work first) into heaps of their own, and the per-thread heaps of each query
/// are merged at the end. `work_per_pair` (multiply-adds per row and query) sizes the thread count.
template <class Score>
int grouped_topk(int64_t nq, const int64_t *list_offsets, const int64_t *list_rows, int64_t nlists,
                 const int32_t *probes, int nprobe, double work_per_pair, bool negate, int count, Score &&score,
                 int64_t *ids, float *scores) {
    if (count == 0 || nq == 0) return LATENT_CPU_OK;
    const int tmax = std::max(1, thread_count());
    const int64_t entries = int64_t{4} << 20;  // per-thread heap entries of one chunk, all threads together
    const int64_t chunk = std::max<int64_t>(1, entries / (static_cast<int64_t>(tmax) * count));
    std::vector<int64_t> qoff(static_cast<size_t>(nlists) + 1);
    std::vector<int64_t> qids;
    std::vector<int64_t> order;
    for (int64_t q0 = 0; q0 < nq; q0 += chunk) {
        const int64_t q1 = std::min(nq, q0 + chunk), nc = q1 - q0;
        // Invert the probes: the queries of each list, ascending.
        std::fill(qoff.begin(), qoff.end(), 0);
        for (int64_t qi = q0; qi < q1; qi++) {
            for (int j = 0; j < nprobe; j++) qoff[static_cast<size_t>(probes[qi * nprobe + j]) + 1]++;
        }
        for (int64_t l = 0; l < nlists; l++) qoff[l + 1] += qoff[l];
        qids.assign(static_cast<size_t>(qoff[nlists]), 0);
        {
            std::vector<int64_t> fill(qoff.begin(), qoff.end() - 1);
            for (int64_t qi = q0; qi < q1; qi++) {
                for (int j = 0; j < nprobe; j++) qids[fill[probes[qi * nprobe + j]]++] = qi;
            }
        }
        order.clear();
        double work = 0;
        for (int64_t l = 0; l < nlists; l++) {
            const int64_t nqs = qoff[l + 1] - qoff[l];
            const int64_t nr = nqs > 0 ? list_offsets[l + 1] - list_offsets[l] : 0;
            if (nr > 0) {
                order.push_back(l);
                work += static_cast<double>(nr) * nqs * work_per_pair;
            }
        }
        std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
            const double wa = static_cast<double>(list_offsets[a + 1] - list_offsets[a]) * (qoff[a + 1] - qoff[a]);
            const double wb = static_cast<double>(list_offsets[b + 1] - list_offsets[b]) * (qoff[b + 1] - qoff[b]);
            return wa > wb || (wa == wb && a < b);
        });
        const int t = order.empty() ? 1 : threads_for(work, static_cast<int64_t>(order.size()));
        std::vector<Entry> store(static_cast<size_t>(t) * nc * count);
        std::vector<int> counts(static_cast<size_t>(t) * nc, 0);
        std::atomic<size_t> next{0};
        run_threads(t, [&](int ti) {
            std::vector<TopK> heaps;
            heaps.reserve(static_cast<size_t>(nc));
            Entry *mine = store.data() + static_cast<size_t>(ti) * nc * count;
            for (int64_t i = 0; i < nc; i++) heaps.push_back(TopK{mine + i * count, count});
            for (size_t o; (o = next.fetch_add(1, std::memory_order_relaxed)) < order.size();) {
                const int64_t l = order[o];
                score(list_rows + list_offsets[l], list_offsets[l + 1] - list_offsets[l], qids.data() + qoff[l],
                      qoff[l + 1] - qoff[l], q0, heaps.data());
            }
            for (int64_t i = 0; i < nc; i++) counts[static_cast<size_t>(ti) * nc + i] = heaps[i].n;
        });
        // Merge the per-thread heaps of each query (threads split the queries).
        const int tm = threads_for(static_cast<double>(nc) * t * count * 64, nc);
        const int64_t per = (nc + tm - 1) / tm;
        run_threads(tm, [&](int mi) {
            std::vector<Entry> merged(static_cast<size_t>(t) * count);
            const int64_t a = std::min(nc, mi * per), b = std::min(nc, a + per);
            for (int64_t i = a; i < b; i++) {
                int n = 0;
                for (int ti = 0; ti < t; ti++) {
                    const Entry *e = store.data() + (static_cast<size_t>(ti) * nc + i) * count;
                    const int c = counts[static_cast<size_t>(ti) * nc + i];
                    std::copy(e, e + c, merged.data() + n);
                    n += c;
                }
                const int keep = std::min(n, count);
                std::partial_sort(merged.data(), merged.data() + keep, merged.data() + n, better);
                emit_best(merged.data(), keep, count, negate, ids + (q0 + i) * count, scores + (q0 + i) * count);
            }
        });
    }
    return LATENT_CPU_OK;
}

}  // namespace latent_cpu

#pragma GCC visibility pop

#endif
