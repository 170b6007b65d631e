// Dispatcher and search engine (baseline x86-64 flags; the SIMD work happens in kernels_<isa>.cpp).
//
// Search = a blocked matrix product plus per-query bounded heaps:
//   for each database block of NB rows (about 256 KiB, kept in L2)
//     for each tile of up to kQb queries
//       dot_tile (register-blocked micro-kernel) -> kQb x NB dot products
//       metric transform + threshold test + heap insertion per score
// Threads split the queries when there are enough of them (each thread then reads the database
// once); otherwise they split the rows and their per-thread top-k lists are merged.
#include "latent_cpu.h"

#include <emmintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "kernels.h"

namespace latent_cpu {
namespace {

constexpr int64_t kQueryBlockBytes = 20 << 10;  // queries of one tile, kept in L1 beside 4-8 database rows
constexpr int kMaxQb = 48;
constexpr int64_t kMinQueriesPerThread = 48;    // below this, threads split rows, not queries (see topk)
constexpr int64_t kRowBlockBytes = 256 << 10;  // database block kept hot in L2
constexpr double kMinWorkPerThread = 2e6;      // multiply-adds below which another thread costs more than it saves

bool cpu_has(int isa) {
    __builtin_cpu_init();
    switch (isa) {
        case LATENT_CPU_ISA_SCALAR: return true;
        case LATENT_CPU_ISA_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        case LATENT_CPU_ISA_AVX512: return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
        default: return false;
    }
}

int best_isa() {
    if (cpu_has(LATENT_CPU_ISA_AVX512)) return LATENT_CPU_ISA_AVX512;
    if (cpu_has(LATENT_CPU_ISA_AVX2)) return LATENT_CPU_ISA_AVX2;
    return LATENT_CPU_ISA_SCALAR;
}

const Kernels *table_for(int isa) {
    switch (isa) {
        case LATENT_CPU_ISA_AVX512: return kernels_avx512();
        case LATENT_CPU_ISA_AVX2: return kernels_avx2();
        default: return kernels_scalar();
    }
}

std::atomic<int> g_isa{-1};
std::atomic<int> g_threads{0};
int g_env_threads = 0;

int init_once() {
    static const int status = [] {
        int st = LATENT_CPU_OK;
        int isa = best_isa();
        if (const char *e = std::getenv("LATENT_CPU_ISA")) {
            std::string v(e);
            if (v.empty() || v == "auto") {
            } else if (v == "avx512") {
                isa = LATENT_CPU_ISA_AVX512;
            } else if (v == "avx2") {
                isa = LATENT_CPU_ISA_AVX2;
            } else if (v == "scalar") {
                isa = LATENT_CPU_ISA_SCALAR;
            } else {
                st = LATENT_CPU_EISA_NAME;
            }
            if (st == LATENT_CPU_OK && !cpu_has(isa)) st = LATENT_CPU_EISA;
        }
        if (st != LATENT_CPU_OK) isa = best_isa();
        int expected = -1;
        g_isa.compare_exchange_strong(expected, isa);
        if (const char *t = std::getenv("LATENT_CPU_THREADS")) {
            int n = std::atoi(t);
            if (n > 0) g_env_threads = n;
        }
        return st;
    }();
    return status;
}

const Kernels *kernels() {
    init_once();
    return table_for(g_isa.load(std::memory_order_relaxed));
}

int thread_count() {
    init_once();
    int t = g_threads.load(std::memory_order_relaxed);
    if (t > 0) return t;
    if (g_env_threads > 0) return g_env_threads;
    unsigned h = std::thread::hardware_concurrency();
    return h == 0 ? 1 : static_cast<int>(h);
}

/// Runs fn(0..n-1), fn(0) on the calling thread. Exceptions in workers are rethrown here.
template <class F>
void run_threads(int n, F fn) {
    if (n <= 1) {
        fn(0);
        return;
    }
    std::vector<std::thread> ts;
    std::vector<std::exception_ptr> errs(n);
    ts.reserve(n - 1);
    for (int t = 1; t < n; t++) {
        ts.emplace_back([&, t] {
            try {
                fn(t);
            } catch (...) {
                errs[t] = std::current_exception();
            }
        });
    }
    try {
        fn(0);
    } catch (...) {
        errs[0] = std::current_exception();
    }
    for (auto &th : ts) th.join();
    for (auto &e : errs) {
        if (e) std::rethrow_exception(e);
    }
}

/// Threads worth using for `work` multiply-adds split into at most `parts` pieces.
int threads_for(double work, int64_t parts) {
    int t = thread_count();
    int64_t byWork = static_cast<int64_t>(work / kMinWorkPerThread);
    if (byWork < t) t = static_cast<int>(std::max<int64_t>(1, byWork));
    if (parts < t) t = static_cast<int>(std::max<int64_t>(1, parts));
    return t;
}

/// A candidate in a bounded heap. key is the score made "higher is nearer" (-L2), so one
/// comparison serves all metrics; negation is exact, so ties stay ties.
struct Entry {
    float key;
    int64_t id;
};

/// a strictly worse than b: lower key, or equal key and higher row index.
inline bool worse(const Entry &a, const Entry &b) {
    return a.key < b.key || (a.key == b.key && a.id > b.id);
}

/// Bounded heap of the k best entries seen; the root is the worst kept entry.
struct TopK {
    Entry *h;
    int k;
    int n = 0;

    /// Key a new candidate must beat strictly (rows arrive in ascending order, so an equal key
    /// always belongs to a higher row index and loses the tie).
    float threshold() const {
        return n < k ? -std::numeric_limits<float>::infinity() : h[0].key;
    }

    void push(float key, int64_t id) {
        Entry e{key, id};
        if (n < k) {
            int i = n++;
            while (i > 0) {  // sift up: the parent must not be better than the child
                int p = (i - 1) / 2;
                if (!worse(e, h[p])) break;
                h[i] = h[p];
                i = p;
            }
            h[i] = e;
            return;
        }
        if (!worse(h[0], e)) return;
        int i = 0;
        for (;;) {  // sift down from the root
            int c = 2 * i + 1;
            if (c >= n) break;
            if (c + 1 < n && worse(h[c + 1], h[c])) c++;
            if (!worse(h[c], e)) break;
            h[i] = h[c];
            i = c;
        }
        h[i] = e;
    }
};

/// Everything a search call needs, shared by the threads.
struct Problem {
    const float *q;
    const float *qaux;
    int64_t nq;
    const float *x;
    const float *xaux;
    int64_t nx;
    int d;
    int metric;
    const int64_t *rows;  // null: all rows
    int64_t ncand;        // candidates: nrows or nx
    int64_t row_block;    // NB
    int query_block;      // queries per tile

    int64_t cand(int64_t c) const { return rows ? rows[c] : c; }
};

inline float to_score(int metric, float dot, float qa, float xa) {
    switch (metric) {
        case 1: return dot * qa * xa;
        case 2: {
            float v = qa + xa - 2.0f * dot;  // |q|^2 + |x|^2 - 2 q.x, clamped: roundoff can go below 0
            return v > 0.0f ? v : 0.0f;
        }
        default: return dot;
    }
}

/// Walks candidates [c0, c1) x queries [q0, q1) in tiles; sink(qi, nqt, cbase, nct, tile, ld)
/// receives each tile of raw dot products (row-major, ld = NB).
template <class Sink>
void scan(const Problem &p, int64_t q0, int64_t q1, int64_t c0, int64_t c1, Sink &&sink) {
    const Kernels *kn = kernels();
    const int64_t nb = p.row_block;
    const int qbk = p.query_block;
    std::vector<const float *> xp(nb);
    std::vector<const float *> qp(qbk);
    std::vector<float> tile(static_cast<size_t>(qbk) * nb);
    for (int64_t cb = c0; cb < c1; cb += nb) {
        int nct = static_cast<int>(std::min(nb, c1 - cb));
        for (int j = 0; j < nct; j++) xp[j] = p.x + p.cand(cb + j) * p.d;
        for (int64_t qb = q0; qb < q1; qb += qbk) {
            int nqt = static_cast<int>(std::min<int64_t>(qbk, q1 - qb));
            for (int i = 0; i < nqt; i++) qp[i] = p.q + (qb + i) * p.d;
            kn->dot_tile(qp.data(), nqt, xp.data(), nct, p.d, tile.data(), nb);
            sink(qb, nqt, cb, nct, tile.data(), nb);
        }
    }
}

int64_t row_block_for(int d) {
    int64_t nb = kRowBlockBytes / (static_cast<int64_t>(d) * 4);
    nb = nb / 8 * 8;
    return std::max<int64_t>(8, std::min<int64_t>(512, nb));
}

int query_block_for(int d) {
    int64_t qb = kQueryBlockBytes / (static_cast<int64_t>(d) * 4);
    qb = qb / 3 * 3;
    return static_cast<int>(std::max<int64_t>(3, std::min<int64_t>(kMaxQb, qb)));
}

bool valid_metric(int m) { return m == 0 || m == 1 || m == 2; }

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

inline bool better(const Entry &a, const Entry &b) { return worse(b, a); }

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

template <class F>
int guarded(F f) {
    try {
        return f();
    } catch (const std::bad_alloc &) {
        return LATENT_CPU_ENOMEM;
    } catch (...) {
        return LATENT_CPU_EINTERNAL;
    }
}

}  // namespace
}  // namespace latent_cpu

using namespace latent_cpu;

extern "C" {

int32_t latent_cpu_abi_version(void) { return LATENT_CPU_ABI_VERSION; }

int32_t latent_cpu_init(void) { return init_once(); }

int32_t latent_cpu_isa_supported(int32_t isa) { return cpu_has(isa) ? 1 : 0; }

int32_t latent_cpu_isa_best(void) { return best_isa(); }

int32_t latent_cpu_isa(void) {
    init_once();
    return g_isa.load();
}

int32_t latent_cpu_set_isa(int32_t isa) {
    init_once();
    if (!cpu_has(isa)) return LATENT_CPU_EISA;
    g_isa.store(isa);
    return LATENT_CPU_OK;
}

const char *latent_cpu_isa_name(int32_t isa) {
    switch (isa) {
        case LATENT_CPU_ISA_SCALAR: return "scalar";
        case LATENT_CPU_ISA_AVX2: return "avx2";
        case LATENT_CPU_ISA_AVX512: return "avx512";
        default: return "unknown";
    }
}

int32_t latent_cpu_threads(void) { return thread_count(); }

void latent_cpu_set_threads(int32_t threads) { g_threads.store(threads > 0 ? threads : 0); }

int64_t latent_cpu_row_norms(const float *x, int64_t n, int32_t d, int32_t kind, float *out) {
    if (n < 0 || d < 1 || (kind != 0 && kind != 1) || (n > 0 && (!x || !out))) return LATENT_CPU_EINVAL - 1;
    int64_t bad = -1;
    int st = guarded([&] {
        const Kernels *kn = kernels();
        int t = threads_for(static_cast<double>(n) * d, n);
        std::vector<int64_t> firstBad(t, -1);
        int64_t per = (n + t - 1) / std::max(1, t);
        run_threads(t, [&](int ti) {
            int64_t r0 = std::min<int64_t>(n, ti * per), r1 = std::min<int64_t>(n, r0 + per);
            for (int64_t r = r0; r < r1; r++) {
                float s = kn->sqnorm(x + r * d, d);
                bool ok = std::isfinite(s) && (kind == 0 || s > 0.0f);
                if (!ok && firstBad[ti] < 0) firstBad[ti] = r;
                out[r] = kind == 0 ? s : 1.0f / std::sqrt(s);
            }
        });
        for (int64_t b : firstBad) {
            if (b >= 0) {
                bad = b;
                break;
            }
        }
        return LATENT_CPU_OK;
    });
    return st == LATENT_CPU_OK ? bad : st - 1;
}

int32_t latent_cpu_distances(const float *q, const float *qaux, int64_t nq, const float *x,
                             const float *xaux, int64_t nx, int32_t d, int32_t metric, float *out) {
    if (nq < 0 || nx < 0 || d < 1 || !valid_metric(metric)) return LATENT_CPU_EINVAL;
    if (metric != 0 && (!qaux || !xaux)) return LATENT_CPU_EINVAL;
    if (nq == 0 || nx == 0) return LATENT_CPU_OK;
    return guarded([&] {
        Problem p{q, metric ? qaux : nullptr, nq, x, metric ? xaux : nullptr, nx, d, metric, nullptr, nx,
                  row_block_for(d), query_block_for(d)};
        const double work = static_cast<double>(nq) * nx * d;
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
    });
}

int32_t latent_cpu_topk(const float *q, const float *qaux, int64_t nq, const float *x, const float *xaux,
                        int64_t nx, int32_t d, int32_t metric, const int64_t *rows, int64_t nrows,
                        int32_t k, int64_t *ids, float *scores) {
    if (nq < 0 || nx < 0 || d < 1 || k < 1 || !valid_metric(metric)) return LATENT_CPU_EINVAL;
    if (metric != 0 && (!qaux || !xaux)) return LATENT_CPU_EINVAL;
    if (rows && (nrows < 0 || nrows > nx)) return LATENT_CPU_EINVAL;
    return guarded([&] {
        Problem p{q, metric ? qaux : nullptr, nq, x, metric ? xaux : nullptr, nx, d, metric, rows,
                  rows ? nrows : nx, row_block_for(d), query_block_for(d)};
        return topk(p, k, ids, scores);
    });
}

}  // extern "C"
