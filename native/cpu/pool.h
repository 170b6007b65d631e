// The persistent thread pool every parallel call runs on.
#ifndef LATENT_CPU_POOL_H
#define LATENT_CPU_POOL_H

#include <stdint.h>

#include <functional>

#pragma GCC visibility push(hidden)

namespace latent_cpu {

/// Runs fn(0..parts-1) on the pool, fn(0) on the calling thread, which then helps with queued parts
/// (its own or other calls') until its own are done. The first exception of a part is rethrown here.
void run_parts(int parts, const std::function<void(int)> &fn);

/// Runs fn(0..n-1) on the pool, fn(0) on the calling thread. Exceptions in parts are rethrown here.
template <class F>
void run_threads(int n, F fn) {
    if (n <= 1) {
        fn(0);
        return;
    }
    const std::function<void(int)> f = fn;
    run_parts(n, f);
}

/// Threads worth using for `work` multiply-adds split into at most `parts` pieces.
int threads_for(double work, int64_t parts);

}  // namespace latent_cpu

#pragma GCC visibility pop

#endif
