// Quick timing of latent_cpu_topk outside the JVM (for the kernel log; JMH is the real benchmark).
// Reports GFLOP per wall second and per CPU-second of the process: on a shared machine the second
// is the steadier number. Also measures the FMA peak the same way (12 independent ymm chains).
//   bash native/cpu/build.sh /tmp/lcpu
//   g++ -O2 -mavx2 -mfma -Inative/cpu native/cpu/tools/topk_driver.cpp /tmp/lcpu/liblatentcpu.a -pthread -o /tmp/topk
//   LATENT_CPU_THREADS=1 /tmp/topk 480 100000 384 10 [reps]
#include <immintrin.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <vector>

#include "latent_cpu.h"

static double fma_peak_per_cpu_second() {
    __m256 a[12];
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps(1.0f + i * 1e-3f);
    __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    const long iters = 100000000L;
    clock_t c0 = clock();
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], b, c);
    }
    double cs = static_cast<double>(clock() - c0) / CLOCKS_PER_SEC;
    float o[8];
    __m256 s = a[0];
    for (int i = 1; i < 12; i++) s = _mm256_add_ps(s, a[i]);
    _mm256_storeu_ps(o, s);
    if (o[0] == 42.0f) std::puts("");  // keep the chains alive
    return 2.0 * 8 * 12 * iters / cs / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        std::fprintf(stderr, "usage: %s queries rows d k [reps]\n", argv[0]);
        return 2;
    }
    const long nq = std::atol(argv[1]), nx = std::atol(argv[2]);
    const int d = std::atoi(argv[3]), k = std::atoi(argv[4]), reps = argc > 5 ? std::atoi(argv[5]) : 5;
    std::printf("init %d, isa %s, threads %d, FMA peak %.1f GFLOP/cpu-s\n", latent_cpu_init(),
                latent_cpu_isa_name(latent_cpu_isa()), latent_cpu_threads(), fma_peak_per_cpu_second());
    std::mt19937 g(1);
    std::normal_distribution<float> nd;
    std::vector<float> q(static_cast<size_t>(nq) * d), x(static_cast<size_t>(nx) * d);
    for (auto &v : q) v = nd(g);
    for (auto &v : x) v = nd(g);
    std::vector<int64_t> ids(static_cast<size_t>(nq) * k);
    std::vector<float> sc(static_cast<size_t>(nq) * k);
    const double flop = 2.0 * nq * nx * d;
    for (int r = 0; r < reps; r++) {
        auto t0 = std::chrono::steady_clock::now();
        clock_t c0 = clock();
        int st = latent_cpu_topk(q.data(), nullptr, nq, x.data(), nullptr, nx, d, 0, nullptr, 0, k, ids.data(),
                                 sc.data());
        double cs = static_cast<double>(clock() - c0) / CLOCKS_PER_SEC;
        double w = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("status %d: wall %.3f s = %.1f GFLOP/s, cpu %.3f s = %.1f GFLOP/cpu-s\n", st, w, flop / w / 1e9,
                    cs, flop / cs / 1e9);
    }
    return 0;
}
