// The persistent thread pool (LATENT_CPU_THREADS threads per call, hardware threads - 1 workers).
#include "pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "latent_cpu_internal.h"

namespace latent_cpu {
namespace {

constexpr double kMinWorkPerThread = 2e6;  // multiply-adds below which another thread costs more than it saves

/// One parallel call: `parts` calls of fn(part), the first on the calling thread.
struct Job {
    const std::function<void(int)> *fn;
    std::atomic<int> remaining;
    std::mutex mutex;
    std::condition_variable done;
    std::exception_ptr error;
};

/// The persistent worker threads (hardware threads - 1, at least 1), created on first use and kept for
/// the life of the process (never destroyed: the JVM may exit with calls in flight). Parts of every
/// call go into one queue; a calling thread runs its first part and then helps with queued parts
/// until its own are done, so concurrent calls share the workers and none waits idle.
class Pool {
public:
    static Pool &get() {
        static Pool *pool = new Pool();
        return *pool;
    }

    void run(int parts, const std::function<void(int)> &fn) {
        if (parts <= 1) {
            fn(0);
            return;
        }
        Job job;
        job.fn = &fn;
        job.remaining.store(parts);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            for (int p = 1; p < parts; p++) queue_.push_back({&job, p});
        }
        work_.notify_all();
        execute(&job, 0);
        while (job.remaining.load(std::memory_order_acquire) > 0) {
            Task t;
            if (tryPop(t)) {
                execute(t.job, t.part);
                continue;
            }
            std::unique_lock<std::mutex> lock(job.mutex);
            job.done.wait(lock, [&] { return job.remaining.load(std::memory_order_acquire) == 0; });
        }
        // Every part has counted down under the mutex; taking it once waits for the last of them to let go.
        { std::lock_guard<std::mutex> settled(job.mutex); }
        if (job.error) std::rethrow_exception(job.error);
    }

private:
    struct Task {
        Job *job;
        int part;
    };

    Pool() {
        unsigned h = std::thread::hardware_concurrency();
        int n = h > 1 ? static_cast<int>(h) - 1 : 1;
        for (int i = 0; i < n; i++) {
            std::thread([this] { loop(); }).detach();
        }
    }

    bool tryPop(Task &t) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (queue_.empty()) return false;
        t = queue_.front();
        queue_.pop_front();
        return true;
    }

    void loop() {
        for (;;) {
            Task t;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                work_.wait(lock, [&] { return !queue_.empty(); });
                t = queue_.front();
                queue_.pop_front();
            }
            execute(t.job, t.part);
        }
    }

    static void execute(Job *job, int part) {
        try {
            (*job->fn)(part);
        } catch (...) {
            std::lock_guard<std::mutex> lock(job->mutex);
            if (!job->error) job->error = std::current_exception();
        }
        // The count falls under the job's mutex, and the caller takes that mutex once after it reads 0
        // (end of run): so no worker still holds or is about to take the mutex of a job whose caller has
        // returned and destroyed it. (Decrementing outside the lock let the caller see 0, return and free
        // the job while the last worker was about to lock its mutex: glibc's "mutex->__data.__owner == 0"
        // assertion, seen on 1M-row inverted-list searches.)
        std::lock_guard<std::mutex> lock(job->mutex);
        if (job->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            job->done.notify_all();
        }
    }

    std::mutex mutex_;
    std::condition_variable work_;
    std::deque<Task> queue_;
};

}  // namespace

void run_parts(int parts, const std::function<void(int)> &fn) { Pool::get().run(parts, fn); }

int threads_for(double work, int64_t parts) {
    int t = thread_count();
    int64_t byWork = static_cast<int64_t>(work / kMinWorkPerThread);
    if (byWork < t) t = static_cast<int>(std::max<int64_t>(1, byWork));
    if (parts < t) t = static_cast<int>(std::max<int64_t>(1, parts));
    return t;
}

}  // namespace latent_cpu
