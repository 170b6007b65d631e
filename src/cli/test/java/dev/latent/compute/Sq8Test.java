package dev.latent.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.latent.compute.cpu.CpuBackend;
import dev.latent.compute.java.JavaBackend;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * 8-bit codes ({@link Sq8}, {@link ResidentCodes}): the native CPU kernels at every level this CPU supports
 * against the Java reference at the same query levels, bit for bit (ids and scores), on fresh random inputs
 * (the seed is in every message; rerun with -Dlatent.test.seed=...); the encoding's error bound; the recall
 * of the approximate search and of an exact re-rank on clustered data; the argument checks.
 */
class Sq8Test extends CpuLevelsTest {
    private static final int[] KS = {1, 10, 100, 2048};
    private static final JavaBackend JAVA = new JavaBackend();

    /**
     * (queries, rows, d): d in {1, 7, 100, 385, 1000} (tails of 4-byte groups and of 32/64-byte vectors);
     * rows 1, 7, 100, 1000, 4097 (one and several code blocks, k above the rows); queries cover one query,
     * the row-major kernel (fewer than 16), the packed panels (16 and more) with the rows split between
     * threads (fewer than 48 per thread) and with the queries split.
     */
    static Stream<Arguments> shapes() {
        return Stream.of(
                Arguments.of(1, 4097, 385),
                Arguments.of(7, 1000, 1000),
                Arguments.of(16, 4097, 7),
                Arguments.of(40, 4097, 100),
                Arguments.of(100, 1000, 7),
                Arguments.of(100, 7, 1000),
                Arguments.of(7, 1, 1),
                Arguments.of(1000, 100, 1),
                Arguments.of(300, 4097, 100),
                Arguments.of(3, 100, 385));
    }

    @ParameterizedTest(name = "Q={0} N={1} d={2}")
    @MethodSource("shapes")
    void nativeEqualsTheReferenceBitForBit(int nq, int n, int d) {
        long seed = Reference.seed();
        Random rnd = new Random(seed);
        try (FloatMatrix db = withDuplicates(Reference.gaussian(n, d, rnd), rnd);
             FloatMatrix q = Reference.gaussian(nq, d, rnd)) {
            for (int i = 0; i < Math.min(nq, 3); i++) {
                q.setRow(i, db.getRow(rnd.nextInt(n)));  // a query equal to a row
            }
            for (Metric m : Metric.values()) {
                Sq8 sq8 = trainOnHalf(db, m);
                Map<Integer, Neighbors> refs = new HashMap<>();
                for (String isa : isas()) {
                    CpuBackend.useIsa(isa);
                    try (ResidentCodes codes = cpu.uploadCodes(db, m, sq8)) {
                        int levels = codes.queryLevels();
                        Neighbors ref = refs.computeIfAbsent(levels, lv -> {
                            try (ResidentCodes j = JAVA.uploadCodes(db, m, sq8, lv)) {
                                return j.search(q, 2048);
                            }
                        });
                        for (int k : KS) {
                            String ctx = "seed " + seed + ", " + isa + " (Q=" + levels + "), " + m + ", Q=" + nq + " N=" + n
                                    + " d=" + d + " k=" + k;
                            Neighbors got = codes.search(q, k);
                            assertEquals(Math.min(k, n), got.count(), ctx);
                            assertSame(ctx, got, ref);
                            assertTiesByLowerRow(ctx, got);
                        }
                    }
                }
            }
        }
    }

    /** Per-query candidate lists (CSR), some empty, some longer than k: the same results as the reference, padded alike. */
    @Test
    void candidateListsEqualTheReference() {
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
            for (Metric m : Metric.values()) {
                Sq8 sq8 = Sq8.train(db, m);
                for (String isa : isas()) {
                    CpuBackend.useIsa(isa);
                    try (ResidentCodes codes = cpu.uploadCodes(db, m, sq8);
                         ResidentCodes ref = JAVA.uploadCodes(db, m, sq8, codes.queryLevels())) {
                        for (int k : new int[] {1, 10, 5000}) {
                            String ctx = "seed " + seed + ", " + isa + ", " + m + ", lists, k=" + k;
                            ScanParams p = ScanParams.topK(k).candidates(offsets, lists);
                            Neighbors got = codes.search(q, p);
                            assertSame(ctx, got, ref.search(q, p));
                            assertEquals(Math.min(k, n), got.count(), ctx);
                            for (int i = 0; i < nq; i++) {
                                long len = offsets[i + 1] - offsets[i];
                                assertEquals(Math.min(len, got.count()), got.count(i), ctx + ", query " + i);
                                for (int r = 0; r < got.count(i); r++) {
                                    long id = got.id(i, r);
                                    assertTrue(java.util.Arrays.binarySearch(lists, (int) offsets[i], (int) offsets[i + 1], id) >= 0,
                                            ctx + ", query " + i + ": " + id + " is not a candidate");
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /** Odd thread counts split rows and queries unevenly: the results are the same bits. */
    @Test
    void threadCountDoesNotChangeResults() {
        long seed = Reference.seed();
        Random rnd = new Random(seed);
        try (FloatMatrix db = Reference.gaussian(20011, 33, rnd); FloatMatrix q = Reference.gaussian(300, 33, rnd);
             FloatMatrix few = q.rowsView(0, 20); FloatMatrix one = q.rowsView(0, 1)) {
            for (Metric m : Metric.values()) {
                try (ResidentCodes codes = cpu.uploadCodes(db, m, Sq8.train(db, m))) {
                    CpuBackend.useThreads(1);
                    Neighbors[] base = {codes.search(q, 100), codes.search(few, 100), codes.search(one, 100)};
                    for (int t : new int[] {2, 3, 7}) {
                        CpuBackend.useThreads(t);
                        Neighbors[] other = {codes.search(q, 100), codes.search(few, 100), codes.search(one, 100)};
                        for (int i = 0; i < 3; i++) {
                            assertSame("seed " + seed + ", " + m + ", threads " + t + ", block " + i, other[i], base[i]);
                        }
                    }
                }
            }
        }
    }

    /** Every encoded component within half a step of the row (rows inside the trained range); constant dimensions exact. */
    @ParameterizedTest(name = "d={0}")
    @MethodSource("dims")
    void decodedRowsAreWithinHalfAStep(int d) {
        long seed = Reference.seed();
        Random rnd = new Random(seed);
        try (FloatMatrix db = Reference.gaussian(500, d, rnd)) {
            if (d > 3) {
                for (long r = 0; r < db.rows(); r++) {
                    db.set(r, 2, 0.25f);  // one constant dimension: scale 0
                }
            }
            for (Metric m : Metric.values()) {
                Sq8 sq8 = Sq8.train(db, m);
                float[] vscale = sq8.vscale();
                if (d > 3 && m != Metric.COSINE) {
                    assertEquals(0f, vscale[2], "constant dimension");
                }
                byte[] codes = new byte[sq8.stride()];
                float[] back = new float[d];
                float[] unit = new float[d];
                for (long r = 0; r < db.rows(); r++) {
                    float[] x = db.getRow(r);
                    float norm = sq8.encode(x, codes, 0);
                    float[] u = Sq8.scored(x, m, unit);
                    sq8.decode(codes, 0, back);
                    double sq = 0;
                    for (int t = 0; t < d; t++) {
                        double tol = vscale[t] * (0.5 + 1e-4) + 4 * Math.ulp(Math.max(Math.abs(u[t]), Math.abs(back[t])));
                        if (Math.abs(u[t] - back[t]) > tol) {
                            fail("seed " + seed + ", " + m + ", d=" + d + ", row " + r + ", dim " + t + ": " + u[t] + " decodes to "
                                    + back[t] + ", step " + vscale[t]);
                        }
                        sq += (double) back[t] * back[t];
                    }
                    assertEquals((float) sq, norm, "|x̂|² of row " + r);
                    for (int t = d; t < sq8.stride(); t++) {
                        assertEquals(0, codes[t], "pad byte");
                    }
                }
            }
        }
    }

    static Stream<Integer> dims() {
        return Stream.of(1, 7, 100, 385, 1000);
    }

    /**
     * Clustered data (dimensions of different spreads, as embeddings have): the approximate top-10 finds at
     * least 85 % of the exact (float64) top-10 for every metric, and an exact float32 re-rank of the
     * approximate top-40 (candidate lists into the float search) at least 98 %.
     */
    @Test
    void recallOnClusteredDataAndAfterAnExactReRank() {
        long seed = Reference.seed();
        Random rnd = new Random(seed);
        int n = 20000;
        int d = 96;
        int nq = 200;
        int k = 10;
        try (FloatMatrix db = FloatMatrix.allocate(n, d); FloatMatrix q = FloatMatrix.allocate(nq, d)) {
            clustered(db, q, rnd);
            for (Metric m : Metric.values()) {
                Neighbors exact;
                try (ResidentMatrix ref = JAVA.upload(db, m)) {
                    exact = ref.search(q, k);
                }
                for (String isa : isas()) {
                    CpuBackend.useIsa(isa);
                    recallAtLevel("seed " + seed + ", " + m + ", " + isa, db, q, m, k, exact);
                }
            }
        }
    }

    /** The recall of the approximate top-k and of an exact re-rank of the approximate top 4k, at the level in use. */
    private static void recallAtLevel(String ctx, FloatMatrix db, FloatMatrix q, Metric m, int k, Neighbors exact) {
        int nq = (int) q.rows();
        try (ResidentCodes codes = cpu.uploadCodes(db, m, Sq8.train(db, m)); ResidentMatrix rows = cpu.upload(db, m)) {
            Neighbors approx = codes.search(q, k);
            Neighbors wide = codes.search(q, 4 * k);
            long[] offsets = new long[nq + 1];
            long[] lists = new long[nq * 4 * k];
            for (int i = 0; i < nq; i++) {
                long[] ids = wide.ids(i);
                java.util.Arrays.sort(ids);
                System.arraycopy(ids, 0, lists, i * 4 * k, 4 * k);
                offsets[i + 1] = (i + 1L) * 4 * k;
            }
            Neighbors reranked = rows.search(q, ScanParams.topK(k).candidates(offsets, lists));
            double r1 = recall(approx, exact);
            double r2 = recall(reranked, exact);
            System.out.printf("sq8 recall@10 on clustered data, %s (Q=%d): %.4f; after re-ranking the top 40: %.4f%n",
                    ctx, codes.queryLevels(), r1, r2);
            assertTrue(r1 >= 0.85, ctx + ": recall " + r1);
            assertTrue(r2 >= 0.98, ctx + ": recall after re-rank " + r2);
        }
    }

    @Test
    void appendAndRefreshEqualAFreshUpload() {
        long seed = Reference.seed();
        Random rnd = new Random(seed);
        int d = 37;
        try (FloatMatrix all = Reference.gaussian(2500, d, rnd); FloatMatrix q = Reference.gaussian(30, d, rnd)) {
            for (Backend b : new Backend[] {cpu, JAVA}) {
                for (Metric m : Metric.values()) {
                    Sq8 sq8 = Sq8.train(all, m);
                    String ctx = "seed " + seed + ", " + b.name() + ", " + m;
                    try (FloatMatrix first = all.rowsView(0, 1);
                         ResidentCodes grown = b.uploadCodes(first, m, sq8);
                         ResidentCodes fresh = b.uploadCodes(all, m, sq8)) {
                        for (long r0 = 1; r0 < all.rows(); r0 += 611) {  // appends of 611 rows (several doublings)
                            try (FloatMatrix part = all.rowsView(r0, Math.min(all.rows(), r0 + 611))) {
                                grown.append(part);
                            }
                        }
                        assertEquals(all.rows(), grown.rows(), ctx);
                        assertTrue(grown.bytes() >= all.rows() * sq8.stride(), ctx + ": bytes " + grown.bytes());
                        assertSame(ctx + ", appended", grown.search(q, 50), fresh.search(q, 50));
                        // Remove rows 3 and 10 by moving the last two rows into them, as VectorSet does.
                        try (FloatMatrix moved = FloatMatrix.allocate(all.rows() - 2, d)) {
                            for (long r = 0; r < moved.rows(); r++) {
                                moved.setRow(r, all.getRow(r));
                            }
                            moved.setRow(3, all.getRow(all.rows() - 1));
                            moved.setRow(10, all.getRow(all.rows() - 2));
                            assertTrue(grown.refresh(moved, new long[] {3, 10}), ctx);
                            assertEquals(moved.rows(), grown.rows(), ctx);
                            try (ResidentCodes again = b.uploadCodes(moved, m, sq8)) {
                                assertSame(ctx + ", refreshed", grown.search(q, 50), again.search(q, 50));
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Searches on several threads while appends move the codes to larger buffers: every search returns whole
     * results and the codes end equal to a fresh upload. (A missing lock need not show here: a freed buffer
     * usually stays readable; the lock is what HostCodes guarantees.)
     */
    @Test
    void searchesRunWhileRowsAreAppended() throws Exception {
        long seed = Reference.seed();
        Random rnd = new Random(seed);
        int d = 64;
        try (FloatMatrix all = Reference.gaussian(6000, d, rnd); FloatMatrix q = Reference.gaussian(20, d, rnd);
             FloatMatrix first = all.rowsView(0, 100)) {
            for (Backend b : new Backend[] {cpu, JAVA}) {
                try (ResidentCodes codes = b.uploadCodes(first, Metric.L2, Sq8.train(all, Metric.L2))) {
                    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(3);
                    java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
                    java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(3);
                    List<java.util.concurrent.Future<Integer>> searches = new ArrayList<>();
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
                    for (java.util.concurrent.Future<Integer> f : searches) {
                        total += f.get();
                    }
                    pool.shutdown();
                    assertEquals(all.rows(), codes.rows(), "seed " + seed + ", " + b.name());
                    try (ResidentCodes fresh = b.uploadCodes(all, Metric.L2, codes.quantizer())) {
                        assertSame("seed " + seed + ", " + b.name() + " after " + total + " concurrent searches",
                                codes.search(q, 10), fresh.search(q, 10));
                    }
                }
            }
        }
    }

    @Test
    void argumentsAreChecked() {
        try (FloatMatrix db = FloatMatrix.of(new float[][] {{1, 0}, {0, 1}, {1, 1}});
             FloatMatrix q = FloatMatrix.of(new float[][] {{1, 0}});
             FloatMatrix q3 = FloatMatrix.of(new float[][] {{1, 0, 0}});
             FloatMatrix nan = FloatMatrix.of(new float[][] {{1, Float.NaN}});
             FloatMatrix bad = FloatMatrix.of(new float[][] {{1, 1}, {Float.POSITIVE_INFINITY, 0}})) {
            Sq8 sq8 = Sq8.train(db, Metric.L2);
            for (Backend b : new Backend[] {cpu, JAVA}) {
                String ctx = b.name();
                assertThrows(IllegalArgumentException.class, () -> b.uploadCodes(db, Metric.COSINE, sq8), ctx);
                assertThrows(IllegalArgumentException.class, () -> b.uploadCodes(q3, Metric.L2, sq8), ctx);
                assertThrows(IllegalArgumentException.class, () -> b.uploadCodes(db, Metric.L2, null), ctx);
                ResidentCodes codes = b.uploadCodes(db, Metric.L2, sq8);
                assertThrows(IllegalArgumentException.class, () -> codes.search(q3, 1), ctx);
                assertThrows(IllegalArgumentException.class, () -> codes.search(q, 0), ctx);
                assertThrows(IllegalArgumentException.class, () -> codes.search(q, ScanParams.within(1f)), ctx);
                assertThrows(IllegalArgumentException.class, () -> codes.search(q, ScanParams.topK(1).rows(new long[] {0})), ctx);
                assertThrows(IllegalArgumentException.class,
                        () -> codes.search(q, ScanParams.topK(1).candidates(new long[] {0, 1}, new long[] {3})), ctx);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> codes.search(nan, 1), ctx);
                assertTrue(e.getMessage().contains("query row 0"), e.getMessage());
                e = assertThrows(IllegalArgumentException.class, () -> codes.append(bad), ctx);
                assertTrue(e.getMessage().contains("database row 4"), ctx + ": " + e.getMessage());
                assertEquals(3, codes.rows(), ctx + ": nothing appended");
                assertEquals(0, codes.search(q, 1).id(0, 0), ctx);
                codes.close();
                codes.close();
                assertThrows(IllegalStateException.class, () -> codes.search(q, 1), ctx);
                assertThrows(IllegalStateException.class, () -> codes.append(db), ctx);
            }
            assertThrows(IllegalArgumentException.class, () -> Sq8.of(Metric.L2, new float[] {0}, new float[] {-1}));
            assertThrows(IllegalArgumentException.class, () -> Sq8.train(nan, Metric.L2));
        }
    }

    /** A backend without 8-bit kernels says so. */
    @Test
    void backendsWithoutCodesRefuseClearly() {
        Backend none = new Backend() {
            @Override
            public String name() {
                return "none";
            }

            @Override
            public String description() {
                return "none";
            }

            @Override
            public ResidentMatrix upload(FloatMatrix rows, Metric metric) {
                throw new UnsupportedOperationException();
            }

            @Override
            public Assignment assign(ResidentMatrix points, ResidentMatrix targets) {
                throw new UnsupportedOperationException();
            }

            @Override
            public LabelSums accumulate(ResidentMatrix points, int[] labels, int k) {
                throw new UnsupportedOperationException();
            }

            @Override
            public double[] gram(ResidentMatrix points, double[] mean) {
                throw new UnsupportedOperationException();
            }

            @Override
            public void close() {
            }
        };
        try (FloatMatrix db = FloatMatrix.of(new float[][] {{1, 0}})) {
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                    () -> none.uploadCodes(db, Metric.L2, Sq8.train(db, Metric.L2)));
            assertTrue(e.getMessage().contains("none backend"), e.getMessage());
        }
    }

    @Test
    void queryLevelsFollowTheKernelLevel() {
        try (FloatMatrix db = FloatMatrix.of(new float[][] {{1, 0}});
             ResidentCodes codes = cpu.uploadCodes(db, Metric.L2, Sq8.train(db, Metric.L2))) {
            for (String isa : isas()) {
                CpuBackend.useIsa(isa);
                int lv = codes.queryLevels();
                switch (isa) {
                    case "avx512" -> assertTrue(lv == 127 || lv == 63, isa + ": " + lv);  // 63 without VNNI
                    case "avx2" -> assertEquals(63, lv, isa);
                    default -> assertEquals(127, lv, isa);
                }
            }
        }
    }

    /** Exactly equal ids and score bits. */
    static void assertSame(String ctx, Neighbors got, Neighbors ref) {
        assertEquals(ref.queries(), got.queries(), ctx + ": queries");
        for (int i = 0; i < got.queries(); i++) {
            for (int r = 0; r < got.count(); r++) {
                if (got.id(i, r) != ref.id(i, r)
                        || Float.floatToIntBits(got.score(i, r)) != Float.floatToIntBits(ref.score(i, r))) {
                    fail(ctx + ", query " + i + ", rank " + r + ": id " + got.id(i, r) + " score " + got.score(i, r)
                            + ", reference id " + ref.id(i, r) + " score " + ref.score(i, r));
                }
            }
        }
    }

    /** Equal scores come in ascending row order. */
    private static void assertTiesByLowerRow(String ctx, Neighbors got) {
        for (int i = 0; i < got.queries(); i++) {
            for (int r = 1; r < got.count(i); r++) {
                if (got.score(i, r) == got.score(i, r - 1) && got.id(i, r) < got.id(i, r - 1)) {
                    fail(ctx + ", query " + i + ", rank " + r + ": tie not by lower row");
                }
            }
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

    /** 100 clusters, each dimension with its own spread (0.2 to 3): rows and queries drawn around the centres. */
    private static void clustered(FloatMatrix db, FloatMatrix q, Random rnd) {
        int d = db.cols();
        int clusters = 100;
        float[] spread = new float[d];
        for (int t = 0; t < d; t++) {
            spread[t] = 0.2f + 2.8f * rnd.nextFloat();
        }
        float[][] centres = new float[clusters][d];
        for (float[] c : centres) {
            for (int t = 0; t < d; t++) {
                c[t] = (float) (rnd.nextGaussian() * spread[t]);
            }
        }
        for (FloatMatrix m : new FloatMatrix[] {db, q}) {
            float[] row = new float[d];
            for (long r = 0; r < m.rows(); r++) {
                float[] c = centres[rnd.nextInt(clusters)];
                for (int t = 0; t < d; t++) {
                    row[t] = c[t] + (float) (rnd.nextGaussian() * 0.5 * spread[t]);
                }
                m.setRow(r, row);
            }
        }
    }

    /** Mean share of the reference's ids found by {@code got}, per query. */
    private static double recall(Neighbors got, Neighbors ref) {
        long hit = 0;
        for (int i = 0; i < ref.queries(); i++) {
            Set<Long> want = new HashSet<>();
            for (long id : ref.ids(i)) {
                want.add(id);
            }
            for (long id : got.ids(i)) {
                hit += want.contains(id) ? 1 : 0;
            }
        }
        return (double) hit / ((long) ref.queries() * ref.count());
    }
}
