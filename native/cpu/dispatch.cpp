// ISA dispatch: CPU feature detection, LATENT_CPU_ISA and LATENT_CPU_THREADS (read once), the level
// in use (its float kernels and its 8-bit code kernels) and the threads per call.
#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

#include "latent_cpu_internal.h"

namespace latent_cpu {
namespace {

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

}  // namespace

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

int current_isa() {
    init_once();
    return g_isa.load();
}

int select_isa(int isa) {
    init_once();
    if (!cpu_has(isa)) return LATENT_CPU_EISA;
    g_isa.store(isa);
    return LATENT_CPU_OK;
}

const char *isa_name(int isa) {
    switch (isa) {
        case LATENT_CPU_ISA_SCALAR: return "scalar";
        case LATENT_CPU_ISA_AVX2: return "avx2";
        case LATENT_CPU_ISA_AVX512: return "avx512";
        default: return "unknown";
    }
}

const Kernels *kernels() {
    init_once();
    return table_for(g_isa.load(std::memory_order_relaxed));
}

bool cpu_has_vnni() {
    static const bool has = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") &&
               cpu_has(LATENT_CPU_ISA_AVX512);
    }();
    return has;
}

const Sq8Kernels *sq8_kernels() {
    init_once();
    switch (g_isa.load(std::memory_order_relaxed)) {
        case LATENT_CPU_ISA_AVX512: return cpu_has_vnni() ? sq8_kernels_avx512() : sq8_kernels_avx2();
        case LATENT_CPU_ISA_AVX2: return sq8_kernels_avx2();
        default: return sq8_kernels_scalar();
    }
}

int thread_count() {
    init_once();
    int t = g_threads.load(std::memory_order_relaxed);
    if (t > 0) return t;
    if (g_env_threads > 0) return g_env_threads;
    unsigned h = std::thread::hardware_concurrency();
    return h == 0 ? 1 : static_cast<int>(h);
}

void set_thread_count(int threads) { g_threads.store(threads > 0 ? threads : 0); }

}  // namespace latent_cpu
