package dev.latent.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.index.FlatIndex;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Batching, per-request k, text search and the limits, with a fake encoder and a real FlatIndex. */
@Timeout(60)
class EngineBatchingTest {
    private static final int D = 16;

    @Test
    void concurrentCallersShareBatches() throws Exception {
        // 5 ms per batch: while one runs the others queue, so 32 simultaneous callers cannot all run alone.
        FakeEncoder enc = new FakeEncoder(D, t -> false, 5);
        int threads = 32;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try (Engine engine = Engine.builder().encoder(enc).maxWait(Duration.ofMillis(5)).build()) {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<float[]>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                String text = "text " + t;
                results.add(pool.submit(() -> {
                    start.await();
                    return engine.encode(text);
                }));
            }
            start.countDown();
            for (int t = 0; t < threads; t++) {
                assertArrayEquals(enc.vector("text " + t), results.get(t).get(30, TimeUnit.SECONDS), "text " + t);
            }
            int largest = enc.batches.stream().mapToInt(List::size).max().orElse(0);
            int total = enc.batches.stream().mapToInt(List::size).sum();
            assertEquals(threads, total, "every text encoded exactly once: " + enc.batches);
            assertTrue(largest > 1, "no batch merged two callers: " + enc.batches);
            assertTrue(enc.batches.size() < threads, "as many batches as callers: " + enc.batches);
            EngineMetrics.Stats s = engine.metrics().encode();
            assertEquals(threads, s.requests());
            assertEquals(threads, s.completed());
            assertEquals(enc.batches.size(), s.batches());
            assertTrue(s.meanBatchSize() > 1, "mean batch size " + s.meanBatchSize());
            assertEquals(0, s.queueDepth());
            assertTrue(s.p99().compareTo(s.p50()) >= 0 && s.p50().toNanos() > 0, s.toString());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void tokenBudgetAndTextCountBoundBatches() throws Exception {
        FakeEncoder enc = new FakeEncoder(D);
        // Default token estimate: chars / 4 + 2. 40-char texts are 12 tokens; budget 40 → 3 texts a batch.
        try (Engine engine = Engine.builder().encoder(enc).encodeConcurrency(1).tokenBudget(40).maxBatchTexts(8).build()) {
            enc.batches.clear();
            List<CompletableFuture<float[]>> fs = new ArrayList<>();
            fs.add(engine.encodeAsync(FakeEncoder.HOLD));
            assertTrue(enc.entered.await(10, TimeUnit.SECONDS));
            for (int i = 0; i < 7; i++) {
                fs.add(engine.encodeAsync(String.format("%040d", i)));
            }
            enc.release.countDown();
            for (CompletableFuture<float[]> f : fs) {
                f.get(10, TimeUnit.SECONDS);
            }
            List<Integer> sizes = enc.batches.stream().map(List::size).toList();
            assertEquals(List.of(1, 3, 3, 1), sizes, enc.batches.toString());
        }
    }

    @Test
    void searchesMergeAndEachGetsItsOwnK() throws Exception {
        FakeEncoder enc = new FakeEncoder(D);
        try (FlatIndex index = new FlatIndex(D, Metric.COSINE)) {
            HeldSearcher searcher = new HeldSearcher(Engine.Searcher.of(index));
            try (Engine engine = Engine.builder().encoder(enc).searcher(searcher).build()) {
                for (int i = 0; i < 200; i++) {
                    index.add(i, enc.vector("doc " + i));
                }
                CompletableFuture<float[]> held = engine.encodeAsync(FakeEncoder.HOLD);
                try {
                    // A held encode lane does not hold up searches. The first search is held inside the searcher,
                    // so the other 39 arrive while a batch runs, as they would under load, and must be merged.
                    List<CompletableFuture<Neighbors>> fs = new ArrayList<>();
                    fs.add(engine.searchAsync(enc.vector("q 0"), 1));
                    assertTrue(searcher.entered.await(10, TimeUnit.SECONDS), "the first search reached the searcher");
                    for (int i = 1; i < 40; i++) {
                        fs.add(engine.searchAsync(enc.vector("q " + i), 1 + i % 13));
                    }
                    searcher.release.countDown();
                    for (int i = 0; i < 40; i++) {
                        Neighbors got = fs.get(i).get(10, TimeUnit.SECONDS);
                        SameNeighbors.assertSame(index.search(enc.vector("q " + i), 1 + i % 13), got, "query " + i);
                    }
                    assertTrue(engine.metrics().search().batches() < 40, engine.metrics().search().toString());
                    // k above the index size: all of it.
                    assertEquals(200, engine.search(enc.vector("q"), 1000).count());
                } finally {
                    enc.release.countDown();
                }
                held.get(10, TimeUnit.SECONDS);
                // Text search: the query vector of the text, then the index.
                Neighbors nb = engine.searchText("doc 17", 3);
                assertEquals(17, nb.id(0, 0));
                SameNeighbors.assertSame(index.search(enc.vector("doc 17"), 3), nb, "text search");
            }
        }
    }

    /** A searcher whose first search waits for {@link #release}, signalling {@link #entered} once inside. */
    private static final class HeldSearcher implements Engine.Searcher {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        private final Engine.Searcher inner;
        private final java.util.concurrent.atomic.AtomicBoolean first = new java.util.concurrent.atomic.AtomicBoolean(true);

        HeldSearcher(Engine.Searcher inner) {
            this.inner = inner;
        }

        @Override
        public int dimension() {
            return inner.dimension();
        }

        @Override
        public Metric metric() {
            return inner.metric();
        }

        @Override
        public Neighbors search(dev.latent.core.FloatMatrix queries, int k) {
            if (first.getAndSet(false)) {
                entered.countDown();
                try {
                    if (!release.await(10, TimeUnit.SECONDS)) {
                        throw new IllegalStateException("never released");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            }
            return inner.search(queries, k);
        }

        @Override
        public void add(long id, float[] vector) {
            inner.add(id, vector);
        }

        @Override
        public boolean remove(long id) {
            return inner.remove(id);
        }
    }

    @Test
    void twoBatchSlotsLetABatchRunWhileAnotherIsHeld() throws Exception {
        FakeEncoder enc = new FakeEncoder(D);
        try (Engine engine = Engine.builder().encoder(enc).encodeConcurrency(2).build()) {
            CompletableFuture<float[]> held = engine.encodeAsync(FakeEncoder.HOLD);
            assertTrue(enc.entered.await(10, TimeUnit.SECONDS));
            try {
                assertArrayEquals(enc.vector("x"), engine.encodeAsync("x").get(10, TimeUnit.SECONDS));
            } finally {
                enc.release.countDown();
            }
            held.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void closingFromADependentStageDoesNotWaitForItself() throws Exception {
        FakeEncoder enc = new FakeEncoder(D);
        for (int concurrency : new int[] {1, 2}) {
            Engine engine = Engine.builder().encoder(enc).encodeConcurrency(concurrency).build();
            engine.encodeAsync("a").thenRun(engine::close).get(10, TimeUnit.SECONDS);
            assertThrows(EngineClosedException.class, () -> engine.encodeAsync("b"));
            engine.close();
        }
    }

    @Test
    void limitsAreCheckedAtSubmission() {
        FakeEncoder enc = new FakeEncoder(D);
        try (FlatIndex index = new FlatIndex(D, Metric.COSINE);
             Engine engine = Engine.builder().encoder(enc).index(index).maxTextLength(10).maxK(50).build()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> engine.encodeAsync("12345678901"));
            assertEquals("text has 11 characters; the engine's limit is 10 (Engine.Builder.maxTextLength)", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> engine.searchAsync(new float[D], 0));
            assertEquals("k must be >= 1, got k=0", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> engine.searchAsync(enc.vector("x"), 51));
            assertEquals("k = 51 is above the engine's limit of 50 (Engine.Builder.maxK)", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> engine.searchTextAsync("x", 51));
            assertTrue(e.getMessage().startsWith("k = 51"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> engine.searchAsync(new float[D + 1], 5));
            assertEquals("query has dimension 17, the index has 16", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> engine.searchAsync(new float[D], 5));
            assertTrue(e.getMessage().contains("zero vector"), e.getMessage());
            float[] nan = enc.vector("y");
            nan[3] = Float.NaN;
            e = assertThrows(IllegalArgumentException.class, () -> engine.searchAsync(nan, 5));
            assertTrue(e.getMessage().contains("column 3 is NaN"), e.getMessage());
            assertThrows(NullPointerException.class, () -> engine.encodeAsync(null));
            assertThrows(IllegalArgumentException.class, () -> engine.encodeAsync("x", Duration.ZERO));
            assertEquals(0, engine.metrics().encode().requests() + engine.metrics().search().requests());
        }
        try (Engine encodeOnly = Engine.builder().encoder(enc).build()) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> encodeOnly.searchAsync(new float[D], 1));
            assertEquals("this engine has no index (Engine.Builder.index)", e.getMessage());
        }
        assertThrows(IllegalStateException.class, () -> Engine.builder().build());
        assertThrows(IllegalArgumentException.class, () -> Engine.builder().queueCapacity(0));
    }

    @Test
    void blockingCallInsideADependentStageIsRefused() throws Exception {
        FakeEncoder enc = new FakeEncoder(D);
        try (Engine engine = Engine.builder().encoder(enc).build()) {
            // The held batch completes only after the dependent stage is attached, so that stage runs on
            // the engine's thread (attached to an already completed future it would run on this one).
            CompletableFuture<float[]> nested =
                    engine.encodeAsync(FakeEncoder.HOLD).thenApply(v -> engine.encode("b"));
            enc.release.countDown();
            CompletionException e = assertThrows(CompletionException.class, nested::join);
            assertInstanceOf(IllegalStateException.class, e.getCause());
            assertTrue(e.getCause().getMessage().contains("dispatcher thread"), e.getCause().getMessage());
            // The engine is still serving.
            assertArrayEquals(enc.vector("c"), engine.encode("c"));
        }
    }
}
