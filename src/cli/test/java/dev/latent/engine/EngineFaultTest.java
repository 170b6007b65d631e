package dev.latent.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.index.FlatIndex;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Failing batches, deadlines, a full queue, cancellation and close, with injected components. */
@Timeout(60)
class EngineFaultTest {
    private static final int D = 8;

    private static Throwable failure(CompletableFuture<?> f) throws InterruptedException {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
        return e.getCause();
    }

    @Test
    void aFailingEncodeBatchFailsOnlyItsCallers() throws Exception {
        FakeEncoder enc = new FakeEncoder(D, t -> t.equals("boom"), 0);
        try (Engine engine = Engine.builder().encoder(enc).encodeConcurrency(1).build()) {
            // Hold the dispatcher so that "boom", "a" and "b" wait together and form the next batch.
            CompletableFuture<float[]> held = engine.encodeAsync(FakeEncoder.HOLD);
            assertTrue(enc.entered.await(10, TimeUnit.SECONDS));
            CompletableFuture<float[]> boom = engine.encodeAsync("boom");
            CompletableFuture<float[]> a = engine.encodeAsync("a");
            CompletableFuture<float[]> b = engine.encodeAsync("b");
            enc.release.countDown();
            assertArrayEquals(enc.vector(FakeEncoder.HOLD), held.get(10, TimeUnit.SECONDS));
            for (CompletableFuture<float[]> f : List.of(boom, a, b)) {
                Throwable cause = failure(f);
                assertInstanceOf(IllegalStateException.class, cause);
                assertEquals("injected encoder failure on \"boom\"", cause.getMessage());
            }
            assertEquals(List.of(List.of(FakeEncoder.HOLD), List.of("boom", "a", "b")), enc.batches);
            // The next batch succeeds, and the blocking call rethrows the cause itself.
            assertArrayEquals(enc.vector("c"), engine.encode("c"));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> engine.encode("boom"));
            assertEquals("injected encoder failure on \"boom\"", e.getMessage());
            EngineMetrics.Stats s = engine.metrics().encode();
            assertEquals(2, s.completed());
            assertEquals(4, s.failed());
            assertEquals(4, s.batches());
        }
    }

    @Test
    void aFailingSearchBatchFailsOnlyItsCallers() throws Exception {
        AtomicBoolean failNext = new AtomicBoolean();
        try (FlatIndex index = new FlatIndex(D, Metric.COSINE)) {
            Engine.Searcher real = Engine.Searcher.of(index);
            Engine.Searcher flaky = new Engine.Searcher() {
                @Override
                public int dimension() {
                    return real.dimension();
                }

                @Override
                public Metric metric() {
                    return real.metric();
                }

                @Override
                public Neighbors search(FloatMatrix queries, int k) {
                    if (failNext.getAndSet(false)) {
                        throw new OutOfMemoryError("injected: device memory exhausted");
                    }
                    return real.search(queries, k);
                }

                @Override
                public void add(long id, float[] vector) {
                    real.add(id, vector);
                }

                @Override
                public boolean remove(long id) {
                    return real.remove(id);
                }
            };
            try (Engine engine = Engine.builder().searcher(flaky).build()) {
                for (int i = 0; i < 20; i++) {
                    engine.add(i, FakeEncoder.vector("v" + i, D));
                }
                failNext.set(true);
                Throwable cause = failure(engine.searchAsync(FakeEncoder.vector("q", D), 3));
                assertInstanceOf(OutOfMemoryError.class, cause);
                Neighbors nb = engine.search(FakeEncoder.vector("q", D), 3);
                SameNeighbors.assertSame(index.search(FakeEncoder.vector("q", D), 3), nb, "after the failure");
                assertEquals(1, engine.metrics().search().failed());
                assertEquals(1, engine.metrics().search().completed());
                UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                        () -> engine.save(java.nio.file.Path.of("never-written.lidx")));
                assertEquals("this searcher (custom) cannot save", e.getMessage());
                assertFalse(java.nio.file.Files.exists(java.nio.file.Path.of("never-written.lidx")));
            }
        }
    }

    @Test
    void aBatchThatFailsOnTheDeviceIsSearchedOnTheHostAndLoggedOnce() throws Exception {
        FailingDeviceBackend device = new FailingDeviceBackend();
        List<java.util.logging.LogRecord> records = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.logging.Logger log = java.util.logging.Logger.getLogger("dev.latent.index");
        java.util.logging.Handler capture = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                records.add(r);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        java.util.logging.Level before = log.getLevel();
        log.addHandler(capture);
        log.setLevel(java.util.logging.Level.FINE);
        try (FlatIndex index = new FlatIndex(D, Metric.L2, device);
             FlatIndex reference = new FlatIndex(D, Metric.L2, dev.latent.compute.Backends.java());
             Engine engine = Engine.builder().index(index).build()) {
            for (int i = 0; i < 40; i++) {
                engine.add(i, FakeEncoder.vector("v" + i, D));
                reference.add(i, FakeEncoder.vector("v" + i, D));
            }
            device.failing.set(3);
            for (int i = 0; i < 5; i++) {
                float[] q = FakeEncoder.vector("q" + i, D);
                SameNeighbors.assertSame(reference.search(q, 7), engine.search(q, 7), "query " + i);
            }
            assertEquals(3, device.failures.get());
            assertEquals(5, engine.metrics().search().completed());
            assertEquals(0, engine.metrics().search().failed());
            long warnings = records.stream().filter(r -> r.getLevel() == java.util.logging.Level.WARNING
                    && r.getMessage().contains("answering it on the host")).count();
            long fine = records.stream().filter(r -> r.getLevel() == java.util.logging.Level.FINE
                    && r.getMessage().contains("answering it on the host")).count();
            assertEquals(1, warnings, "one warning for the first fallback");
            assertEquals(2, fine, "later fallbacks at FINE");
        } finally {
            log.removeHandler(capture);
            log.setLevel(before);
        }
    }

    @Test
    void anAddStandsWhenTheDeviceCannotTakeItsRows() {
        FailingDeviceBackend device = new FailingDeviceBackend();
        try (FlatIndex index = new FlatIndex(D, Metric.L2, device)) {
            for (int i = 0; i < 10; i++) {
                index.add(i, FakeEncoder.vector("v" + i, D));
            }
            index.search(FakeEncoder.vector("q", D), 1);   // the rows are resident now
            device.failingExtends.set(1);
            index.add(10, FakeEncoder.vector("v10", D));    // the append to the resident copy fails: no exception
            assertTrue(index.contains(10));
            assertEquals(10, index.search(FakeEncoder.vector("v10", D), 1).id(0, 0), "made resident again");
            assertEquals(0, device.failingExtends.get());
        }
    }

    @Test
    void aHostIndexDoesNotRetryAFailure() throws Exception {
        try (FlatIndex index = new FlatIndex(D, Metric.L2, dev.latent.compute.Backends.java());
             Engine engine = Engine.builder().index(index).build()) {
            engine.add(1, FakeEncoder.vector("v", D));
            index.close();    // a failure that is not a device's: the batch fails with it
            Throwable cause = failure(engine.searchAsync(FakeEncoder.vector("q", D), 3));
            assertInstanceOf(IllegalStateException.class, cause);
            assertEquals("FlatIndex is closed", cause.getMessage());
        }
    }

    @Test
    void aRequestPastItsDeadlineIsNotComputed() throws Exception {
        FakeEncoder enc = new FakeEncoder(D);
        try (Engine engine = Engine.builder().encoder(enc).encodeConcurrency(1).build()) {
            CompletableFuture<float[]> held = engine.encodeAsync(FakeEncoder.HOLD);
            assertTrue(enc.entered.await(10, TimeUnit.SECONDS));
            long t0 = System.nanoTime();
            CompletableFuture<float[]> late = engine.encodeAsync("late", Duration.ofMillis(50));
            CompletableFuture<float[]> patient = engine.encodeAsync("patient", Duration.ofSeconds(30));
            // The deadline fires while the held batch still runs: the caller does not wait for it.
            Throwable cause = failure(late);
            long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertInstanceOf(EngineTimeoutException.class, cause);
            assertTrue(cause.getMessage().contains("deadline passed"), cause.getMessage());
            assertTrue(waited >= 45 && waited < 5000, "timed out after " + waited + " ms");
            assertEquals(1, engine.metrics().encode().queueDepth(), "the late request left the queue");
            enc.release.countDown();
            held.get(10, TimeUnit.SECONDS);
            assertArrayEquals(enc.vector("patient"), patient.get(10, TimeUnit.SECONDS));
            assertFalse(enc.seen().contains("late"), "a request past its deadline was computed: " + enc.batches);
            assertEquals(1, engine.metrics().encode().timedOut());
        }
        // A default deadline applies to requests that name none.
        FakeEncoder enc2 = new FakeEncoder(D);
        try (Engine engine = Engine.builder().encoder(enc2).encodeConcurrency(1).defaultTimeout(Duration.ofMillis(30)).build()) {
            CompletableFuture<float[]> held = engine.encodeAsync(FakeEncoder.HOLD, Duration.ofSeconds(30));
            assertTrue(enc2.entered.await(10, TimeUnit.SECONDS));
            EngineTimeoutException e = assertThrows(EngineTimeoutException.class, () -> engine.encode("late"));
            assertTrue(e.getMessage().contains("not computed"), e.getMessage());
            enc2.release.countDown();
            held.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aTextSearchPastItsDeadlineFailsWithTimeout() throws Exception {
        FakeEncoder enc = new FakeEncoder(D);
        try (FlatIndex index = new FlatIndex(D, Metric.COSINE);
             Engine engine = Engine.builder().encoder(enc).encodeConcurrency(1).index(index).build()) {
            index.add(1, enc.vector("one"));
            CompletableFuture<float[]> held = engine.encodeAsync(FakeEncoder.HOLD);
            assertTrue(enc.entered.await(10, TimeUnit.SECONDS));
            CompletableFuture<Neighbors> f = engine.searchTextAsync("one", 1, Duration.ofMillis(40));
            assertInstanceOf(EngineTimeoutException.class, failure(f));
            enc.release.countDown();
            held.get(10, TimeUnit.SECONDS);
            assertEquals(1, engine.searchTextAsync("one", 1, Duration.ofSeconds(10)).get().id(0, 0));
        }
    }

    @Test
    void aFullQueueRejectsAtOnce() throws Exception {
        FakeEncoder enc = new FakeEncoder(D);
        try (Engine engine = Engine.builder().encoder(enc).encodeConcurrency(1).queueCapacity(2).build()) {
            CompletableFuture<float[]> held = engine.encodeAsync(FakeEncoder.HOLD);
            assertTrue(enc.entered.await(10, TimeUnit.SECONDS)); // taken off the queue: it is empty again
            CompletableFuture<float[]> a = engine.encodeAsync("a");
            CompletableFuture<float[]> b = engine.encodeAsync("b");
            EngineRejectedException e = assertThrows(EngineRejectedException.class, () -> engine.encodeAsync("c"));
            assertEquals(EngineMetrics.Operation.ENCODE, e.operation());
            assertTrue(e.getMessage().contains("queue is full (2 requests waiting)"), e.getMessage());
            assertThrows(EngineRejectedException.class, () -> engine.encode("d"));
            assertEquals(2, engine.metrics().encode().rejections());
            assertEquals(2, engine.metrics().encode().queueDepth());
            enc.release.countDown();
            held.get(10, TimeUnit.SECONDS);
            a.get(10, TimeUnit.SECONDS);
            b.get(10, TimeUnit.SECONDS);
            assertFalse(enc.seen().contains("c") || enc.seen().contains("d"));
            assertArrayEquals(enc.vector("c"), engine.encode("c"), "room again once the queue drained");
        }
    }

    @Test
    void aFullQueueCanMakeCallersWait() throws Exception {
        FakeEncoder enc = new FakeEncoder(D);
        try (Engine engine = Engine.builder().encoder(enc).encodeConcurrency(1).queueCapacity(1)
                .blockWhenFull(Duration.ofMillis(100)).build()) {
            CompletableFuture<float[]> held = engine.encodeAsync(FakeEncoder.HOLD);
            assertTrue(enc.entered.await(10, TimeUnit.SECONDS));
            CompletableFuture<float[]> a = engine.encodeAsync("a");
            long t0 = System.nanoTime();
            EngineRejectedException e = assertThrows(EngineRejectedException.class, () -> engine.encodeAsync("b"));
            long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(waited >= 95, "rejected after " + waited + " ms, before the 100 ms wait");
            assertTrue(e.getMessage().contains("stayed full"), e.getMessage());
            // A waiting caller gets in when the queue drains.
            CompletableFuture<CompletableFuture<float[]>> waiter = CompletableFuture.supplyAsync(
                    () -> engine.encodeAsync("c"));
            Thread.sleep(20);
            enc.release.countDown();
            held.get(10, TimeUnit.SECONDS);
            a.get(10, TimeUnit.SECONDS);
            assertArrayEquals(enc.vector("c"), waiter.get(10, TimeUnit.SECONDS).get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void cancellingBeforeTheBatchStartsRemovesTheWork() throws Exception {
        FakeEncoder enc = new FakeEncoder(D);
        try (FlatIndex index = new FlatIndex(D, Metric.COSINE);
             Engine engine = Engine.builder().encoder(enc).encodeConcurrency(1).index(index).queueCapacity(2).build()) {
            index.add(7, enc.vector("seven"));
            CompletableFuture<float[]> held = engine.encodeAsync(FakeEncoder.HOLD);
            assertTrue(enc.entered.await(10, TimeUnit.SECONDS));
            CompletableFuture<float[]> x = engine.encodeAsync("x");
            CompletableFuture<Neighbors> text = engine.searchTextAsync("y", 1);
            assertEquals(2, engine.metrics().encode().queueDepth());
            assertTrue(x.cancel(true));
            assertTrue(text.cancel(true));
            assertEquals(0, engine.metrics().encode().queueDepth(), "cancelled requests left the queue");
            // Their room is free at once.
            CompletableFuture<float[]> z = engine.encodeAsync("z");
            enc.release.countDown();
            held.get(10, TimeUnit.SECONDS);
            assertArrayEquals(enc.vector("z"), z.get(10, TimeUnit.SECONDS));
            assertThrows(CancellationException.class, x::join);
            assertFalse(enc.seen().contains("x") || enc.seen().contains("y"), enc.batches.toString());
            assertEquals(2, engine.metrics().encode().cancelled());
            assertEquals(0, engine.metrics().search().requests());
        }
    }

    @Test
    void closeFailsQueuedRequestsAndFinishesTheRunningBatch() throws Exception {
        FakeEncoder enc = new FakeEncoder(D);
        Engine engine = Engine.builder().encoder(enc).encodeConcurrency(1).build();
        CompletableFuture<float[]> held = engine.encodeAsync(FakeEncoder.HOLD);
        assertTrue(enc.entered.await(10, TimeUnit.SECONDS));
        List<CompletableFuture<float[]>> queued = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            queued.add(engine.encodeAsync("q" + i));
        }
        CompletableFuture<Void> closing = CompletableFuture.runAsync(engine::close);
        for (CompletableFuture<float[]> f : queued) {
            Throwable cause = failure(f);
            assertInstanceOf(EngineClosedException.class, cause);
            assertEquals("the engine closed before this request started", cause.getMessage());
        }
        assertFalse(closing.isDone(), "close() returned while a batch still ran");
        assertThrows(EngineClosedException.class, () -> engine.encodeAsync("after"));
        enc.release.countDown();
        closing.get(10, TimeUnit.SECONDS);
        assertArrayEquals(enc.vector(FakeEncoder.HOLD), held.get(), "the running batch completed");
        engine.close(); // idempotent
        assertEquals(List.of(List.of(FakeEncoder.HOLD)), enc.batches);
        assertEquals(5, engine.metrics().encode().cancelled());
    }

    @Test
    void theSameExceptionReachesEveryCallerOfABatch() throws Exception {
        RuntimeException injected = new IllegalArgumentException("injected");
        try (Engine engine = Engine.builder().encoder((texts, q) -> {
            throw injected;
        }).build()) {
            assertSame(injected, failure(engine.encodeAsync("a")));
            assertSame(injected, assertThrows(IllegalArgumentException.class, () -> engine.encode("b")));
        }
    }
}
