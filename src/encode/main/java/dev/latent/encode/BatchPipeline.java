package dev.latent.encode;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The producer/consumer engine every encoder runs on: the calling thread prepares batches (tokenises texts,
 * decodes images) while worker threads run the model on earlier ones, through a bounded queue, so neither
 * side waits for the other and memory holds a few batches at most.
 *
 * <pre>{@code
 * pipeline.run(sink -> { for (Batch b : batches) if (!sink.put(b)) return; },
 *              () -> new BatchPipeline.Worker<Batch>() { ... });   // one per worker thread
 * }</pre>
 *
 * <p><b>Failures.</b> The first exception, from the producer or any worker, is rethrown by {@link #run} after
 * every worker has stopped; once one happened, {@link Sink#put} returns {@code false} so the producer stops
 * early, and the workers only drain the queue. Nothing keeps running after {@code run} returns.
 *
 * <p><b>Threads.</b> The workers are daemon threads owned by this pipeline and kept between runs. Concurrent
 * {@link #run} calls share them (their batches interleave). {@link #close()} stops them and must not race
 * with a run; after it, {@code run} throws {@link IllegalStateException}.
 */
public final class BatchPipeline implements AutoCloseable {
    /** Where a producer puts its batches. */
    public interface Sink<B> {
        /** Queues {@code batch}, waiting for room; {@code false} when a worker failed and producing should stop. */
        boolean put(B batch);
    }

    /** Makes the batches of one run, on the calling thread. */
    public interface Producer<B> {
        void produce(Sink<B> sink);
    }

    /** Consumes batches on one worker thread; made on that thread for each run, closed at its end. */
    public interface Worker<B> extends AutoCloseable {
        void accept(B batch);

        @Override
        void close();
    }

    private static final Object END = new Object();

    private final ExecutorService threads;
    private final int workers;
    private volatile boolean closed;

    /**
     * @param name    thread name prefix
     * @param workers worker threads (>= 1)
     */
    public BatchPipeline(String name, int workers) {
        if (workers < 1) {
            throw new IllegalArgumentException("workers must be >= 1, got " + workers);
        }
        this.workers = workers;
        AtomicInteger n = new AtomicInteger();
        this.threads = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Number of worker threads. */
    public int workers() {
        return workers;
    }

    /**
     * Runs {@code producer} on the calling thread and one worker from {@code workerFactory} on each worker
     * thread until the producer returns and the queue is drained.
     *
     * @throws RuntimeException or {@link Error}: the first failure, as thrown
     */
    public <B> void run(Producer<B> producer, Supplier<? extends Worker<B>> workerFactory) {
        Objects.requireNonNull(producer, "producer");
        Objects.requireNonNull(workerFactory, "workerFactory");
        if (closed) {
            throw new IllegalStateException("BatchPipeline is closed");
        }
        BlockingQueue<Object> queue = new ArrayBlockingQueue<>(2 * workers + 2);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Future<?>> running = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
            running.add(threads.submit(() -> work(queue, failure, workerFactory)));
        }
        try {
            producer.produce(batch -> offer(queue, Objects.requireNonNull(batch, "batch"), failure));
        } catch (RuntimeException | Error e) {
            failure.compareAndSet(null, e);
        } finally {
            for (int w = 0; w < workers; w++) {
                putUninterruptibly(queue, END);
            }
            for (Future<?> f : running) {
                try {
                    f.get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    failure.compareAndSet(null, e);
                } catch (ExecutionException e) {
                    failure.compareAndSet(null, e.getCause());
                }
            }
        }
        Throwable t = failure.get();
        if (t instanceof RuntimeException re) {
            throw re;
        }
        if (t instanceof Error er) {
            throw er;
        }
        if (t != null) {
            throw new IllegalStateException("batch pipeline interrupted", t);
        }
    }

    @SuppressWarnings("unchecked")
    private static <B> void work(BlockingQueue<Object> queue, AtomicReference<Throwable> failure,
            Supplier<? extends Worker<B>> factory) {
        Worker<B> worker = null;
        try {
            while (true) {
                Object b = queue.take();
                if (b == END) {
                    return;
                }
                if (failure.get() != null) {
                    continue;
                }
                try {
                    if (worker == null) {
                        worker = factory.get();
                    }
                    worker.accept((B) b);
                } catch (RuntimeException | Error e) {
                    failure.compareAndSet(null, e);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure.compareAndSet(null, e);
        } finally {
            if (worker != null) {
                try {
                    worker.close();
                } catch (RuntimeException | Error e) {
                    failure.compareAndSet(null, e);
                }
            }
        }
    }

    /** Puts unless a worker failed meanwhile; returns false when it gave up. */
    private static boolean offer(BlockingQueue<Object> queue, Object b, AtomicReference<Throwable> failure) {
        try {
            while (!queue.offer(b, 50, TimeUnit.MILLISECONDS)) {
                if (failure.get() != null) {
                    return false;
                }
            }
            return failure.get() == null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure.compareAndSet(null, e);
            return false;
        }
    }

    private static void putUninterruptibly(BlockingQueue<Object> queue, Object b) {
        boolean interrupted = false;
        while (true) {
            try {
                queue.put(b);
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the worker threads (waiting up to a minute for a batch in flight). Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        threads.shutdown();
        try {
            if (!threads.awaitTermination(60, TimeUnit.SECONDS)) {
                threads.shutdownNow();
            }
        } catch (InterruptedException e) {
            threads.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
