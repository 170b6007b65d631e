package dev.latent.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.index.FlatIndex;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * 64 threads, a fixed number of rounds, each round in two phases separated by a barrier:
 * <ol>
 *   <li><b>churn</b>: every thread adds vectors it encoded through the engine under ids it owns, removes
 *       some of them and some preloaded ids it owns, searches (results checked for shape only: the index
 *       changes under them) and fires bursts of async encodes at a small queue (rejections expected);</li>
 *   <li><b>quiet</b>: no add or remove runs anywhere; every thread searches by vector and by text, and each
 *       result must equal the single-query answer of the index for the same query (the same snapshot).</li>
 * </ol>
 * During the churn one thread saves the index each round ({@link Engine#save}, which pins a snapshot and
 * writes without holding up the others); each saved file must load with unique ids, each with its vector.
 * At the end the index holds exactly the ids the threads' own bookkeeping says it should, once each, each
 * with its vector. The only exception allowed anywhere is {@link EngineRejectedException}: the bursts fill
 * the small queue, so any submission may be refused; the workers count each refusal and submit again.
 */
@Timeout(120)
class EngineStressTest {
    private static final int D = 24;
    private static final int THREADS = 64;
    private static final int ROUNDS = 6;
    private static final int PRELOAD = 2000;

    @TempDir
    Path dir;

    @Test
    void sixtyFourThreadsMixingEveryOperation() throws Exception {
        FakeEncoder enc = new FakeEncoder(D);
        Map<Long, Boolean> expected = new ConcurrentHashMap<>();
        AtomicLong rejected = new AtomicLong();
        AtomicLong checkedSearches = new AtomicLong();
        try (FlatIndex index = new FlatIndex(D, Metric.COSINE);
             Engine engine = Engine.builder().encoder(enc).index(index).queueCapacity(64)
                     .maxWait(Duration.ofMillis(1)).build()) {
            for (long id = 0; id < PRELOAD; id++) {
                index.add(id, enc.vector("doc " + id));
                expected.put(id, true);
            }
            CyclicBarrier barrier = new CyclicBarrier(THREADS);
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                workers.add(pool.submit(() -> {
                    work(thread, engine, index, enc, barrier, expected, rejected, checkedSearches, dir);
                    return null;
                }));
            }
            List<Throwable> errors = new ArrayList<>();
            for (Future<?> w : workers) {
                try {
                    w.get(100, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    errors.add(e.getCause());
                }
            }
            pool.shutdownNow();
            if (!errors.isEmpty()) {
                AssertionError e = new AssertionError(errors.size() + " worker(s) failed; first: " + errors.get(0));
                errors.forEach(e::addSuppressed);
                throw e;
            }

            // No lost or duplicated ids, each with its own vector.
            long[] ids = index.ids();
            long[] sorted = ids.clone();
            Arrays.sort(sorted);
            long[] want = expected.keySet().stream().mapToLong(Long::longValue).sorted().toArray();
            assertArrayEquals(want, sorted, "ids in the index");
            assertEquals(want.length, index.size());
            for (long id : ids) {
                assertArrayEquals(enc.vector("doc " + id), index.vector(id), "vector of id " + id);
            }
            for (int round = 0; round < ROUNDS; round++) {   // the saves made while everything else ran
                try (FlatIndex saved = FlatIndex.load(dir.resolve("round-" + round + ".lidx"))) {
                    long[] savedIds = saved.ids();
                    assertEquals(savedIds.length, Arrays.stream(savedIds).distinct().count(), "repeated id in a save");
                    for (long id : savedIds) {
                        assertArrayEquals(enc.vector("doc " + id), saved.vector(id), "saved vector of id " + id);
                    }
                }
            }

            EngineMetrics.Stats enc1 = engine.metrics().encode();
            EngineMetrics.Stats sea = engine.metrics().search();
            assertEquals(THREADS * ROUNDS * 2L * QUIET_SEARCHES, checkedSearches.get());
            assertEquals(rejected.get(), enc1.rejections() + sea.rejections(), enc1 + " " + sea);
            assertEquals(0, enc1.failed() + sea.failed() + enc1.timedOut() + sea.timedOut(), enc1 + " " + sea);
            assertEquals(enc1.requests(), enc1.completed(), enc1.toString());
            assertEquals(sea.requests(), sea.completed(), sea.toString());
            assertTrue(enc1.meanBatchSize() > 1 && sea.meanBatchSize() > 1, enc1 + " " + sea);
            System.out.printf("stress: encode %s%nstress: search %s%nstress: mean batch encode %.1f, search %.1f,"
                    + " %d rejections%n", enc1, sea, enc1.meanBatchSize(), sea.meanBatchSize(), rejected.get());
        }
    }

    private static final int ADDS = 12;
    private static final int BURST = 6;
    private static final int QUIET_SEARCHES = 5;

    /** Submits until the engine accepts, counting the refusals. */
    private static <T> CompletableFuture<T> retry(Supplier<CompletableFuture<T>> submit, AtomicLong rejected)
            throws InterruptedException {
        while (true) {
            try {
                return submit.get();
            } catch (EngineRejectedException e) {
                rejected.incrementAndGet();
                Thread.sleep(1);
            }
        }
    }

    private static void work(int thread, Engine engine, FlatIndex index, FakeEncoder enc, CyclicBarrier barrier,
            Map<Long, Boolean> expected, AtomicLong rejected, AtomicLong checked, Path dir) throws Exception {
        Random rnd = new Random(thread);
        for (int round = 0; round < ROUNDS; round++) {
            // ---- churn: adds, removes, searches and encode bursts all at once
            for (int j = 0; j < ADDS; j++) {
                long id = 1_000_000L + thread * 10_000L + round * 100L + j;
                float[] v = retry(() -> engine.encodeAsync("doc " + id), rejected).get(30, TimeUnit.SECONDS);
                engine.add(id, v);
                expected.put(id, true);
                if (j % 3 == 0) {
                    if (!engine.remove(id)) {
                        fail("id " + id + " was just added but could not be removed");
                    }
                    expected.remove(id);
                }
                if (j % 4 == 1) {
                    float[] q = enc.vector("churn " + thread + " " + j);
                    int k = 1 + rnd.nextInt(16);
                    Neighbors nb = retry(() -> engine.searchAsync(q, k), rejected).get(30, TimeUnit.SECONDS);
                    long[] got = nb.ids(0);
                    assertEquals(got.length, Arrays.stream(got).distinct().count(), "repeated id in a result");
                    float[] s = nb.scores(0);
                    for (int i = 1; i < s.length; i++) {
                        assertTrue(s[i - 1] >= s[i], "scores not best first");
                    }
                }
            }
            if (thread == 0) {
                engine.save(dir.resolve("round-" + round + ".lidx"));
            }
            long preloaded = (long) thread * 30 + round; // this thread's own preloaded ids: no one else removes them
            if (!engine.remove(preloaded)) {
                fail("preloaded id " + preloaded + " missing");
            }
            expected.remove(preloaded);
            List<CompletableFuture<float[]>> burst = new ArrayList<>();
            List<String> texts = new ArrayList<>();
            for (int j = 0; j < BURST; j++) {
                String text = "burst " + thread + " " + round + " " + j;
                try {
                    burst.add(engine.encodeAsync(text));
                    texts.add(text);
                } catch (EngineRejectedException e) {
                    rejected.incrementAndGet();
                }
            }
            for (int j = 0; j < burst.size(); j++) {
                assertArrayEquals(enc.vector(texts.get(j)), burst.get(j).get(30, TimeUnit.SECONDS), texts.get(j));
            }
            barrier.await(60, TimeUnit.SECONDS);

            // ---- quiet: nothing changes the index; every answer must be the single-query answer
            for (int j = 0; j < QUIET_SEARCHES; j++) {
                int k = 1 + rnd.nextInt(20);
                float[] q = enc.vector("quiet " + thread + " " + round + " " + j);
                CompletableFuture<Neighbors> byVector = retry(() -> engine.searchAsync(q, k), rejected);
                String text = "doc " + (rnd.nextInt(PRELOAD));
                CompletableFuture<Neighbors> byText = retry(() -> engine.searchTextAsync(text, k), rejected);
                SameNeighbors.assertSame(index.search(q, k), byVector.get(30, TimeUnit.SECONDS),
                        "thread " + thread + " round " + round + " query " + j);
                SameNeighbors.assertSame(index.search(enc.vector(text), k), byText.get(30, TimeUnit.SECONDS),
                        "thread " + thread + " round " + round + " text " + text);
                checked.addAndGet(2);
            }
            barrier.await(60, TimeUnit.SECONDS);
        }
    }
}
