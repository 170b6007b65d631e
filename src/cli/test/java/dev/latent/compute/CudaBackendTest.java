package dev.latent.compute;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.latent.compute.cuda.CudaBackend;
import dev.latent.compute.java.JavaBackend;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.core.TokenEmbeddings;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The CUDA backend against the float64 references (JavaBackend through {@link Reference}, and a
 * local brute force that also checks exact tie order) on fresh random inputs (the seed is in
 * every failure message): odd shapes, every metric, k from 1 to 2048 and k > N, ties and duplicate
 * rows, subset search, distance blocks, validation, and use after close.
 *
 * <p>Tests that need a GPU are skipped with the reason when CUDA is unavailable, unless
 * {@code -Dlatent.test.requireBackend=cuda} is set: then unavailability fails them.
 */
class CudaBackendTest {
    private static final long SEED = Long.getLong("latent.test.seed", System.nanoTime());
    private static final int[] KS = {1, 10, 100, 2048};
    private static final JavaBackend JAVA = new JavaBackend();

    private static CudaBackend backend;
    private static BackendUnavailableException unavailable;

    @BeforeAll
    static void openBackend() {
        try {
            backend = CudaBackend.open();
        } catch (BackendUnavailableException e) {
            unavailable = e;
        }
    }

    @AfterAll
    static void closeBackend() {
        if (backend != null) {
            backend.close();
        }
    }

    /** Skips (or, when CUDA is required, fails) a test that needs a usable CUDA device. */
    private static void requireCuda() {
        if (backend == null && "cuda".equals(System.getProperty("latent.test.requireBackend"))) {
            fail("CUDA is required (-Dlatent.test.requireBackend=cuda) but unavailable: " + unavailable.getMessage());
        }
        Assumptions.assumeTrue(backend != null,
                () -> "CUDA unavailable: " + (unavailable == null ? "?" : unavailable.getMessage()));
    }

    @Test
    void openEitherWorksOrSaysWhy() {
        if (backend != null) {
            assertEquals("cuda", backend.name());
            assertTrue(backend.description().contains("compute capability"), backend.description());
            return;
        }
        String why = unavailable.getMessage();
        assertTrue(why != null && !why.isBlank(), "no reason given");
        if (why.startsWith("CUDA library not built")) {
            assertTrue(why.contains("nvcc absent at build time"), why);
            assertEquals(0, unavailable.nativeCode());
        } else if (why.contains("cudaGetDeviceCount")) {
            // No GPU or no driver: 35 (insufficient driver) or 100 (no device) with the CUDA text.
            assertTrue(unavailable.nativeCode() > 0, why);
            assertTrue(why.contains("returned " + unavailable.nativeCode() + " ("), why);
        } else {
            assertTrue(why.startsWith("CUDA"), why);
        }
        // The same reason again, not a cached exception object.
        BackendUnavailableException again = assertThrows(BackendUnavailableException.class, CudaBackend::open);
        assertEquals(why, again.getMessage());
        assertEquals(unavailable.nativeCode(), again.nativeCode());
    }

    @Test
    void oddShapesEveryMetricEveryK() {
        requireCuda();
        int[][] shapes = {
            {1, 1, 1}, {1, 7, 4097}, {7, 1, 100}, {7, 7, 7}, {7, 4097, 100}, {100, 1000, 7}, {100, 100, 1000},
            {1000, 7, 1}, {1000, 1000, 100}, {1, 4097, 1000}, {100, 4097, 1000}, {4097, 100, 7},
            {4097, 1000, 1}, {7, 1000, 4097}, {1000, 4097, 100},
        };
        Random random = new Random(SEED);
        for (int[] s : shapes) {
            Data data = Data.random(random, s[0], s[1], s[2]);
            try (FloatMatrix db = data.database(); FloatMatrix queries = data.queries()) {
                for (Metric metric : Metric.values()) {
                    Neighbors javaRef = javaSearch(db, queries, metric, 2048, null);
                    try (ResidentMatrix prepared = backend.upload(db, metric)) {
                        for (int k : KS) {
                            String config = "Q=" + s[0] + " N=" + s[1] + " d=" + s[2] + " " + metric + " k=" + k
                                    + " seed=" + SEED;
                            Neighbors got = prepared.search(queries, k);
                            checkTopK(data, metric, k, null, got, config);
                            Reference.assertSameTopK(config, queries, db, null, metric, k, got, javaRef);
                        }
                    }
                }
            }
        }
    }

    @Test
    void manyChunksAndMergePasses() {
        requireCuda();
        Random random = new Random(SEED + 1);
        Data data = Data.random(random, 3, 200_000, 32);
        try (FloatMatrix db = data.database(); FloatMatrix queries = data.queries()) {
            for (Metric metric : Metric.values()) {
                Neighbors javaRef = javaSearch(db, queries, metric, 2048, null);
                try (ResidentMatrix prepared = backend.upload(db, metric)) {
                    for (int k : new int[] {1, 10, 33, 100, 129, 513, 2048}) {
                        String config = "N=200000 d=32 " + metric + " k=" + k + " seed=" + SEED;
                        Neighbors got = prepared.search(queries, k);
                        checkTopK(data, metric, k, null, got, config);
                        Reference.assertSameTopK(config, queries, db, null, metric, k, got, javaRef);
                    }
                }
            }
        }
    }

    @Test
    void tiesAndDuplicatesGoToTheLowerRow() {
        requireCuda();
        Random random = new Random(SEED + 2);
        int n = 3000;
        int d = 9;
        // Small integers: every dot product and norm is exact in float32, so ties are exact.
        float[][] base = new float[40][d];
        for (float[] row : base) {
            for (int c = 0; c < d; c++) {
                row[c] = random.nextInt(5) - 2;
            }
            row[random.nextInt(d)] = 3; // never a zero row (cosine)
        }
        float[][] rows = new float[n][];
        for (int i = 0; i < n; i++) {
            rows[i] = base[random.nextInt(base.length)].clone();
        }
        float[][] qs = new float[17][d];
        for (float[] q : qs) {
            for (int c = 0; c < d; c++) {
                q[c] = random.nextInt(5) - 2;
            }
            q[0] = 1;
        }
        Data data = new Data(qs, rows);
        try (FloatMatrix db = data.database(); FloatMatrix queries = data.queries()) {
            for (Metric metric : Metric.values()) {
                try (ResidentMatrix prepared = backend.upload(db, metric)) {
                    for (int k : new int[] {1, 10, 100, 2048, 5000}) {
                        String config = "ties " + metric + " k=" + k + " seed=" + SEED;
                        Neighbors got = prepared.search(queries, k);
                        Neighbors want = data.reference(metric, k, null);
                        assertEquals(want.count(), got.count(), config);
                        Neighbors javaRef = javaSearch(db, queries, metric, k, null);
                        Reference.assertSameTopK(config, queries, db, null, metric, k, got, javaRef);
                        if (metric != Metric.COSINE) {
                            Reference.assertSameIds(config, got, javaRef);
                        }
                        for (int q = 0; q < qs.length; q++) {
                            // Integer data under IP and L2 is exact: the ids must match exactly.
                            if (metric != Metric.COSINE) {
                                assertArrayEquals(want.ids(q), got.ids(q), config + " query " + q);
                            }
                        }
                        checkTopK(data, metric, k, null, got, config);
                    }
                }
            }
        }
    }

    @Test
    void subsetSearch() {
        requireCuda();
        Random random = new Random(SEED + 3);
        Data data = Data.random(random, 50, 5000, 33);
        try (FloatMatrix db = data.database(); FloatMatrix queries = data.queries()) {
            for (Metric metric : Metric.values()) {
                try (ResidentMatrix prepared = backend.upload(db, metric)) {
                    for (int size : new int[] {0, 1, 7, 100, 4097}) {
                        long[] subset = random.longs(0, 5000).distinct().limit(size).sorted().toArray();
                        for (int k : new int[] {1, 10, 100, 2048, 3000}) { // 3000 > MAX_K: the host-selection path
                            String config = "subset of " + size + " " + metric + " k=" + k + " seed=" + SEED;
                            Neighbors got = prepared.search(queries, ScanParams.topK(k).rows(subset));
                            assertEquals(Math.min(k, size), got.count(), config);
                            checkTopK(data, metric, k, subset, got, config);
                            Reference.assertSameTopK(config, queries, db, subset, metric, k, got,
                                    javaSearch(db, queries, metric, k, subset));
                        }
                    }
                }
            }
        }
    }

    /**
     * A small budget: an upload past it is refused before allocating (nothing leaks, the budget is
     * unchanged), appends reserve their growth, and searches with a 1 MiB scratch per matrix (query
     * batches and row stripes cut to fit) give the reference answers.
     */
    @Test
    void aSmallBudgetRefusesUploadsAndTilesSearches() throws Exception {
        requireCuda();
        Random random = new Random(SEED + 9);
        Data data = Data.random(random, 300, 20000, 5);
        try (CudaBackend small = CudaBackend.open(DeviceMemoryBudget.of(8L << 20, DeviceMemoryBudget.MIN_SCRATCH));
             FloatMatrix db = data.database(); FloatMatrix queries = data.queries()) {
            try (FloatMatrix big = FloatMatrix.allocate(2_000_000, 5)) {
                DeviceMemoryBudgetException e = assertThrows(DeviceMemoryBudgetException.class,
                        () -> small.upload(big, Metric.L2));
                assertTrue(e.getMessage().contains("2000000 x 5"), e.getMessage());
            }
            assertEquals(0, small.budget().used());
            for (Metric metric : Metric.values()) {
                try (ResidentMatrix prepared = small.upload(db, metric)) {
                    assertTrue(small.budget().used() > DeviceMemoryBudget.MIN_SCRATCH);
                    for (int k : new int[] {1, 100, 2048}) {
                        String config = "budget 8 MiB, scratch 1 MiB, " + metric + " k=" + k + " seed=" + SEED;
                        Neighbors got = prepared.search(queries, ScanParams.topK(k));
                        checkTopK(data, metric, k, null, got, config);
                    }
                }
                assertEquals(0, small.budget().used());
            }
        }
    }

    /**
     * Token embeddings in device memory (as an encoder's IoBinding output leaves them) are pooled and searched
     * on the device with exactly the results of pooling the same tokens on the host and searching those
     * vectors: the pooling kernel reproduces the host pooling bit for bit.
     */
    @Test
    void deviceTokensArePooledOnTheDeviceAsOnTheHost() {
        requireCuda();
        Random random = new Random(SEED + 11);
        int q = 70;
        int t = 9;
        int h = 32;
        Data data = Data.random(random, 1, 3000, h);
        float[] tokens = new float[q * t * h];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = (float) random.nextGaussian();
        }
        long[] mask = new long[q * t];
        for (int r = 0; r < q; r++) {
            int kept = 1 + random.nextInt(t);
            for (int i = 0; i < kept; i++) {
                mask[r * t + i] = 1;
            }
        }
        long[] address = new long[1];
        assertEquals(0, dev.latent.compute.cuda.CudaNative.deviceAlloc(backend.device(), tokens.length * 4L, address));
        try (FloatMatrix db = data.database(); FloatMatrix host = FloatMatrix.of(tokens, h);
             org.bytedeco.javacpp.FloatPointer hp = host.pointer()) {
            assertEquals(0, dev.latent.compute.cuda.CudaNative.deviceCopy(address[0], hp, tokens.length * 4L, 1));
            for (Metric metric : Metric.values()) {
                try (ResidentMatrix m = backend.upload(db, metric)) {
                    for (boolean first : new boolean[] {false, true}) {
                        for (int k : new int[] {1, 10, 2048, 3000}) {
                            boolean normalize = metric != Metric.L2 || first;
                            TokenEmbeddings onDevice = new TokenEmbeddings(address[0], q, t, h, mask, first, normalize,
                                    backend.device());
                            TokenEmbeddings onHost = new TokenEmbeddings(hp.address(), q, t, h, mask, first, normalize,
                                    TokenEmbeddings.HOST);
                            String config = metric + " first=" + first + " k=" + k + " seed=" + SEED;
                            Neighbors got = m.searchPooled(onDevice, k);
                            Neighbors want = m.searchPooled(onHost, k);
                            for (int i = 0; i < q; i++) {
                                assertArrayEquals(want.ids(i), got.ids(i), config + " query " + i);
                                assertArrayEquals(want.scores(i), got.scores(i), 0f, config + " query " + i);
                            }
                        }
                    }
                }
            }
        } finally {
            assertEquals(0, dev.latent.compute.cuda.CudaNative.deviceFree(address[0]));
        }
    }

    @Test
    void distanceBlocks() {
        requireCuda();
        Random random = new Random(SEED + 4);
        int[][] shapes = {{1, 1, 1}, {7, 100, 7}, {100, 4097, 100}, {4097, 7, 1000}, {33, 1000, 4097}};
        for (int[] s : shapes) {
            Data data = Data.random(random, s[0], s[1], s[2]);
            try (FloatMatrix db = data.database(); FloatMatrix queries = data.queries()) {
                for (Metric metric : Metric.values()) {
                    try (ResidentMatrix prepared = backend.upload(db, metric)) {
                        long from = s[1] / 3;
                        long to = s[1];
                        try (FloatMatrix out = FloatMatrix.allocate(s[0], (int) (to - from))) {
                            prepared.distances(queries, from, to, out);
                            for (int q = 0; q < s[0]; q++) {
                                for (long r = from; r < to; r++) {
                                    double want = data.score(metric, q, (int) r);
                                    float got = out.get(q, (int) (r - from));
                                    double tol = data.tolerance(metric, q);
                                    if (Math.abs(got - want) > tol) {
                                        fail("distance q=" + q + " row=" + r + ": " + got + " vs " + want + " (tol "
                                                + tol + ") Q=" + s[0] + " N=" + s[1] + " d=" + s[2] + " " + metric
                                                + " seed=" + SEED);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void concurrentSearchesAgree() throws Exception {
        requireCuda();
        Data data = Data.random(new Random(SEED + 5), 64, 20000, 48);
        try (FloatMatrix db = data.database(); FloatMatrix queries = data.queries();
                ResidentMatrix prepared = backend.upload(db, Metric.L2)) {
            Neighbors first = prepared.search(queries, 50);
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<Neighbors>> results = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    results.add(pool.submit(() -> prepared.search(queries, 50)));
                }
                for (Future<Neighbors> f : results) {
                    Neighbors n = f.get();
                    for (int q = 0; q < 64; q++) {
                        assertArrayEquals(first.ids(q), n.ids(q), "seed=" + SEED);
                        assertArrayEquals(first.scores(q), n.scores(q), "seed=" + SEED);
                    }
                }
            } finally {
                pool.shutdown();
            }
        }
    }

    @Test
    void rejectsBadInputsAndUseAfterClose() {
        requireCuda();
        Data data = Data.random(new Random(SEED + 6), 3, 10, 4);
        try (FloatMatrix db = data.database(); FloatMatrix queries = data.queries()) {
            ResidentMatrix prepared = backend.upload(db, Metric.COSINE);
            assertThrows(IllegalArgumentException.class, () -> prepared.search(queries, 0));
            assertThrows(IllegalArgumentException.class, () -> prepared.search(queries, -3));
            try (FloatMatrix wrong = FloatMatrix.allocate(2, 5)) {
                IllegalArgumentException e =
                        assertThrows(IllegalArgumentException.class, () -> prepared.search(wrong, 1));
                assertTrue(e.getMessage().contains("dimension"), e.getMessage());
            }
            try (FloatMatrix nan = FloatMatrix.of(new float[][] {{1, 2, 3, 4}, {1, Float.NaN, 0, 0}})) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> prepared.search(nan, 1));
                assertTrue(e.getMessage().contains("query row 1"), e.getMessage());
            }
            try (FloatMatrix zero = FloatMatrix.allocate(1, 4)) {
                IllegalArgumentException e =
                        assertThrows(IllegalArgumentException.class, () -> prepared.search(zero, 1));
                assertTrue(e.getMessage().contains("zero"), e.getMessage());
            }
            assertThrows(IllegalArgumentException.class, () -> prepared.search(queries, ScanParams.topK(1).rows(new long[] {3, 2})));
            assertThrows(IllegalArgumentException.class, () -> prepared.search(queries, ScanParams.topK(1).rows(new long[] {10})));
            try (FloatMatrix out = FloatMatrix.allocate(3, 4)) {
                assertThrows(IllegalArgumentException.class, () -> prepared.distances(queries, 0, 5, out));
            }
            prepared.close();
            prepared.close(); // idempotent, frees once
            IllegalStateException closed =
                    assertThrows(IllegalStateException.class, () -> prepared.search(queries, 1));
            assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
        }
        try (FloatMatrix withZero = FloatMatrix.of(new float[][] {{1, 0}, {0, 0}, {0, 1}})) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> backend.upload(withZero, Metric.COSINE));
            assertTrue(e.getMessage().contains("row 1"), e.getMessage());
            backend.upload(withZero, Metric.L2).close(); // zero rows are fine elsewhere
        }
    }

    /** The JavaBackend's (float64) results for the same search. */
    private static Neighbors javaSearch(FloatMatrix db, FloatMatrix queries, Metric metric, int k, long[] subset) {
        try (ResidentMatrix p = JAVA.upload(db, metric)) {
            return subset == null ? p.search(queries, k) : p.search(queries, ScanParams.topK(k).rows(subset));
        }
    }

    /**
     * Checks one search against the reference: count, distinct in-range ids (from the subset), each
     * score equal to the reference score of its id, and each rank's score equal to the reference's
     * score at that rank (so near-ties may swap ids, but never pick a worse row).
     */
    private static void checkTopK(Data data, Metric metric, int k, long[] subset, Neighbors got, String config) {
        Neighbors want = data.reference(metric, k, subset);
        assertEquals(want.count(), got.count(), config + ": count");
        assertEquals(data.q, got.queries(), config + ": queries");
        long[] allowed = subset;
        for (int q = 0; q < data.q; q++) {
            double tol = data.tolerance(metric, q);
            long[] ids = got.ids(q);
            long[] seen = ids.clone();
            Arrays.sort(seen);
            for (int r = 0; r < ids.length; r++) {
                if (r > 0 && seen[r] == seen[r - 1]) {
                    fail(config + ": query " + q + " returned row " + seen[r] + " twice");
                }
                long id = ids[r];
                boolean inRange = allowed == null ? id >= 0 && id < data.n : Arrays.binarySearch(allowed, id) >= 0;
                if (!inRange) {
                    fail(config + ": query " + q + " rank " + r + " returned row " + id + ", not a candidate");
                }
                double own = data.score(metric, q, (int) id);
                float score = got.score(q, r);
                if (Math.abs(score - own) > tol) {
                    fail(config + ": query " + q + " rank " + r + " row " + id + " score " + score
                            + " but the row scores " + own + " (tol " + tol + ")");
                }
                double ranked = want.score(q, r);
                if (Math.abs(score - ranked) > tol) {
                    fail(config + ": query " + q + " rank " + r + " score " + score + " (row " + id
                            + ") but the reference has " + ranked + " (row " + want.id(q, r) + ") (tol " + tol + ")");
                }
                if (r > 0 && metric.better(score, got.score(q, r - 1))) {
                    fail(config + ": query " + q + " results out of order at rank " + r);
                }
                if (r > 0 && score == got.score(q, r - 1) && id < ids[r - 1]) {
                    fail(config + ": query " + q + " tie at rank " + r + " not broken by the lower row");
                }
            }
        }
    }

    /** Queries and database on the heap, with float64 reference scores. */
    private static final class Data {
        final float[][] queries;
        final float[][] rows;
        final int q;
        final int n;
        final int d;
        private final double[] queryNorms;
        private final double maxRowNorm;

        Data(float[][] queries, float[][] rows) {
            this.queries = queries;
            this.rows = rows;
            this.q = queries.length;
            this.n = rows.length;
            this.d = rows[0].length;
            this.queryNorms = new double[q];
            for (int i = 0; i < q; i++) {
                queryNorms[i] = Math.sqrt(dot(queries[i], queries[i]));
            }
            double max = 0;
            for (float[] row : rows) {
                max = Math.max(max, Math.sqrt(dot(row, row)));
            }
            this.maxRowNorm = max;
        }

        static Data random(Random random, int q, int n, int d) {
            return new Data(gaussian(random, q, d), gaussian(random, n, d));
        }

        private static float[][] gaussian(Random random, int count, int d) {
            float[][] m = new float[count][d];
            for (float[] row : m) {
                for (int c = 0; c < d; c++) {
                    row[c] = (float) random.nextGaussian();
                }
            }
            return m;
        }

        FloatMatrix database() {
            return FloatMatrix.of(rows);
        }

        FloatMatrix queries() {
            return FloatMatrix.of(queries);
        }

        static double dot(float[] a, float[] b) {
            double s = 0;
            for (int i = 0; i < a.length; i++) {
                s += (double) a[i] * b[i];
            }
            return s;
        }

        double score(Metric metric, int query, int row) {
            float[] a = queries[query];
            float[] b = rows[row];
            switch (metric) {
                case INNER_PRODUCT:
                    return dot(a, b);
                case COSINE:
                    return dot(a, b) / (queryNorms[query] * Math.sqrt(dot(b, b)));
                default:
                    double s = 0;
                    for (int i = 0; i < a.length; i++) {
                        double t = (double) a[i] - b[i];
                        s += t * t;
                    }
                    return s;
            }
        }

        /**
         * Allowed absolute score error for one query: float32 accumulation over d terms, relative to
         * the magnitudes involved (|q||x| for dot products, |q|² + |x|² for the L2 expansion).
         */
        double tolerance(Metric metric, int query) {
            double scale;
            switch (metric) {
                case INNER_PRODUCT:
                    scale = queryNorms[query] * maxRowNorm;
                    break;
                case COSINE:
                    scale = 1;
                    break;
                default:
                    scale = queryNorms[query] * queryNorms[query] + maxRowNorm * maxRowNorm;
                    break;
            }
            // About 60x the typical float32 error (sqrt(d) roundings of the largest terms).
            return 4e-6 * Math.sqrt(d) * scale + 1e-6;
        }

        /** Exact top-k in float64: best first, ties by the lower row (sorted once per metric and subset). */
        Neighbors reference(Metric metric, int k, long[] subset) {
            Ranked ranked = cache.computeIfAbsent(metric + ":" + Arrays.toString(subset),
                    key -> rank(metric, subset));
            int candidates = subset == null ? n : subset.length;
            int count = Math.min(k, candidates);
            if (count > ranked.kept) {
                throw new IllegalStateException("reference keeps " + ranked.kept + " results, asked for " + count);
            }
            long[] ids = new long[q * count];
            float[] scores = new float[q * count];
            for (int query = 0; query < q; query++) {
                for (int r = 0; r < count; r++) {
                    ids[query * count + r] = ranked.ids[query][r];
                    scores[query * count + r] = (float) ranked.scores[query][r];
                }
            }
            return new Neighbors(q, count, ids, scores, metric);
        }

        private final java.util.Map<String, Ranked> cache = new java.util.HashMap<>();

        /** Per query, the best {@code kept} candidates in order. */
        private static final class Ranked {
            final int kept;
            final long[][] ids;
            final double[][] scores;

            Ranked(int kept, long[][] ids, double[][] scores) {
                this.kept = kept;
                this.ids = ids;
                this.scores = scores;
            }
        }

        private Ranked rank(Metric metric, long[] subset) {
            int candidates = subset == null ? n : subset.length;
            int kept = Math.min(candidates, 5000);
            long[][] ids = new long[q][kept];
            double[][] best = new double[q][kept];
            double[] s = new double[candidates];
            Integer[] order = new Integer[candidates];
            for (int query = 0; query < q; query++) {
                for (int i = 0; i < candidates; i++) {
                    int row = subset == null ? i : (int) subset[i];
                    s[i] = score(metric, query, row);
                    order[i] = i;
                }
                Arrays.sort(order, (x, y) -> {
                    int c = metric.higherIsNearer() ? Double.compare(s[y], s[x]) : Double.compare(s[x], s[y]);
                    return c != 0 ? c : Integer.compare(x, y);
                });
                for (int r = 0; r < kept; r++) {
                    int i = order[r];
                    ids[query][r] = subset == null ? i : subset[i];
                    best[query][r] = s[i];
                }
            }
            return new Ranked(kept, ids, best);
        }
    }
}
