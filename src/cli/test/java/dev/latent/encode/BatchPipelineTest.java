package dev.latent.encode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The engine under every encoder: each batch once, failures first-wins, workers always closed. */
class BatchPipelineTest {
    /** A worker that counts what it saw and whether it was closed. */
    private static final class Counting implements BatchPipeline.Worker<Integer> {
        final AtomicLong sum;
        final AtomicInteger closed;
        final ConcurrentHashMap<Integer, Boolean> seen;
        final int failAt;

        Counting(AtomicLong sum, AtomicInteger closed, ConcurrentHashMap<Integer, Boolean> seen, int failAt) {
            this.sum = sum;
            this.closed = closed;
            this.seen = seen;
            this.failAt = failAt;
        }

        @Override
        public void accept(Integer b) {
            if (b == failAt) {
                throw new IllegalStateException("batch " + b + " failed");
            }
            assertTrue(seen.putIfAbsent(b, true) == null, "batch " + b + " twice");
            sum.addAndGet(b);
        }

        @Override
        public void close() {
            closed.incrementAndGet();
        }
    }

    @Test
    void everyBatchIsConsumedOnceAndEveryWorkerClosed() {
        try (BatchPipeline p = new BatchPipeline("test", 3)) {
            for (int round = 0; round < 3; round++) { // threads are kept between runs
                AtomicLong sum = new AtomicLong();
                AtomicInteger made = new AtomicInteger();
                AtomicInteger closed = new AtomicInteger();
                ConcurrentHashMap<Integer, Boolean> seen = new ConcurrentHashMap<>();
                int n = 1000 + round * 97;
                p.run(sink -> {
                    for (int i = 1; i <= n; i++) {
                        assertTrue(sink.put(i));
                    }
                }, () -> {
                    made.incrementAndGet();
                    return new Counting(sum, closed, seen, -1);
                });
                assertEquals((long) n * (n + 1) / 2, sum.get());
                assertEquals(n, seen.size());
                assertTrue(made.get() >= 1 && made.get() <= 3, "workers made: " + made.get());
                assertEquals(made.get(), closed.get());
            }
        }
    }

    @Test
    void aWorkerFailureStopsTheProducerAndIsRethrown() {
        try (BatchPipeline p = new BatchPipeline("test", 2)) {
            AtomicInteger closed = new AtomicInteger();
            AtomicInteger made = new AtomicInteger();
            AtomicInteger put = new AtomicInteger();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.run(sink -> {
                for (int i = 1; i <= 1_000_000; i++) {
                    if (!sink.put(i)) {
                        return;
                    }
                    put.incrementAndGet();
                }
            }, () -> {
                made.incrementAndGet();
                return new Counting(new AtomicLong(), closed, new ConcurrentHashMap<>(), 10);
            }));
            assertEquals("batch 10 failed", e.getMessage());
            assertTrue(put.get() < 1_000_000, "the producer went on after the failure: " + put.get());
            assertEquals(made.get(), closed.get());
        }
    }

    @Test
    void aProducerFailureIsRethrownAsIs() {
        try (BatchPipeline p = new BatchPipeline("test", 2)) {
            AtomicInteger closed = new AtomicInteger();
            AtomicInteger made = new AtomicInteger();
            IllegalArgumentException boom = new IllegalArgumentException("bad text 3");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.run(sink -> {
                sink.put(1);
                sink.put(2);
                throw boom;
            }, () -> {
                made.incrementAndGet();
                return new Counting(new AtomicLong(), closed, new ConcurrentHashMap<>(), -1);
            }));
            assertSame(boom, e);
            assertEquals(made.get(), closed.get());
        }
    }

    @Test
    void badArgumentsAndUseAfterClose() {
        assertThrows(IllegalArgumentException.class, () -> new BatchPipeline("test", 0));
        BatchPipeline p = new BatchPipeline("test", 1);
        p.close();
        p.close();
        assertThrows(IllegalStateException.class, () -> p.run(sink -> { }, () -> null));
    }
}
