// The machine's fp32 FMA peak, measured: 12 independent FMA chains per thread (enough to cover the FMA
// latency on every x86 core we run on), ymm (AVX2) and, when the CPU has it, zmm (AVX-512), on 1 and on
// all threads. The "% of peak" figures of the benchmarks are against the best of these. Also the peak of
// the 8-bit code kernels' step in byte products per second: vpdpbusd on zmm (AVX-512 VNNI, 16 chains) and
// vpmaddubsw + vpmaddwd + vpaddd on ymm (AVX2, 12 chains).
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

/// vpdpbusd in inline assembly, as in kernels_avx512_vnni.cpp: with the intrinsic GCC 12 copies the accumulators.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static inline __m512i dpbusd(__m512i a, __m512i u, __m512i s) {
    __asm__("vpdpbusd %[s], %[u], %[a]" : [a] "+v"(a) : [u] "v"(u), [s] "v"(s));
    return a;
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static double vnni(long iters) {
    __m512i a[16];
    for (int i = 0; i < 16; i++) a[i] = _mm512_set1_epi32(i);
    __m512i u = _mm512_set1_epi8(3), s = _mm512_set1_epi8(-2);
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) a[i] = dpbusd(a[i], u, s);
    }
    int o = 0;
    for (int i = 0; i < 16; i++) o += _mm512_reduce_add_epi32(a[i]);
    return o;
}

__attribute__((target("avx2"))) static double u8ymm(long iters) {
    __m256i a[12];
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_epi32(i);
    __m256i u = _mm256_set1_epi8(3), s = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = _mm256_add_epi32(a[i], _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), ones));
    }
    int o[8], r = 0;
    for (int i = 0; i < 12; i++) {
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(o), a[i]);
        r += o[0];
    }
    return r;
}

/// Operations per second (in billions) of `threads` threads each running body(iters), perIter per iteration.
static double rate(int threads, long iters, double perIter, double (*body)(long)) {
    std::vector<std::thread> ts;
    auto t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; t++) ts.emplace_back([&] { volatile double s = body(iters); (void)s; });
    for (auto &t : ts) t.join();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return perIter * iters * threads / s / 1e9;
}

static double gflops(int threads, long iters, int lanes, double (*body)(long)) {
    return rate(threads, iters, 2.0 * 12 * lanes, body);
}

int main() {
    int hw = static_cast<int>(std::thread::hardware_concurrency());
    const long iters = 100000000L;
    bool avx512 = __builtin_cpu_supports("avx512f");
    bool vnni512 = avx512 && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
    for (int threads : {1, hw}) {
        std::printf("ymm FMA peak, %d thread%s: %.1f GFLOP/s\n", threads, threads == 1 ? "" : "s",
                    gflops(threads, iters, 8, ymm));
        if (avx512) {
            std::printf("zmm FMA peak, %d thread%s: %.1f GFLOP/s\n", threads, threads == 1 ? "" : "s",
                        gflops(threads, iters, 16, zmm));
        }
        std::printf("ymm u8 x s8 (vpmaddubsw, vpmaddwd, vpaddd) peak, %d thread%s: %.1f G byte products/s\n", threads,
                    threads == 1 ? "" : "s", rate(threads, iters, 12.0 * 32, u8ymm));
        if (vnni512) {
            std::printf("zmm vpdpbusd peak, %d thread%s: %.1f G byte products/s\n", threads, threads == 1 ? "" : "s",
                        rate(threads, iters, 16.0 * 64, vnni));
        }
    }
    return 0;
}
