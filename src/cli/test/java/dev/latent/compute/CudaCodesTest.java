package dev.latent.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.latent.compute.cuda.CudaBackend;
import dev.latent.compute.java.JavaBackend;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * 8-bit codes on the CUDA backend ({@code CudaCodes}, the kernels of {@code native/cuda/latent_sq8.cuh}) against
 * the Java reference at the same query levels (127), bit for bit: ids and score bits, ties to the lower row, over
 * all rows, per-query candidate lists and probed inverted lists, after appends and refreshes, for k above the
 * kernels' largest bucket, under a small device memory budget and with searches running beside appends. Fresh
 * random inputs each run (the seed is in every message; rerun with -Dlatent.test.seed=...). Skipped with the
 * driver's reason without a usable GPU, failed instead under {@code -Dlatent.test.requireBackend=cuda}
 * ({@link CudaForTests}); the GPU bundle runs it with the rest of dev.latent.compute.
 */
@ExtendWith(CudaForTests.class)
class CudaCodesTest {
    private static final JavaBackend JAVA = new JavaBackend();
    private static final int LEVELS = 127;

    /**
     * (queries, rows, d): rows 1, 7, 1000, 4097 (k above the rows, one and several chunks); d 1, 7, 100, 385 (a
     * partial 4-byte group, partial tiles of words); queries 1 to 4 (the stream kernel, one query a block) and 5
     * and more (the tile kernel), up to several query tiles.
     */
    static Stream<Arguments> shapes() {
        return Stream.of(
                Arguments.of(1, 4097, 385),
                Arguments.of(3, 1000, 100),
                Arguments.of(4, 7, 7),
                Arguments.of(5, 4097, 7),
                Arguments.of(7, 1, 1),
                Arguments.of(40, 4097, 100),
                Arguments.of(100, 7, 385),
                Arguments.of(300, 1000, 7),
                Arguments.of(1000, 100, 1));
    }

    @ParameterizedTest(name = "Q={0} N={1} d={2}")
    @MethodSource("shapes")
    void codesEqualTheReferenceBitForBit(int nq, int n, int d) {
        Backend cuda = CudaForTests.require();
        long seed = Reference.seed();
        Random rnd = new Random(seed);
        try (FloatMatrix db = withDuplicates(Reference.gaussian(n, d, rnd), rnd);
             FloatMatrix q = Reference.gaussian(nq, d, rnd)) {
            for (int i = 0; i < Math.min(nq, 3); i++) {
                q.setRow(i, db.getRow(rnd.nextInt(n)));  // a query equal to a row
            }
            for (Metric m : Metric.values()) {
                Sq8 sq8 = trainOnHalf(db, m);
                try (ResidentCodes codes = cuda.uploadCodes(db, m, sq8);
                     ResidentCodes ref = JAVA.uploadCodes(db, m, sq8, LEVELS)) {
                    assertEquals(LEVELS, codes.queryLevels());
                    assertEquals(n, codes.rows());
                    assertTrue(codes.bytes() >= (long) n * sq8.stride(), "bytes " + codes.bytes());
                    for (int k : new int[] {1, 10, 100, 2048, 5000}) {
                        String ctx = "seed " + seed + ", " + m + ", Q=" + nq + " N=" + n + " d=" + d + " k=" + k;
                        Neighbors got = codes.search(q, k);
                        assertEquals(Math.min(k, n), got.count(), ctx);
                        Sq8Test.assertSame(ctx, got, ref.search(q, k));
                    }
                }
            }
        }
    }

    /** Per-query candidate lists (CSR), some empty, some longer than k: padded with id -1 and NaN like the reference. */
    @Test
    void candidateListsAndProbedListsEqualTheReference() {
        Backend cuda = CudaForTests.require();
        long seed = Reference.seed();
        Random rnd = new Random(seed);
        int n = 3001;
        int d = 100;
        int nq = 60;
        try (FloatMatrix db = withDuplicates(Reference.gaussian(n, d, rnd), rnd);
             FloatMatrix q = Reference.gaussian(nq, d, rnd)) {
            long[] offsets = new long[nq + 1];
            List<Long> rows = new ArrayList<>();
            for (int i = 0; i < nq; i++) {
                int kind = i % 4;  // empty, a few, a third of the rows, all rows
                for (long r = 0; r < n; r++) {
                    boolean take = kind == 1 ? rnd.nextInt(300) == 0 : kind == 2 ? rnd.nextInt(3) == 0 : kind == 3;
                    if (take) {
                        rows.add(r);
                    }
                }
                offsets[i + 1] = rows.size();
            }
            long[] lists = rows.stream().mapToLong(Long::longValue).toArray();
            // Inverted lists: every row in one of 17 lists; each query probes 3 of them.
            int nlists = 17;
            long[] listOffsets = new long[nlists + 1];
            long[] listRows = new long[n];
            int at = 0;
            for (int l = 0; l < nlists; l++) {
                for (int r = 0; r < n; r++) {
                    if (r % nlists == l) {
                        listRows[at++] = r;
                    }
                }
                listOffsets[l + 1] = at;
            }
            int nprobe = 3;
            int[] probes = new int[nq * nprobe];
            for (int i = 0; i < nq; i++) {
                for (int j = 0; j < nprobe; j++) {
                    probes[i * nprobe + j] = (i + 5 * j) % nlists;
                }
            }
            for (Metric m : Metric.values()) {
                Sq8 sq8 = Sq8.train(db, m);
                try (ResidentCodes codes = cuda.uploadCodes(db, m, sq8);
                     ResidentCodes ref = JAVA.uploadCodes(db, m, sq8, LEVELS)) {
                    for (int k : new int[] {1, 10, 2048, 5000}) {
                        String ctx = "seed " + seed + ", " + m + ", lists, k=" + k;
                        ScanParams p = ScanParams.topK(k).candidates(offsets, lists);
                        Sq8Test.assertSame(ctx, codes.search(q, p), ref.search(q, p));
                        Sq8Test.assertSame(ctx + ", probed lists",
                                codes.searchGrouped(q, listOffsets, listRows, probes, nprobe, k),
                                ref.searchGrouped(q, listOffsets, listRows, probes, nprobe, k));
                    }
                }
            }
        }
    }

    @Test
    void appendAndRefreshEqualAFreshUploadAndTheReference() {
        Backend cuda = CudaForTests.require();
        long seed = Reference.seed();
        Random rnd = new Random(seed);
        int d = 37;
        try (FloatMatrix all = Reference.gaussian(2500, d, rnd); FloatMatrix q = Reference.gaussian(30, d, rnd)) {
            for (Metric m : Metric.values()) {
                Sq8 sq8 = Sq8.train(all, m);
                String ctx = "seed " + seed + ", " + m;
                try (FloatMatrix first = all.rowsView(0, 1);
                     ResidentCodes grown = cuda.uploadCodes(first, m, sq8);
                     ResidentCodes fresh = cuda.uploadCodes(all, m, sq8);
                     ResidentCodes ref = JAVA.uploadCodes(all, m, sq8, LEVELS)) {
                    for (long r0 = 1; r0 < all.rows(); r0 += 611) {  // appends of 611 rows (several doublings)
                        try (FloatMatrix part = all.rowsView(r0, Math.min(all.rows(), r0 + 611))) {
                            grown.append(part);
                        }
                    }
                    assertEquals(all.rows(), grown.rows(), ctx);
                    Sq8Test.assertSame(ctx + ", appended", grown.search(q, 50), fresh.search(q, 50));
                    Sq8Test.assertSame(ctx + ", appended against the reference", grown.search(q, 50), ref.search(q, 50));
                    // Remove rows 3, 4 and 10 by moving the last three rows into them, as VectorSet does.
                    try (FloatMatrix moved = FloatMatrix.allocate(all.rows() - 3, d)) {
                        for (long r = 0; r < moved.rows(); r++) {
                            moved.setRow(r, all.getRow(r));
                        }
                        moved.setRow(3, all.getRow(all.rows() - 1));
                        moved.setRow(4, all.getRow(all.rows() - 2));
                        moved.setRow(10, all.getRow(all.rows() - 3));
                        assertTrue(grown.refresh(moved, new long[] {3, 4, 10}), ctx);
                        assertEquals(moved.rows(), grown.rows(), ctx);
                        try (ResidentCodes again = JAVA.uploadCodes(moved, m, sq8, LEVELS)) {
                            Sq8Test.assertSame(ctx + ", refreshed", grown.search(q, 50), again.search(q, 50));
                        }
                    }
                }
            }
        }
    }

    /**
     * Searches on several threads while appends move the codes to larger device buffers: every search returns
     * whole results and the codes end equal to a fresh upload.
     */
    @Test
    void searchesRunWhileRowsAreAppended() throws Exception {
        Backend cuda = CudaForTests.require();
        long seed = Reference.seed();
        Random rnd = new Random(seed);
        int d = 64;
        try (FloatMatrix all = Reference.gaussian(6000, d, rnd); FloatMatrix q = Reference.gaussian(20, d, rnd);
             FloatMatrix first = all.rowsView(0, 100);
             ResidentCodes codes = cuda.uploadCodes(first, Metric.L2, Sq8.train(all, Metric.L2))) {
            ExecutorService pool = Executors.newFixedThreadPool(3);
            AtomicBoolean done = new AtomicBoolean();
            CountDownLatch started = new CountDownLatch(3);
            List<Future<Integer>> searches = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                searches.add(pool.submit(() -> {
                    int n = 0;
                    while (!done.get()) {
                        Neighbors nb = codes.search(q, 10);
                        for (int i = 0; i < q.rows(); i++) {
                            assertEquals(10, nb.count(i));
                            assertTrue(!Float.isNaN(nb.score(i, 9)) && nb.score(i, 9) >= nb.score(i, 0));
                        }
                        n++;
                        started.countDown();
                    }
                    return n;
                }));
            }
            started.await();
            for (long r0 = 100; r0 < all.rows(); r0 += 59) {
                try (FloatMatrix part = all.rowsView(r0, Math.min(all.rows(), r0 + 59))) {
                    codes.append(part);
                }
            }
            done.set(true);
            int total = 0;
            for (Future<Integer> f : searches) {
                total += f.get();
            }
            pool.shutdown();
            assertEquals(all.rows(), codes.rows(), "seed " + seed);
            try (ResidentCodes ref = JAVA.uploadCodes(all, Metric.L2, codes.quantizer(), LEVELS)) {
                Sq8Test.assertSame("seed " + seed + " after " + total + " concurrent searches", codes.search(q, 10),
                        ref.search(q, 10));
            }
        }
    }

    /**
     * A small budget: codes larger than it are refused before allocating, and nothing stays reserved; codes
     * within it are searched in query batches cut to a 1 MiB scratch, with the reference's answers; close
     * returns every byte.
     */
    @Test
    void aSmallBudgetRefusesCodesAndTilesSearches() {
        CudaForTests.require();
        long seed = Reference.seed();
        Random rnd = new Random(seed);
        try (CudaBackend small = CudaBackend.open(DeviceMemoryBudget.of(8L << 20, DeviceMemoryBudget.MIN_SCRATCH));
             FloatMatrix big = Reference.gaussian(200_000, 64, rnd);
             FloatMatrix db = Reference.gaussian(5000, 16, rnd);
             FloatMatrix q = Reference.gaussian(600, 16, rnd)) {
            Sq8 bigSq8 = Sq8.train(big, Metric.L2);
            assertThrows(DeviceMemoryBudgetException.class, () -> small.uploadCodes(big, Metric.L2, bigSq8));
            assertEquals(0, small.budget().used());
            for (Metric m : Metric.values()) {
                Sq8 sq8 = Sq8.train(db, m);
                try (ResidentCodes codes = small.uploadCodes(db, m, sq8);
                     ResidentCodes ref = JAVA.uploadCodes(db, m, sq8, LEVELS)) {
                    assertTrue(small.budget().used() >= DeviceMemoryBudget.MIN_SCRATCH + codes.bytes());
                    for (int k : new int[] {1, 100, 2048}) {
                        Sq8Test.assertSame("seed " + seed + ", budget 8 MiB, " + m + " k=" + k, codes.search(q, k),
                                ref.search(q, k));
                    }
                }
                assertEquals(0, small.budget().used(), m.toString());
            }
        } catch (BackendUnavailableException e) {
            fail("CUDA opened once but not twice: " + e.getMessage());
        }
    }

    @Test
    void argumentsAreCheckedAndCloseFreesOnce() {
        Backend cuda = CudaForTests.require();
        try (FloatMatrix db = FloatMatrix.of(new float[][] {{1, 0}, {0, 1}, {1, 1}});
             FloatMatrix q = FloatMatrix.of(new float[][] {{1, 0}});
             FloatMatrix q3 = FloatMatrix.of(new float[][] {{1, 0, 0}});
             FloatMatrix nan = FloatMatrix.of(new float[][] {{1, Float.NaN}});
             FloatMatrix bad = FloatMatrix.of(new float[][] {{1, 1}, {Float.POSITIVE_INFINITY, 0}})) {
            Sq8 sq8 = Sq8.train(db, Metric.L2);
            assertThrows(IllegalArgumentException.class, () -> cuda.uploadCodes(db, Metric.COSINE, sq8));
            assertThrows(IllegalArgumentException.class, () -> cuda.uploadCodes(q3, Metric.L2, sq8));
            assertThrows(IllegalArgumentException.class, () -> cuda.uploadCodes(db, Metric.L2, null));
            ResidentCodes codes = cuda.uploadCodes(db, Metric.L2, sq8);
            assertEquals(cuda, codes.backend());
            assertThrows(IllegalArgumentException.class, () -> codes.search(q3, 1));
            assertThrows(IllegalArgumentException.class, () -> codes.search(q, 0));
            assertThrows(IllegalArgumentException.class, () -> codes.search(q, ScanParams.within(1f)));
            assertThrows(IllegalArgumentException.class, () -> codes.search(q, ScanParams.topK(1).rows(new long[] {0})));
            assertThrows(IllegalArgumentException.class,
                    () -> codes.search(q, ScanParams.topK(1).candidates(new long[] {0, 1}, new long[] {3})));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> codes.search(nan, 1));
            assertTrue(e.getMessage().contains("query row 0"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> codes.append(bad));
            assertTrue(e.getMessage().contains("database row 4"), e.getMessage());
            assertEquals(3, codes.rows(), "nothing appended");
            assertEquals(0, codes.search(q, 1).id(0, 0));
            codes.close();
            codes.close();
            assertThrows(IllegalStateException.class, () -> codes.search(q, 1));
            assertThrows(IllegalStateException.class, () -> codes.append(db));
            assertThrows(IllegalStateException.class, codes::bytes);
        }
    }

    /** Rows copied to random other positions (a twentieth of them): equal codes, exactly tied scores. */
    private static FloatMatrix withDuplicates(FloatMatrix db, Random rnd) {
        long n = db.rows();
        for (long i = 0; i < n / 20; i++) {
            db.setRow(rnd.nextInt((int) n), db.getRow(rnd.nextInt((int) n)));
        }
        return db;
    }

    /** Trained on the first half of the rows, so the other half has values outside the range (clamped). */
    private static Sq8 trainOnHalf(FloatMatrix db, Metric m) {
        try (FloatMatrix half = db.rowsView(0, Math.max(1, db.rows() / 2))) {
            return Sq8.train(half, m);
        }
    }
}
