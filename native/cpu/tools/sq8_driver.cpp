// Timing of latent_cpu_topk (float32) against latent_cpu_sq8_topk (8-bit codes) on the same random
// normal data, outside the JVM (for the kernel log). Each repetition runs both, float first; prints every
// time (wall and process CPU seconds), then the medians with min-max and the ratio of the medians, and the
// overlap of the sq8 top-k with the float top-k (recall at k, random data: the hard case for recall).
//   bash native/cpu/build.sh /tmp/lcpu
//   g++ -O2 -Inative/cpu native/cpu/tools/sq8_driver.cpp /tmp/lcpu/liblatentcpu.a -pthread -o /tmp/sq8
//   LATENT_CPU_THREADS=2 [LATENT_CPU_ISA=avx2] /tmp/sq8 queries rows d k [reps] [metric 0|1|2]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <set>
#include <vector>

#include "latent_cpu.h"

struct Times {
    std::vector<double> wall, cpu;
};

template <class F>
static void timed(Times &t, F f) {
    auto t0 = std::chrono::steady_clock::now();
    clock_t c0 = clock();
    int st = f();
    t.cpu.push_back(static_cast<double>(clock() - c0) / CLOCKS_PER_SEC);
    t.wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (st != 0) {
        std::fprintf(stderr, "status %d\n", st);
        std::exit(1);
    }
}

static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void report(const char *what, const Times &t) {
    auto [lo, hi] = std::minmax_element(t.wall.begin(), t.wall.end());
    std::printf("%-6s wall median %.4f s (%.4f-%.4f), cpu median %.4f s\n", what, median(t.wall), *lo, *hi,
                median(t.cpu));
}

int main(int argc, char **argv) {
    if (argc < 5) {
        std::fprintf(stderr, "usage: %s queries rows d k [reps] [metric]\n", argv[0]);
        return 2;
    }
    const long nq = std::atol(argv[1]), nx = std::atol(argv[2]);
    const int d = std::atoi(argv[3]), k = std::atoi(argv[4]);
    const int reps = argc > 5 ? std::atoi(argv[5]) : 5, metric = argc > 6 ? std::atoi(argv[6]) : 0;
    std::printf("init %d, isa %s, sq8 query levels %d, threads %d, metric %d: %ld queries x %ld rows x %d, k = %d\n",
                latent_cpu_init(), latent_cpu_isa_name(latent_cpu_isa()), latent_cpu_sq8_query_levels(),
                latent_cpu_threads(), metric, nq, nx, d, k);
    std::mt19937 g(1);
    std::normal_distribution<float> nd;
    std::vector<float> q(static_cast<size_t>(nq) * d), x(static_cast<size_t>(nx) * d);
    for (auto &v : q) v = nd(g);
    for (auto &v : x) v = nd(g);
    const int kind = metric == 1 ? 1 : 0;
    std::vector<float> qaux(nq), xaux(nx), caux(nx);
    latent_cpu_row_norms(q.data(), nq, d, kind, qaux.data());
    latent_cpu_row_norms(x.data(), nx, d, kind, xaux.data());
    // Min and max per dimension (of the unit rows under cosine: 1/|x| is xaux there).
    std::vector<float> vmin(d, 3e38f), vmax(d, -3e38f), vscale(d);
    for (long r = 0; r < nx; r++) {
        for (int t = 0; t < d; t++) {
            float v = x[r * d + t] * (metric == 1 ? xaux[r] : 1.0f);
            vmin[t] = std::min(vmin[t], v);
            vmax[t] = std::max(vmax[t], v);
        }
    }
    for (int t = 0; t < d; t++) vscale[t] = (vmax[t] - vmin[t]) / 255.0f;
    std::vector<uint8_t> codes(static_cast<size_t>(nx) * LATENT_CPU_SQ8_STRIDE(d));
    Times enc;
    timed(enc, [&] {
        return static_cast<int>(latent_cpu_sq8_encode(x.data(), nx, d, metric, vmin.data(), vscale.data(),
                                                      codes.data(), caux.data()) + 1);
    });
    std::printf("encode %.3f s\n", enc.wall[0]);
    std::vector<int64_t> fid(static_cast<size_t>(nq) * k), sid(static_cast<size_t>(nq) * k);
    std::vector<float> fsc(fid.size()), ssc(sid.size());
    Times ft, st;
    for (int r = 0; r < reps; r++) {
        timed(ft, [&] {
            return latent_cpu_topk(q.data(), metric ? qaux.data() : nullptr, nq, x.data(), metric ? xaux.data() : nullptr,
                                   nx, d, metric, nullptr, 0, k, fid.data(), fsc.data());
        });
        timed(st, [&] {
            return latent_cpu_sq8_topk(q.data(), nq, codes.data(), caux.data(), nx, d, metric, vmin.data(),
                                       vscale.data(), nullptr, nullptr, k, sid.data(), ssc.data());
        });
        std::printf("rep %d: float wall %.4f cpu %.4f | sq8 wall %.4f cpu %.4f\n", r, ft.wall.back(), ft.cpu.back(),
                    st.wall.back(), st.cpu.back());
    }
    report("float", ft);
    report("sq8", st);
    std::printf("float / sq8 (median wall) = %.2f\n", median(ft.wall) / median(st.wall));
    long hit = 0;
    for (long i = 0; i < nq; i++) {
        std::set<int64_t> f(fid.begin() + i * k, fid.begin() + (i + 1) * k);
        for (int r = 0; r < k; r++) hit += f.count(sid[i * k + r]);
    }
    std::printf("sq8 recall at %d against float: %.4f\n", k, static_cast<double>(hit) / (nq * k));
    return 0;
}
