// Dispatcher and search engine (baseline x86-64 flags; the SIMD work happens in kernels_<isa>.cpp).
//
// Search = a blocked matrix product plus per-query bounded heaps:
//   for each database block of NB rows (about 256 KiB, kept in L2)
//     for each tile of up to kQb queries
//       dot products of the tile (register-blocked micro-kernel; packed panels on AVX2/AVX-512 for 16+ queries) -> kQb x NB
//       metric transform + threshold test + heap insertion per score
// Threads split the queries when there are enough of them (each thread then reads the database
// once); otherwise they split the rows and their per-thread top-k lists are merged.
#include "latent_cpu.h"

#include <emmintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
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
constexpr int64_t kRowBlockBytes = 256 << 10;  // database block kept hot in L2 (row-major kernels)
constexpr int64_t kPackedRowBlockBytes = 512 << 10;  // the same for packed kernels (AVX-512 CPUs have >= 1 MiB of L2)
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

/// One parallel call: `parts` calls of fn(part), the first on the calling thread.
struct Job {
    const std::function<void(int)> *fn;
    std::atomic<int> remaining;
    std::mutex mutex;
    std::condition_variable done;
    std::exception_ptr error;
};

/// The persistent worker threads (hardware threads - 1, at least 1), created on first use and kept for
/// the life of the process (never destroyed: the JVM may exit with calls in flight). Parts of every
/// call go into one queue; a calling thread runs its first part and then helps with queued parts
/// until its own are done, so concurrent calls share the workers and none waits idle.
class Pool {
public:
    static Pool &get() {
        static Pool *pool = new Pool();
        return *pool;
    }

    void run(int parts, const std::function<void(int)> &fn) {
        if (parts <= 1) {
            fn(0);
            return;
        }
        Job job;
        job.fn = &fn;
        job.remaining.store(parts);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            for (int p = 1; p < parts; p++) queue_.push_back({&job, p});
        }
        work_.notify_all();
        execute(&job, 0);
        while (job.remaining.load(std::memory_order_acquire) > 0) {
            Task t;
            if (tryPop(t)) {
                execute(t.job, t.part);
                continue;
            }
            std::unique_lock<std::mutex> lock(job.mutex);
            job.done.wait(lock, [&] { return job.remaining.load(std::memory_order_acquire) == 0; });
        }
        if (job.error) std::rethrow_exception(job.error);
    }

private:
    struct Task {
        Job *job;
        int part;
    };

    Pool() {
        unsigned h = std::thread::hardware_concurrency();
        int n = h > 1 ? static_cast<int>(h) - 1 : 1;
        for (int i = 0; i < n; i++) {
            std::thread([this] { loop(); }).detach();
        }
    }

    bool tryPop(Task &t) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (queue_.empty()) return false;
        t = queue_.front();
        queue_.pop_front();
        return true;
    }

    void loop() {
        for (;;) {
            Task t;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                work_.wait(lock, [&] { return !queue_.empty(); });
                t = queue_.front();
                queue_.pop_front();
            }
            execute(t.job, t.part);
        }
    }

    static void execute(Job *job, int part) {
        try {
            (*job->fn)(part);
        } catch (...) {
            std::lock_guard<std::mutex> lock(job->mutex);
            if (!job->error) job->error = std::current_exception();
        }
        if (job->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            std::lock_guard<std::mutex> lock(job->mutex);
            job->done.notify_all();
        }
    }

    std::mutex mutex_;
    std::condition_variable work_;
    std::deque<Task> queue_;
};

/// Runs fn(0..n-1) on the pool, fn(0) on the calling thread. Exceptions in parts are rethrown here.
template <class F>
void run_threads(int n, F fn) {
    if (n <= 1) {
        fn(0);
        return;
    }
    const std::function<void(int)> f = fn;
    Pool::get().run(n, f);
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

bool valid_metric(int m) {
    return m == LATENT_METRIC_INNER_PRODUCT || m == LATENT_METRIC_COSINE || m == LATENT_METRIC_L2;
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

/// Hits of a range search, CSR over queries.
struct RangeResult {
    std::vector<int64_t> offsets;
    std::vector<int64_t> rows;
    std::vector<float> scores;
};

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

/// Per-label sums in float64: threads split the labels, and each thread adds its labels' rows in row
/// order, so the result does not depend on the thread count.
int accumulate(const float *x, int64_t n, int d, const int32_t *labels, int k, double *sums, int64_t *counts) {
    std::fill(sums, sums + static_cast<size_t>(k) * d, 0.0);
    std::fill(counts, counts + k, 0);
    int t = threads_for(static_cast<double>(n) * d, k);
    int per = (k + t - 1) / t;
    run_threads(t, [&](int ti) {
        int l0 = std::min(k, ti * per), l1 = std::min(k, l0 + per);
        if (l0 >= l1) return;
        for (int64_t i = 0; i < n; i++) {
            int l = labels[i];
            if (l < l0 || l >= l1) continue;
            const float *row = x + i * d;
            double *s = sums + static_cast<size_t>(l) * d;
            for (int c = 0; c < d; c++) s[c] += row[c];
            counts[l]++;
        }
    });
    return LATENT_CPU_OK;
}

/// Gram (or scatter) matrix: rows are taken kGramRows at a time, transposed (and centred) into a d x R
/// block, and the block's d x d dot products come from the same micro-kernel as the search; each thread
/// owns a band of output rows and adds blocks in row order, in float64.
constexpr int kGramRows = 256;

int gram(const float *x, int64_t n, int d, const double *mean, double *out) {
    std::fill(out, out + static_cast<size_t>(d) * d, 0.0);
    if (n == 0) return LATENT_CPU_OK;
    const Kernels *kn = kernels();
    int t = threads_for(static_cast<double>(n) * d * d, d);
    int per = (d + t - 1) / t;
    run_threads(t, [&](int ti) {
        int i0 = std::min(d, ti * per), i1 = std::min(d, i0 + per);
        if (i0 >= i1) return;
        std::vector<float> block(static_cast<size_t>(d) * kGramRows);
        std::vector<float> tile(static_cast<size_t>(i1 - i0) * d);
        std::vector<const float *> rowsA(i1 - i0), rowsB(d);
        std::vector<float> panel(kn->lanes > 0 ? static_cast<size_t>((d + kn->lanes - 1) / kn->lanes * kn->lanes) * kGramRows : 0);
        for (int64_t r0 = 0; r0 < n; r0 += kGramRows) {
            int rn = static_cast<int>(std::min<int64_t>(kGramRows, n - r0));
            for (int c = 0; c < d; c++) {
                float *dst = block.data() + static_cast<size_t>(c) * kGramRows;
                for (int r = 0; r < rn; r++) {
                    double v = x[(r0 + r) * d + c];
                    dst[r] = static_cast<float>(mean ? v - mean[c] : v);
                }
            }
            for (int i = i0; i < i1; i++) rowsA[i - i0] = block.data() + static_cast<size_t>(i) * kGramRows;
            for (int j = 0; j < d; j++) rowsB[j] = block.data() + static_cast<size_t>(j) * kGramRows;
            if (kn->lanes > 0) {
                kn->pack(rowsB.data(), d, rn, panel.data());
                kn->dot_packed(rowsA.data(), i1 - i0, panel.data(), d, rn, tile.data(), d);
            } else {
                // dot_tile takes at most kMaxQb rows of its first operand per call.
                for (int a = 0; a < i1 - i0; a += kMaxQb) {
                    int na = std::min(kMaxQb, i1 - i0 - a);
                    kn->dot_tile(rowsA.data() + a, na, rowsB.data(), d, rn,
                                 tile.data() + static_cast<size_t>(a) * d, d);
                }
            }
            for (int i = i0; i < i1; i++) {
                double *o = out + static_cast<size_t>(i) * d;
                const float *tl = tile.data() + static_cast<size_t>(i - i0) * d;
                for (int j = 0; j < d; j++) o[j] += tl[j];
            }
        }
    });
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
                // The vector rule (latent_metric.h), in float64: the float32 norm above is what the
                // kernels use, this sum is only the check, so every backend accepts the same rows.
                const float *row = x + r * d;
                double sq = 0;
                bool finite = true;
                for (int c = 0; c < d; c++) {
                    finite &= std::isfinite(row[c]);
                    sq += static_cast<double>(row[c]) * row[c];
                }
                bool ok = finite && sq <= LATENT_MAX_SQUARED_NORM && (kind == 0 || sq >= LATENT_MIN_COSINE_SQUARED_NORM);
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

int32_t latent_cpu_topk_lists(const float *q, const float *qaux, int64_t nq, const float *x, const float *xaux,
                              int64_t nx, int32_t d, int32_t metric, const int64_t *offsets, const int64_t *rows,
                              int32_t count, int64_t *ids, float *scores) {
    if (nq < 0 || nx < 0 || d < 1 || count < 0 || !valid_metric(metric) || (nq > 0 && !offsets)) return LATENT_CPU_EINVAL;
    if (metric != 0 && (!qaux || !xaux)) return LATENT_CPU_EINVAL;
    return guarded([&] {
        Problem p{q, metric ? qaux : nullptr, nq, x, metric ? xaux : nullptr, nx, d, metric, rows, 0,
                  row_block_for(d), query_block_for(d)};
        return topk_lists(p, offsets, rows, count, ids, scores);
    });
}

int32_t latent_cpu_range(const float *q, const float *qaux, int64_t nq, const float *x, const float *xaux,
                         int64_t nx, int32_t d, int32_t metric, const int64_t *rows, int64_t nrows, float radius,
                         int64_t max_results, int64_t *result, int64_t *total, int64_t *over_query) {
    if (nq < 0 || nx < 0 || d < 1 || !valid_metric(metric) || std::isnan(radius) || max_results < 0 || !result ||
        !total || !over_query) {
        return LATENT_CPU_EINVAL;
    }
    if (metric != 0 && (!qaux || !xaux)) return LATENT_CPU_EINVAL;
    if (rows && (nrows < 0 || nrows > nx)) return LATENT_CPU_EINVAL;
    *result = 0;
    *total = 0;
    *over_query = -1;
    return guarded([&] {
        Problem p{q, metric ? qaux : nullptr, nq, x, metric ? xaux : nullptr, nx, d, metric, rows,
                  rows ? nrows : nx, row_block_for(d), query_block_for(d)};
        auto *r = new RangeResult();
        int st = range(p, radius, max_results, *r, over_query);
        if (st != LATENT_CPU_OK) {
            delete r;
            return st;
        }
        *total = static_cast<int64_t>(r->rows.size());
        *result = reinterpret_cast<int64_t>(r);
        return LATENT_CPU_OK;
    });
}

int32_t latent_cpu_range_fetch(int64_t result, int64_t *offsets, int64_t *rows, float *scores) {
    if (result == 0 || !offsets) return LATENT_CPU_EINVAL;
    auto *r = reinterpret_cast<RangeResult *>(result);
    std::copy(r->offsets.begin(), r->offsets.end(), offsets);
    if (!r->rows.empty()) {
        std::copy(r->rows.begin(), r->rows.end(), rows);
        std::copy(r->scores.begin(), r->scores.end(), scores);
    }
    delete r;
    return LATENT_CPU_OK;
}

void latent_cpu_range_free(int64_t result) {
    delete reinterpret_cast<RangeResult *>(result);
}

int32_t latent_cpu_accumulate(const float *x, int64_t n, int32_t d, const int32_t *labels, int32_t k, double *sums,
                              int64_t *counts) {
    if (n < 0 || d < 1 || k < 1 || !sums || !counts || (n > 0 && (!x || !labels))) return LATENT_CPU_EINVAL;
    for (int64_t i = 0; i < n; i++) {
        if (labels[i] < -1 || labels[i] >= k) return LATENT_CPU_EINVAL;
    }
    return guarded([&] { return accumulate(x, n, d, labels, k, sums, counts); });
}

int32_t latent_cpu_gram(const float *x, int64_t n, int32_t d, const double *mean, double *out) {
    if (n < 0 || d < 1 || !out || (n > 0 && !x)) return LATENT_CPU_EINVAL;
    return guarded([&] { return gram(x, n, d, mean, out); });
}

}  // extern "C"
