// 8-bit scalar quantisation (latent_cpu_sq8_*; the encoding and the scores are defined in latent_cpu.h):
// encoding rows into codes, and approximate top-k over the codes with the integer kernels of the level
// (Sq8Kernels), the blocking, heaps and thread split of the float search (scan.h).
//
// Per call: every query is quantised once (scale folded in, one int8 code per dimension, padded with
// zeros), then the codes are scanned in blocks like float rows; a tile of int32 sums S becomes dot
// products (float) S * b + o four at a time in feed_heaps, and from there on the float path's keys,
// filter and heaps are used unchanged (inner product and cosine as inner product, L2 with |x^|^2).
//
// Baseline x86-64 flags, no fused multiply-add: every float step here is one IEEE operation, and sums
// are float64 in index order, so a Java reference reproduces codes and scores bit for bit.
#include <algorithm>
#include <cmath>
#include <vector>

#include "scan.h"

namespace latent_cpu {
namespace {

constexpr int64_t kCodeBlockBytes = 256 << 10;  // a block of codes (packed or not) kept in L2
constexpr float kRoundMagic = 12582912.0f;      // 1.5 * 2^23: (v + M) - M rounds |v| < 2^22 to the nearest integer, ties to even

/// v rounded to the nearest integer, ties to even (two IEEE additions; not folded without -ffast-math).
inline float round_even(float v) { return (v + kRoundMagic) - kRoundMagic; }

inline float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

/// Row r of x as scored: itself, or under cosine scaled to unit length (factor 1 / sqrt(sq) in float64).
const float *scored_row(const float *row, int d, bool cosine, double sq, std::vector<float> &buf) {
    if (!cosine) return row;
    const double inv = 1.0 / std::sqrt(sq);
    for (int t = 0; t < d; t++) buf[t] = static_cast<float>(row[t] * inv);
    return buf.data();
}

int64_t query_stride(int64_t stride) { return (stride + 63) / 64 * 64; }

/// The queries of one call, quantised (see latent_cpu.h): codes[i * qstride ...] in [-levels, levels]
/// (zeros past d), and per query b (the step of the codes), o = q . vmin and qa = |q|^2.
struct Queries {
    int64_t qstride = 0;
    std::vector<int8_t> codes;
    std::vector<float> b, o, qa;
};

void quantise_queries(const float *q, int64_t nq, int d, bool cosine, const float *vmin, const float *vscale,
                      int levels, Queries &out) {
    out.qstride = query_stride(LATENT_CPU_SQ8_STRIDE(d));
    out.codes.assign(static_cast<size_t>(nq) * out.qstride, 0);
    out.b.resize(nq);
    out.o.resize(nq);
    out.qa.resize(nq);
    const float lv = static_cast<float>(levels);
    int t = threads_for(static_cast<double>(nq) * d * 4, nq);
    int64_t per = (nq + t - 1) / t;
    run_threads(t, [&](int ti) {
        std::vector<float> unit(d), scaled(d);
        int64_t q0 = std::min<int64_t>(nq, ti * per), q1 = std::min<int64_t>(nq, q0 + per);
        for (int64_t i = q0; i < q1; i++) {
            double sq;
            meets_rule(q + i * d, d, cosine, &sq);
            const float *u = scored_row(q + i * d, d, cosine, sq, unit);
            float m = 0.0f;
            for (int c = 0; c < d; c++) {
                scaled[c] = u[c] * vscale[c];
                m = std::max(m, std::fabs(scaled[c]));
            }
            int8_t *code = out.codes.data() + i * out.qstride;
            if (m > 0.0f) {
                const float r = lv / m;
                for (int c = 0; c < d; c++) {
                    code[c] = static_cast<int8_t>(static_cast<int>(round_even(clampf(scaled[c] * r, -lv, lv))));
                }
            }
            out.b[i] = m > 0.0f ? m / lv : 0.0f;
            double so = 0, sa = 0;
            for (int c = 0; c < d; c++) {
                so += static_cast<double>(u[c]) * vmin[c];
                sa += static_cast<double>(u[c]) * u[c];
            }
            out.o[i] = static_cast<float>(so);
            out.qa[i] = static_cast<float>(sa);
        }
    });
}

/// A query's int32 sums as float dot products (float) S * b + o: two IEEE operations, four lanes or one.
struct Sq8Dots {
    float qa, b, o;
    __m128 four(const int32_t *p) const {
        __m128 s = _mm_cvtepi32_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
        return _mm_add_ps(_mm_mul_ps(s, _mm_set1_ps(b)), _mm_set1_ps(o));
    }
    float one(int32_t s) const { return static_cast<float>(s) * b + o; }
};

/// Codes for blocked_scan (all rows, or the candidates `rows`), queries from a Queries.
struct CodeSource {
    using Row = uint8_t;
    using Query = int8_t;
    using Out = int32_t;
    const Sq8Kernels *kn;
    const uint8_t *codes;
    const int64_t *rows;
    int64_t stride;
    const int8_t *qcodes;
    int64_t qstride;
    int64_t row_block;
    int query_block;
    bool packed;

    const uint8_t *row(int64_t c) const { return codes + (rows ? rows[c] : c) * stride; }
    const int8_t *query(int64_t i) const { return qcodes + i * qstride; }
    size_t panel_elems() const {
        return static_cast<size_t>((row_block + kn->lanes - 1) / kn->lanes * kn->lanes) * stride;
    }
    void pack(const uint8_t *const *x, int nx, uint8_t *panel) const { kn->pack(x, nx, stride, panel); }
    void dot_packed(const int8_t *const *q, int nq, const uint8_t *panel, int nx, int32_t *out, int64_t ldo) const {
        kn->dot_packed(q, nq, panel, nx, stride, out, ldo);
    }
    void dot_tile(const int8_t *const *q, int nq, const uint8_t *const *x, int nx, int32_t *out, int64_t ldo) const {
        kn->dot_tile(q, nq, x, nx, stride, out, ldo);
    }
};

/// Rows of codes per block: kCodeBlockBytes of codes, a multiple of 32 rows (two 16-row panels).
int64_t code_row_block(int64_t stride) {
    int64_t nb = kCodeBlockBytes / stride / 32 * 32;
    return std::max<int64_t>(32, std::min<int64_t>(2048, nb));
}

/// The heap search of queries [q0, q1) over candidates [c0, c1) of `src`: queries' terms from qs,
/// keys as the float path's (metric 2 for L2, else 0: cosine rows and queries are unit vectors).
template <int METRIC, bool SUBSET>
void sq8_range(const CodeSource &src, const Queries &qs, const float *xaux, int64_t q0, int64_t q1, int64_t c0,
               int64_t c1, int k, Entry *store, int *counts) {
    std::vector<TopK> heaps;
    heaps.reserve(q1 - q0);
    for (int64_t qi = q0; qi < q1; qi++) heaps.push_back(TopK{store + (qi - q0) * k, k});
    blocked_scan(src, q0, q1, c0, c1, [&](int64_t qb, int nqt, int64_t cb, int nct, const int32_t *tile, int64_t ld) {
        feed_heaps<METRIC, SUBSET>(heaps.data() + (qb - q0), nqt, cb, nct, tile, ld, src.rows, xaux, [&](int i) {
            const int64_t qi = qb + i;
            return Sq8Dots{qs.qa[qi], qs.b[qi], qs.o[qi]};
        });
    });
    for (int64_t qi = q0; qi < q1; qi++) counts[qi - q0] = heaps[qi - q0].n;
}

using RangeFn = void (*)(const CodeSource &, const Queries &, const float *, int64_t, int64_t, int64_t, int64_t, int,
                         Entry *, int *);

RangeFn range_for(int metric, bool subset) {
    static const RangeFn table[2][2] = {{sq8_range<0, false>, sq8_range<0, true>},
                                        {sq8_range<2, false>, sq8_range<2, true>}};
    return table[metric == LATENT_METRIC_L2 ? 1 : 0][subset ? 1 : 0];
}

/// Codes of one inverted list scored for the queries that probe it: rows and quantised queries read in
/// place through index arrays; packed panels when the list has kPackedMinQueries queries.
struct GroupCodeSource : CodeSource {
    const int64_t *qids;
    const int8_t *query(int64_t i) const { return qcodes + qids[i] * qstride; }
};

template <int METRIC>
void sq8_score_list(const CodeSource &base, const Queries &qs, const float *xaux, const int64_t *rows, int64_t nrows,
                    const int64_t *qids, int64_t nqs, int64_t q0, TopK *heaps) {
    GroupCodeSource src{base, qids};
    src.rows = rows;
    src.packed = base.kn->lanes > 0 && nqs >= kPackedMinQueries;
    blocked_scan(src, 0, nqs, 0, nrows, [&](int64_t qb, int nqt, int64_t cb, int nct, const int32_t *tile, int64_t ld) {
        feed_group<METRIC>(heaps, q0, qids + qb, nqt, rows, cb, nct, tile, ld, xaux, [&](int i) {
            const int64_t qi = qids[qb + i];
            return Sq8Dots{qs.qa[qi], qs.b[qi], qs.o[qi]};
        });
    });
}

/// One vpdpbusd lane does 4 byte products where an FMA lane does 1: a quarter of a multiply-add each.
double work_per_code(int64_t stride) { return static_cast<double>(stride) / 4; }

/// Quantises the queries of a call into qs and returns the source of all its codes.
CodeSource prepare(const float *q, int64_t nq, const uint8_t *codes, int d, int metric, const float *vmin,
                   const float *vscale, Queries &qs) {
    const Sq8Kernels *kn = sq8_kernels();
    quantise_queries(q, nq, d, metric == LATENT_METRIC_COSINE, vmin, vscale, kn->levels, qs);
    const int64_t stride = LATENT_CPU_SQ8_STRIDE(d);
    return CodeSource{kn, codes, nullptr, stride, qs.codes.data(), qs.qstride, code_row_block(stride), kMaxQb,
                      kn->lanes > 0 && nq >= kPackedMinQueries};
}

}  // namespace

int64_t sq8_encode(const float *x, int64_t n, int d, int metric, const float *vmin, const float *vscale,
                   uint8_t *codes, float *xaux) {
    const int64_t stride = LATENT_CPU_SQ8_STRIDE(d);
    const bool cosine = metric == LATENT_METRIC_COSINE;
    int t = threads_for(static_cast<double>(n) * d * 4, n);
    std::vector<int64_t> firstBad(t, -1);
    int64_t per = (n + t - 1) / std::max(1, t);
    run_threads(t, [&](int ti) {
        std::vector<float> unit(d);
        int64_t r0 = std::min<int64_t>(n, ti * per), r1 = std::min<int64_t>(n, r0 + per);
        for (int64_t r = r0; r < r1; r++) {
            double sq;
            if (!meets_rule(x + r * d, d, cosine, &sq) && firstBad[ti] < 0) firstBad[ti] = r;
            const float *u = scored_row(x + r * d, d, cosine, sq, unit);
            uint8_t *code = codes + r * stride;
            for (int c = 0; c < d; c++) {
                float v = vscale[c] > 0.0f ? clampf((u[c] - vmin[c]) / vscale[c], 0.0f, 255.0f) : 0.0f;
                code[c] = static_cast<uint8_t>(static_cast<int>(round_even(v)));
            }
            for (int64_t c = d; c < stride; c++) code[c] = 0;
            if (metric == LATENT_METRIC_L2) {
                double s = 0;
                for (int c = 0; c < d; c++) {
                    const float xh = vmin[c] + static_cast<float>(code[c]) * vscale[c];
                    s += static_cast<double>(xh) * xh;
                }
                xaux[r] = static_cast<float>(s);
            }
        }
    });
    for (int64_t b : firstBad) {
        if (b >= 0) return b;
    }
    return -1;
}

int sq8_topk(const float *q, int64_t nq, const uint8_t *codes, const float *xaux, int64_t nx, int d, int metric,
             const float *vmin, const float *vscale, const int64_t *offsets, const int64_t *rows, int count,
             int64_t *ids, float *scores) {
    if (count == 0 || nq == 0) return LATENT_CPU_OK;
    Queries qs;
    const CodeSource all = prepare(q, nq, codes, d, metric, vmin, vscale, qs);
    const bool l2 = metric == LATENT_METRIC_L2;
    const double workPerCandidate = work_per_code(all.stride);
    if (!offsets) {
        const RangeFn range = range_for(metric, false);
        return topk_split(nq, nx, static_cast<double>(nq) * nx * workPerCandidate, all.row_block, l2, count,
                          [&](int64_t q0, int64_t q1, int64_t c0, int64_t c1, int k, Entry *store, int *counts) {
                              range(all, qs, xaux, q0, q1, c0, c1, k, store, counts);
                          },
                          ids, scores);
    }
    const RangeFn range = range_for(metric, true);
    return topk_per_list(nq, offsets, workPerCandidate, l2, count,
                         [&](int64_t qi, Entry *store, int k) {
                             // One query, its own candidates: rows read in place (no packing for one query).
                             CodeSource one = all;
                             one.rows = rows + offsets[qi];
                             one.packed = false;
                             one.query_block = 1;
                             int n = 0;
                             range(one, qs, xaux, qi, qi + 1, 0, offsets[qi + 1] - offsets[qi], k, store, &n);
                             return n;
                         },
                         ids, scores);
}

int sq8_topk_grouped(const float *q, int64_t nq, const uint8_t *codes, const float *xaux, int d, int metric,
                     const float *vmin, const float *vscale, const int64_t *list_offsets, const int64_t *list_rows,
                     int64_t nlists, const int32_t *probes, int nprobe, int count, int64_t *ids, float *scores) {
    if (count == 0 || nq == 0) return LATENT_CPU_OK;
    Queries qs;
    const CodeSource all = prepare(q, nq, codes, d, metric, vmin, vscale, qs);
    const bool l2 = metric == LATENT_METRIC_L2;
    const auto score = l2 ? &sq8_score_list<2> : &sq8_score_list<0>;
    return grouped_topk(nq, list_offsets, list_rows, nlists, probes, nprobe, work_per_code(all.stride), l2, count,
                        [&](const int64_t *rows, int64_t nrows, const int64_t *qids, int64_t nqs, int64_t q0,
                            TopK *heaps) { score(all, qs, xaux, rows, nrows, qids, nqs, q0, heaps); },
                        ids, scores);
}

}  // namespace latent_cpu
