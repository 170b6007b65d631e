// Row norms and the vector rule (latent_metric.h): the norm terms the kernels use, and the first row
// that breaks the rule, checked in float64 so every backend accepts the same rows.
#include <algorithm>
#include <cmath>
#include <vector>

#include "latent_cpu_internal.h"
#include "pool.h"

namespace latent_cpu {

bool meets_rule(const float *row, int d, bool cosine, double *sq) {
    double s = 0;
    bool finite = true;
    for (int c = 0; c < d; c++) {
        finite &= std::isfinite(row[c]);
        s += static_cast<double>(row[c]) * row[c];
    }
    *sq = s;
    return finite && s <= LATENT_MAX_SQUARED_NORM && (!cosine || s >= LATENT_MIN_COSINE_SQUARED_NORM);
}

int64_t row_norms(const float *x, int64_t n, int d, int kind, float *out) {
    const Kernels *kn = kernels();
    int t = threads_for(static_cast<double>(n) * d, n);
    std::vector<int64_t> firstBad(t, -1);
    int64_t per = (n + t - 1) / std::max(1, t);
    run_threads(t, [&](int ti) {
        int64_t r0 = std::min<int64_t>(n, ti * per), r1 = std::min<int64_t>(n, r0 + per);
        for (int64_t r = r0; r < r1; r++) {
            float s = kn->sqnorm(x + r * d, d);
            // The vector rule, in float64: the float32 norm above is what the kernels use, this sum is
            // only the check, so every backend accepts the same rows.
            double sq;
            if (!meets_rule(x + r * d, d, kind == 1, &sq) && firstBad[ti] < 0) firstBad[ti] = r;
            out[r] = kind == 0 ? s : 1.0f / std::sqrt(s);
        }
    });
    for (int64_t b : firstBad) {
        if (b >= 0) return b;
    }
    return -1;
}

}  // namespace latent_cpu
