// Clustering sums: per-label float64 sums and counts (the k-means update), and the Gram (scatter)
// matrix. Both have a fixed reduction order, so results do not depend on the thread count.
#include <algorithm>
#include <vector>

#include "latent_cpu_internal.h"
#include "pool.h"

namespace latent_cpu {

constexpr int kGramRows = 256;  // rows per Gram block

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

}  // namespace latent_cpu
