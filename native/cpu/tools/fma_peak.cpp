// The machine's fp32 FMA peak, measured: 12 independent FMA chains per thread (enough to cover the FMA
// latency on every x86 core we run on), ymm (AVX2) and, when the CPU has it, zmm (AVX-512), on 1 and on
// all threads. The "% of peak" figures of the benchmarks are against the best of these.
//   g++ -O2 -pthread native/cpu/tools/fma_peak.cpp -o /tmp/fma_peak && /tmp/fma_peak
#include <immintrin.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

__attribute__((target("avx2,fma"))) static double ymm(long iters) {
    __m256 a[12];
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps(1.0f + i * 1e-3f);
    __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], b, c);
    }
    float o[8], s = 0;
    for (int i = 0; i < 12; i++) {
        _mm256_storeu_ps(o, a[i]);
        s += o[0];
    }
    return s;
}

__attribute__((target("avx512f"))) static double zmm(long iters) {
    __m512 a[12];
    for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps(1.0f + i * 1e-3f);
    __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = _mm512_fmadd_ps(a[i], b, c);
    }
    float o[16], s = 0;
    for (int i = 0; i < 12; i++) {
        _mm512_storeu_ps(o, a[i]);
        s += o[0];
    }
    return s;
}

static double gflops(int threads, long iters, int lanes, double (*body)(long)) {
    std::vector<std::thread> ts;
    auto t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; t++) ts.emplace_back([&] { volatile double s = body(iters); (void)s; });
    for (auto &t : ts) t.join();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return 2.0 * 12 * lanes * iters * threads / s / 1e9;
}

int main() {
    int hw = static_cast<int>(std::thread::hardware_concurrency());
    const long iters = 100000000L;
    bool avx512 = __builtin_cpu_supports("avx512f");
    for (int threads : {1, hw}) {
        std::printf("ymm FMA peak, %d thread%s: %.1f GFLOP/s\n", threads, threads == 1 ? "" : "s",
                    gflops(threads, iters, 8, ymm));
        if (avx512) {
            std::printf("zmm FMA peak, %d thread%s: %.1f GFLOP/s\n", threads, threads == 1 ? "" : "s",
                        gflops(threads, iters, 16, zmm));
        }
    }
    return 0;
}
