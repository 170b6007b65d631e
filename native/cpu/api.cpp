// The C API (latent_cpu.h): argument checks, then the engine's functions (one file per job, see
// native/README.md), with C++ exceptions turned into status codes.
#include <algorithm>
#include <cmath>
#include <new>

#include "latent_cpu_internal.h"

namespace latent_cpu {
namespace {

bool valid_metric(int m) {
    return m == LATENT_METRIC_INNER_PRODUCT || m == LATENT_METRIC_COSINE || m == LATENT_METRIC_L2;
}

/// Per-dimension terms of an 8-bit encoding: d finite vmin, d finite vscale >= 0.
bool valid_sq8(int d, const float *vmin, const float *vscale) {
    if (!vmin || !vscale) return false;
    for (int t = 0; t < d; t++) {
        if (!std::isfinite(vmin[t]) || !std::isfinite(vscale[t]) || vscale[t] < 0.0f) return false;
    }
    return true;
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

int32_t latent_cpu_isa(void) { return current_isa(); }

int32_t latent_cpu_set_isa(int32_t isa) { return select_isa(isa); }

const char *latent_cpu_isa_name(int32_t isa) { return isa_name(isa); }

int32_t latent_cpu_threads(void) { return thread_count(); }

void latent_cpu_set_threads(int32_t threads) { set_thread_count(threads); }

int64_t latent_cpu_row_norms(const float *x, int64_t n, int32_t d, int32_t kind, float *out) {
    if (n < 0 || d < 1 || (kind != 0 && kind != 1) || (n > 0 && (!x || !out))) return LATENT_CPU_EINVAL - 1;
    int64_t bad = -1;
    int st = guarded([&] {
        bad = row_norms(x, n, d, kind, out);
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
        return distances(p, out);
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

int32_t latent_cpu_topk_grouped(const float *q, const float *qaux, int64_t nq, const float *x, const float *xaux,
                                int64_t nx, int32_t d, int32_t metric, const int64_t *list_offsets,
                                const int64_t *list_rows, int64_t nlists, const int32_t *probes, int32_t nprobe,
                                int32_t count, int64_t *ids, float *scores) {
    if (nq < 0 || nx < 0 || d < 1 || count < 0 || nlists < 0 || nprobe < 0 || !valid_metric(metric)) {
        return LATENT_CPU_EINVAL;
    }
    if (metric != 0 && (!qaux || !xaux)) return LATENT_CPU_EINVAL;
    if (nq > 0 && nprobe > 0 && (!probes || !list_offsets)) return LATENT_CPU_EINVAL;
    if (nq > 0 && nprobe > 0) {
        for (int64_t i = 0; i < nq * nprobe; i++) {
            if (probes[i] < 0 || probes[i] >= nlists) return LATENT_CPU_EINVAL;
        }
    }
    return guarded([&] {
        Problem p{q, metric ? qaux : nullptr, nq, x, metric ? xaux : nullptr, nx, d, metric, nullptr, 0,
                  row_block_for(d), query_block_for(d)};
        return topk_grouped(p, list_offsets, list_rows, nlists, probes, nprobe, count, ids, scores);
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

int32_t latent_cpu_sq8_query_levels(void) { return sq8_kernels()->levels; }

int64_t latent_cpu_sq8_encode(const float *x, int64_t n, int32_t d, int32_t metric, const float *vmin,
                              const float *vscale, uint8_t *codes, float *xaux) {
    if (n < 0 || d < 1 || d > LATENT_CPU_SQ8_MAX_D || !valid_metric(metric) || !valid_sq8(d, vmin, vscale)) {
        return LATENT_CPU_EINVAL - 1;
    }
    if (n > 0 && (!x || !codes || (metric == LATENT_METRIC_L2 && !xaux))) return LATENT_CPU_EINVAL - 1;
    int64_t bad = -1;
    int st = guarded([&] {
        bad = sq8_encode(x, n, d, metric, vmin, vscale, codes, xaux);
        return LATENT_CPU_OK;
    });
    return st == LATENT_CPU_OK ? bad : st - 1;
}

int32_t latent_cpu_sq8_topk(const float *q, int64_t nq, const uint8_t *codes, const float *xaux, int64_t nx,
                            int32_t d, int32_t metric, const float *vmin, const float *vscale,
                            const int64_t *offsets, const int64_t *rows, int32_t count, int64_t *ids,
                            float *scores) {
    if (nq < 0 || nx < 0 || d < 1 || d > LATENT_CPU_SQ8_MAX_D || count < 0 || !valid_metric(metric) ||
        !valid_sq8(d, vmin, vscale)) {
        return LATENT_CPU_EINVAL;
    }
    if (nq > 0 && count > 0 && (!q || !ids || !scores)) return LATENT_CPU_EINVAL;
    if (nx > 0 && (!codes || (metric == LATENT_METRIC_L2 && !xaux))) return LATENT_CPU_EINVAL;
    if (!offsets && rows) return LATENT_CPU_EINVAL;
    if (offsets && nq > 0 && offsets[nq] > offsets[0] && !rows) return LATENT_CPU_EINVAL;
    return guarded([&] {
        return sq8_topk(q, nq, codes, xaux, nx, d, metric, vmin, vscale, offsets, rows, count, ids, scores);
    });
}

int32_t latent_cpu_sq8_topk_grouped(const float *q, int64_t nq, const uint8_t *codes, const float *xaux,
                                    int64_t nx, int32_t d, int32_t metric, const float *vmin,
                                    const float *vscale, const int64_t *list_offsets, const int64_t *list_rows,
                                    int64_t nlists, const int32_t *probes, int32_t nprobe, int32_t count,
                                    int64_t *ids, float *scores) {
    if (nq < 0 || nx < 0 || d < 1 || d > LATENT_CPU_SQ8_MAX_D || count < 0 || nlists < 0 || nprobe < 0 ||
        !valid_metric(metric) || !valid_sq8(d, vmin, vscale)) {
        return LATENT_CPU_EINVAL;
    }
    if (nq > 0 && count > 0 && (!q || !ids || !scores)) return LATENT_CPU_EINVAL;
    if (nx > 0 && (!codes || (metric == LATENT_METRIC_L2 && !xaux))) return LATENT_CPU_EINVAL;
    if (nq > 0 && nprobe > 0 && (!probes || !list_offsets)) return LATENT_CPU_EINVAL;
    if (nq > 0 && nprobe > 0) {
        for (int64_t i = 0; i < nq * nprobe; i++) {
            if (probes[i] < 0 || probes[i] >= nlists) return LATENT_CPU_EINVAL;
        }
    }
    return guarded([&] {
        return sq8_topk_grouped(q, nq, codes, xaux, d, metric, vmin, vscale, list_offsets, list_rows, nlists, probes,
                                nprobe, count, ids, scores);
    });
}

}  // extern "C"
