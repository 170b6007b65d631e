package dev.latent.engine;

import dev.latent.engine.EngineMetrics.Operation;
import dev.latent.engine.EngineMetrics.Stats;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * One operation's bounded queue, dispatcher thread and counters: the back-pressure, deadlines, cancellation
 * and batch forming that {@link Engine} describes, for any kind of request. A subclass says what fits in a
 * batch ({@link #resetBudget}, {@link #admit}) and how a batch is computed ({@link #compute}).
 *
 * <p><b>Thread safety.</b> {@link #submit} may be called by any number of threads; the queue, the
 * {@code queued} flag of each request and {@code closing} change only under {@code lock}. The budget
 * methods run on the dispatcher thread under the lock; {@link #compute} runs on the dispatcher thread
 * (concurrency 1) or on a batch thread, up to {@code concurrency} batches at once, without the lock.
 */
abstract class Lane<R extends Request<?>> implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger("dev.latent.engine");

    /**
     * What the lanes of one engine share with it: the owner (on whose threads nothing may block on it), the
     * deadline timer, and the queue settings of {@link Engine.Builder}.
     *
     * @param owner the engine whose dispatcher and batch threads these are
     * @param timer the engine's deadline timer, shut down by the engine after the lanes close
     * @param capacity requests the queue holds
     * @param maxWaitNanos longest the oldest request waits for others while a slot is free
     * @param blockNanos longest a caller waits for room in a full queue; below zero: reject at once
     */
    record Setup(Engine owner, ScheduledExecutorService timer, int capacity, long maxWaitNanos, long blockNanos) {
    }

    final Operation op;
    final Engine owner;
    final ScheduledExecutorService timer;
    final int capacity;
    final long maxWaitNanos;
    final long blockNanos;            // < 0: reject at once when full
    final Semaphore slots;            // batches that may run at once
    final ExecutorService runners;    // null: batches run on the dispatcher thread (concurrency 1)
    final ArrayDeque<R> queue = new ArrayDeque<>();
    final ReentrantLock lock = new ReentrantLock();
    final Condition notEmpty = lock.newCondition();
    final Condition notFull = lock.newCondition();
    final AtomicLong requests = new AtomicLong();
    final AtomicLong rejections = new AtomicLong();
    final AtomicLong completed = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    final AtomicLong timedOut = new AtomicLong();
    final AtomicLong cancelled = new AtomicLong();
    final AtomicLong batches = new AtomicLong();
    final LatencyWindow latencies = new LatencyWindow(EngineMetrics.LATENCY_WINDOW);
    volatile Thread thread;
    boolean closing; // under lock

    Lane(Setup setup, Operation op, int concurrency) {
        this.op = op;
        this.owner = setup.owner();
        this.timer = setup.timer();
        this.capacity = setup.capacity();
        this.maxWaitNanos = setup.maxWaitNanos();
        this.blockNanos = setup.blockNanos();
        this.slots = new Semaphore(concurrency);
        String name = "latent-engine-" + op.name().toLowerCase() + "-batch-";
        AtomicLong n = new AtomicLong();
        this.runners = concurrency == 1 ? null : Executors.newFixedThreadPool(concurrency,
                r -> new EngineThread(owner, r, name + n.incrementAndGet()));
    }

    /** Starts a new batch's budget. */
    abstract void resetBudget();

    /** Whether {@code r} fits the batch being formed (the first request always does); counts it if so. */
    abstract boolean admit(R r, boolean first);

    /** Computes a batch and completes its futures; throws only what the components threw. */
    abstract void compute(List<R> batch);

    void start() {
        thread = new EngineThread(owner, this, "latent-engine-" + op.name().toLowerCase());
        thread.start();
    }

    /** Queues {@code r}; {@code admitted}: a second step of an admitted request, not held to the capacity. */
    void submit(R r, boolean admitted) {
        lock.lock();
        try {
            if (closing) {
                throw new EngineClosedException("the engine is closed");
            }
            if (!admitted && queue.size() >= capacity) {
                awaitRoom();
            }
            r.submitted = System.nanoTime();
            r.queued = true;
            queue.addLast(r);
            requests.incrementAndGet();
            notEmpty.signal();
        } finally {
            lock.unlock();
        }
        // Registered after queueing: if the future completes first (a racing cancel), withdraw removes it.
        r.future.whenComplete((v, e) -> {
            ScheduledFuture<?> t = r.timer;
            if (t != null) {
                t.cancel(false);
            }
            if (e != null) {
                withdraw(r);
            }
        });
        if (r.deadline != 0 && !r.future.isDone()) {
            try {
                r.timer = timer.schedule(() -> expire(r), r.deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException closedMeanwhile) {
                // close() shut the timer; close() also fails every queued request.
            }
        }
    }

    /** Waits for room per the configuration; caller holds the lock and saw a full queue. */
    private void awaitRoom() {
        if (blockNanos < 0) {
            rejections.incrementAndGet();
            throw new EngineRejectedException(op, op.name().toLowerCase() + " queue is full (" + capacity
                    + " requests waiting); retry later or raise Engine.Builder.queueCapacity");
        }
        long nanos = blockNanos;
        try {
            while (queue.size() >= capacity && !closing) {
                if (nanos <= 0) {
                    rejections.incrementAndGet();
                    throw new EngineRejectedException(op, op.name().toLowerCase() + " queue stayed full ("
                            + capacity + " requests waiting) for " + Duration.ofNanos(blockNanos));
                }
                nanos = notFull.awaitNanos(nanos);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            rejections.incrementAndGet();
            throw new EngineRejectedException(op, "interrupted while waiting for room in the "
                    + op.name().toLowerCase() + " queue");
        }
        if (closing) {
            throw new EngineClosedException("the engine is closed");
        }
    }

    /** A request completed from outside (cancelled, or completed by its caller) while queued: drop it. */
    private void withdraw(R r) {
        lock.lock();
        try {
            if (r.queued && queue.remove(r)) {
                r.queued = false;
                cancelled.incrementAndGet();
                notFull.signal();
            }
        } finally {
            lock.unlock();
        }
    }

    /** The deadline timer: a request still queued at its deadline times out. */
    private void expire(R r) {
        lock.lock();
        try {
            if (!r.queued || !queue.remove(r)) {
                return;
            }
            r.queued = false;
            timedOut.incrementAndGet();
            notFull.signal();
        } finally {
            lock.unlock();
        }
        r.future.completeExceptionally(timeout(r));
    }

    private EngineTimeoutException timeout(R r) {
        return new EngineTimeoutException(op.name().toLowerCase() + " request's deadline passed after "
                + Duration.ofNanos(System.nanoTime() - r.submitted) + " in the queue; it was not computed");
    }

    /**
     * The dispatcher: waits for a free batch slot, forms a batch, runs it (on a batch thread when more
     * than one may run at once). While every slot is busy requests accumulate, so batches grow with load.
     */
    @Override
    public void run() {
        List<R> expired = new ArrayList<>();
        while (true) {
            try {
                slots.acquire();
            } catch (InterruptedException e) {
                Thread.interrupted(); // not used to stop the thread: close() sets closing
                continue;
            }
            List<R> batch = new ArrayList<>();
            boolean open;
            lock.lock();
            try {
                open = fill();
                if (open) {
                    drain(batch, expired);
                    notFull.signalAll();
                }
            } catch (InterruptedException e) {
                Thread.interrupted();
                open = true;
            } finally {
                lock.unlock();
            }
            for (R r : expired) {
                r.future.completeExceptionally(timeout(r));
            }
            expired.clear();
            if (!open) {
                slots.release();
                if (runners != null) {
                    runners.shutdown(); // the batches already handed over run to the end
                }
                return;
            }
            if (batch.isEmpty()) {
                slots.release();
            } else if (runners == null) {
                try {
                    runBatch(batch);
                } finally {
                    slots.release();
                }
            } else {
                runners.execute(() -> {
                    try {
                        runBatch(batch);
                    } finally {
                        slots.release();
                    }
                });
            }
        }
    }

    /**
     * Waits until the queue holds a full batch or its oldest request has waited maxWait. Caller holds the
     * lock. Returns false when the lane is closing (queued requests are failed by close()).
     */
    private boolean fill() throws InterruptedException {
        while (true) {
            if (closing) {
                return false;
            }
            R head = queue.peekFirst();
            if (head == null) {
                notEmpty.await();
                continue;
            }
            long wait = head.submitted + maxWaitNanos - System.nanoTime();
            if (wait <= 0 || full()) {
                return true;
            }
            notEmpty.awaitNanos(wait);
        }
    }

    /** Whether the queue holds more than one batch's worth. Caller holds the lock. */
    private boolean full() {
        resetBudget();
        boolean first = true;
        for (R r : queue) {
            if (!admit(r, first)) {
                return true;
            }
            first = false;
        }
        return false;
    }

    /** Moves the head of the queue into {@code batch} up to the budget. Caller holds the lock. */
    private void drain(List<R> batch, List<R> expired) {
        resetBudget();
        long now = System.nanoTime();
        while (!queue.isEmpty()) {
            R r = queue.peekFirst();
            if (r.future.isDone()) {        // cancelled, its withdraw still to come
                queue.pollFirst();
                r.queued = false;
                cancelled.incrementAndGet();
                continue;
            }
            if (r.expired(now)) {
                queue.pollFirst();
                r.queued = false;
                timedOut.incrementAndGet();
                expired.add(r);
                continue;
            }
            if (!admit(r, batch.isEmpty())) {
                break;
            }
            queue.pollFirst();
            r.queued = false;
            batch.add(r);
        }
    }

    private void runBatch(List<R> batch) {
        batches.incrementAndGet();
        try {
            compute(batch);
        } catch (Throwable t) {
            // An Error too (an out-of-memory in one batch): its callers get it, the next batch may succeed.
            LOG.atLevel(t instanceof RuntimeException ? Level.DEBUG : Level.WARN).setCause(t).log(op.name().toLowerCase()
                    + " batch of " + batch.size() + " failed; its callers get the cause, the engine keeps serving");
            for (R r : batch) {
                if (!r.future.isDone()) {
                    done(r, false);
                    r.future.completeExceptionally(t);
                }
            }
        }
    }

    /** Counts a computed request. */
    void done(R r, boolean ok) {
        (ok ? completed : failed).incrementAndGet();
        latencies.record(System.nanoTime() - r.submitted);
    }

    /** Stops the dispatcher, fails the queued requests and joins the thread. */
    void close() {
        List<R> left;
        lock.lock();
        try {
            closing = true;
            left = new ArrayList<>(queue);
            queue.clear();
            for (R r : left) {
                r.queued = false;
            }
            cancelled.addAndGet(left.size());
            notEmpty.signalAll();
            notFull.signalAll();
        } finally {
            lock.unlock();
        }
        for (R r : left) {
            r.future.completeExceptionally(
                    new EngineClosedException("the engine closed before this request started"));
        }
        // From one of our own threads (a dependent stage that closes the engine) joining would wait for itself.
        if (!EngineThread.isCurrent(owner)) {
            boolean interrupted = false;
            while (true) {
                try {
                    thread.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (runners != null) {
                while (true) {
                    try {
                        if (runners.awaitTermination(1, TimeUnit.DAYS)) {
                            break;
                        }
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    Stats stats() {
        int depth;
        lock.lock();
        try {
            depth = queue.size();
        } finally {
            lock.unlock();
        }
        long[] q = latencies.quantiles(0.50, 0.99);
        return new Stats(requests.get(), rejections.get(), completed.get(), failed.get(), timedOut.get(),
                cancelled.get(), batches.get(), depth, Duration.ofNanos(q[0]), Duration.ofNanos(q[1]));
    }

    static Stats emptyStats() {
        return new Stats(0, 0, 0, 0, 0, 0, 0, 0, Duration.ZERO, Duration.ZERO);
    }
}
