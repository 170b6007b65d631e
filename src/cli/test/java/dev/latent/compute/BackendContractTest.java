package dev.latent.compute;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The Backend contract on small hand-checked inputs and bad inputs; run for every backend. */
abstract class BackendContractTest {
    abstract Backend backend();

    private static FloatMatrix db() {
        return FloatMatrix.of(new float[][] {{1, 0}, {0, 1}, {1, 1}, {2, 0}});
    }

    private static FloatMatrix q10() {
        return FloatMatrix.of(new float[][] {{1, 0}});
    }

    @Test
    void innerProductBestFirstTiesByLowerRow() {
        try (FloatMatrix db = db(); FloatMatrix q = q10(); ResidentMatrix p = backend().upload(db, Metric.INNER_PRODUCT)) {
            Neighbors n = p.search(q, 3);
            assertArrayEquals(new long[] {3, 0, 2}, n.ids(0));
            assertArrayEquals(new float[] {2, 1, 1}, n.scores(0));
        }
    }

    @Test
    void cosineBestFirstTiesByLowerRow() {
        try (FloatMatrix db = db(); FloatMatrix q = q10(); ResidentMatrix p = backend().upload(db, Metric.COSINE)) {
            Neighbors n = p.search(q, 4);
            assertArrayEquals(new long[] {0, 3, 2, 1}, n.ids(0));
            assertEquals(1f, n.score(0, 0), 1e-6f);
            assertEquals(1f, n.score(0, 1), 1e-6f);
            assertEquals((float) Math.sqrt(0.5), n.score(0, 2), 1e-6f);
            assertEquals(0f, n.score(0, 3), 1e-6f);
        }
    }

    @Test
    void squaredL2LowestFirst() {
        try (FloatMatrix db = db(); FloatMatrix q = q10(); ResidentMatrix p = backend().upload(db, Metric.L2)) {
            Neighbors n = p.search(q, 4);
            assertArrayEquals(new long[] {0, 2, 3, 1}, n.ids(0));
            assertArrayEquals(new float[] {0, 1, 1, 2}, n.scores(0));
        }
    }

    @Test
    void kAboveRowsReturnsAllRows() {
        try (FloatMatrix db = db(); FloatMatrix q = q10(); ResidentMatrix p = backend().upload(db, Metric.INNER_PRODUCT)) {
            Neighbors n = p.search(q, 2048);
            assertEquals(4, n.count());
            assertArrayEquals(new long[] {3, 0, 2, 1}, n.ids(0));
        }
    }

    @Test
    void nonPositiveKIsRejectedNamingK() {
        try (FloatMatrix db = db(); FloatMatrix q = q10(); ResidentMatrix p = backend().upload(db, Metric.L2)) {
            for (int k : new int[] {0, -3}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.search(q, k));
                assertTrue(e.getMessage().contains("k=" + k), e.getMessage());
                assertThrows(IllegalArgumentException.class, () -> p.search(q, ScanParams.topK(k).rows(new long[] {0})));
            }
        }
    }

    @Test
    void dimensionMismatchIsRejected() {
        try (FloatMatrix db = db(); FloatMatrix q = FloatMatrix.of(new float[][] {{1, 0, 0}});
             ResidentMatrix p = backend().upload(db, Metric.INNER_PRODUCT);
             FloatMatrix out = FloatMatrix.allocate(1, 4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.search(q, 1));
            assertTrue(e.getMessage().contains("dimension"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> p.distances(q, 0, 4, out));
        }
    }

    @Test
    void nonFiniteQueryRowIsNamed() {
        for (Metric m : Metric.values()) {
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                try (FloatMatrix db = db(); FloatMatrix q = FloatMatrix.of(new float[][] {{1, 0}, {0, 1}, {bad, 1}});
                     ResidentMatrix p = backend().upload(db, m)) {
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.search(q, 2));
                    assertTrue(e.getMessage().contains("query row 2"), m + " " + bad + ": " + e.getMessage());
                }
            }
        }
    }

    @Test
    void nonFiniteDatabaseRowIsNamed() {
        for (Metric m : Metric.values()) {
            try (FloatMatrix db = FloatMatrix.of(new float[][] {{1, 0}, {0, 1}, {1, 1}, {2, Float.NaN}})) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> backend().upload(db, m));
                assertTrue(e.getMessage().contains("database row 3"), e.getMessage());
            }
        }
    }

    @Test
    void zeroVectorsUnderCosineAreNamed() {
        try (FloatMatrix db = FloatMatrix.of(new float[][] {{1, 0}, {0, 1}, {0, 0}})) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> backend().upload(db, Metric.COSINE));
            assertTrue(e.getMessage().contains("database row 2") && e.getMessage().contains("zero"), e.getMessage());
            // Zero rows are fine for the other metrics.
            backend().upload(db, Metric.L2).close();
        }
        try (FloatMatrix db = db(); FloatMatrix q = FloatMatrix.of(new float[][] {{1, 0}, {0, 0}});
             ResidentMatrix p = backend().upload(db, Metric.COSINE)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.search(q, 1));
            assertTrue(e.getMessage().contains("query row 1") && e.getMessage().contains("zero"), e.getMessage());
        }
    }

    @Test
    void subsetSearchReturnsOnlySubsetRows() {
        try (FloatMatrix db = db(); FloatMatrix q = q10(); ResidentMatrix p = backend().upload(db, Metric.INNER_PRODUCT)) {
            Neighbors n = p.search(q, ScanParams.topK(10).rows(new long[] {1, 2}));
            assertArrayEquals(new long[] {2, 1}, n.ids(0));
            assertArrayEquals(new float[] {1, 0}, n.scores(0));
            assertEquals(0, p.search(q, ScanParams.topK(3).rows(new long[0])).count());
            assertThrows(IllegalArgumentException.class, () -> p.search(q, ScanParams.topK(1).rows(new long[] {2, 1})));
            assertThrows(IllegalArgumentException.class, () -> p.search(q, ScanParams.topK(1).rows(new long[] {1, 1})));
            assertThrows(IllegalArgumentException.class, () -> p.search(q, ScanParams.topK(1).rows(new long[] {4})));
            assertThrows(IllegalArgumentException.class, () -> p.search(q, ScanParams.topK(1).rows(new long[] {-1})));
        }
    }

    @Test
    void distancesFillTheBlock() {
        try (FloatMatrix db = db(); FloatMatrix q = FloatMatrix.of(new float[][] {{1, 0}, {0, 2}});
             ResidentMatrix ip = backend().upload(db, Metric.INNER_PRODUCT);
             ResidentMatrix l2 = backend().upload(db, Metric.L2);
             FloatMatrix out = FloatMatrix.allocate(2, 2)) {
            ip.distances(q, 1, 3, out);
            assertArrayEquals(new float[] {0, 1}, out.getRow(0));
            assertArrayEquals(new float[] {2, 2}, out.getRow(1));
            l2.distances(q, 2, 4, out);
            assertArrayEquals(new float[] {1, 1}, out.getRow(0));
            assertArrayEquals(new float[] {2, 8}, out.getRow(1));
            assertThrows(IllegalArgumentException.class, () -> ip.distances(q, 0, 3, out));
            assertThrows(IllegalArgumentException.class, () -> ip.distances(q, 3, 5, out));
        }
    }

    @Test
    void emptyDatabaseAndEmptyQueryBlock() {
        for (Metric m : Metric.values()) {
            try (FloatMatrix empty = FloatMatrix.allocate(0, 2); FloatMatrix q = q10(); FloatMatrix db = db();
                 ResidentMatrix p = backend().upload(empty, m); ResidentMatrix full = backend().upload(db, m)) {
                Neighbors n = p.search(q, 5);
                assertEquals(1, n.queries());
                assertEquals(0, n.count());
                Neighbors none = full.search(empty, 5);
                assertEquals(0, none.queries());
                assertEquals(4, none.count());
            }
        }
    }

    @Test
    void useAfterCloseThrows() {
        try (FloatMatrix db = db(); FloatMatrix q = q10()) {
            ResidentMatrix p = backend().upload(db, Metric.L2);
            p.close();
            p.close();
            assertThrows(IllegalStateException.class, () -> p.search(q, 1));
        }
    }

    // ---------------------------------------------------------------- the wider Backend

    private static final long SEED = Reference.seed();

    /** Small integers in [-2, 2] (exact scores: real ties) with every row non-zero. */
    private static FloatMatrix ints(long rows, int d, Random rnd) {
        return Reference.integers(rows, d, rnd);
    }

    /** The exact best {@code k} of {@code candidates} for one query: by score, ties to the lower row. */
    private static long[] bestRows(Metric m, float[] q, float[][] rows, long[] candidates, int k) {
        Long[] c = new Long[candidates.length];
        for (int i = 0; i < c.length; i++) {
            c[i] = candidates[i];
        }
        java.util.Arrays.sort(c, (a, b) -> {
            double sa = Reference.exact(m, q, rows[(int) (long) a]);
            double sb = Reference.exact(m, q, rows[(int) (long) b]);
            int byScore = m.higherIsNearer() ? Double.compare(sb, sa) : Double.compare(sa, sb);
            return byScore != 0 ? byScore : Long.compare(a, b);
        });
        long[] out = new long[Math.min(k, c.length)];
        for (int i = 0; i < out.length; i++) {
            out[i] = c[i];
        }
        return out;
    }

    private static long[] all(long n) {
        long[] r = new long[(int) n];
        for (int i = 0; i < r.length; i++) {
            r[i] = i;
        }
        return r;
    }

    @Test
    void extendCopiesOnlyNewRowsAndSearchesLikeAFreshUpload() {
        Random rnd = new Random(SEED);
        for (Metric m : Metric.values()) {
            for (int[] shape : new int[][] {{1, 6, 3}, {7, 993, 5}, {1000, 3097, 7}}) {
                String ctx = m + " " + java.util.Arrays.toString(shape) + " seed " + SEED;
                int first = shape[0];
                int total = shape[0] + shape[1];
                int d = shape[2];
                try (FloatMatrix rows = ints(total, d, rnd); FloatMatrix q = ints(9, d, rnd);
                     FloatMatrix head = rows.rowsView(0, first);
                     ResidentMatrix grown = backend().upload(head, m);
                     ResidentMatrix fresh = backend().upload(rows, m)) {
                    grown.extend(rows.rowsView(0, first + shape[1] / 2));
                    grown.extend(rows);
                    assertEquals(total, grown.rows(), ctx);
                    Neighbors a = grown.search(q, 50);
                    Neighbors b = fresh.search(q, 50);
                    Reference.assertSameIds(ctx, a, b);
                    // A bad new row is named at its place in the whole matrix, and nothing changes.
                    try (FloatMatrix bigger = FloatMatrix.allocate(total + 2, d)) {
                        bigger.setRows(0, rows.copyRows(0, total));
                        float[] bad = new float[d];
                        bad[d - 1] = Float.NaN;
                        bigger.setRow(total + 1, bad);
                        bigger.setRow(total, rows.getRow(0));
                        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> grown.extend(bigger));
                        assertTrue(e.getMessage().contains("row " + (total + 1)), ctx + ": " + e.getMessage());
                    }
                    assertEquals(total, grown.rows(), ctx);
                    Reference.assertSameIds(ctx + " after a refused extend", grown.search(q, 50), b);
                }
            }
        }
    }

    @Test
    void candidateListsGiveTheExactBestOfEachList() {
        Random rnd = new Random(SEED + 1);
        for (Metric m : Metric.values()) {
            int n = 3000;
            int d = 7;
            int nq = 13;
            try (FloatMatrix rows = ints(n, d, rnd); FloatMatrix q = ints(nq, d, rnd);
                 ResidentMatrix p = backend().upload(rows, m)) {
                float[][] x = rows.toArray();
                long[] offsets = new long[nq + 1];
                java.util.List<Long> flat = new java.util.ArrayList<>();
                for (int i = 0; i < nq; i++) {
                    int len = i == 4 ? 0 : i == 7 ? 2500 : rnd.nextInt(120); // one list longer than the largest bucket
                    java.util.TreeSet<Long> picked = new java.util.TreeSet<>();
                    while (picked.size() < len) {
                        picked.add((long) rnd.nextInt(n));
                    }
                    flat.addAll(picked);
                    offsets[i + 1] = flat.size();
                }
                long[] lists = flat.stream().mapToLong(Long::longValue).toArray();
                for (int k : new int[] {1, 10, 200, 2100}) {
                    String ctx = m + " k=" + k + " seed " + SEED;
                    Neighbors nb = p.search(q, ScanParams.topK(k).candidates(offsets, lists));
                    long longest = 0;
                    for (int i = 0; i < nq; i++) {
                        longest = Math.max(longest, offsets[i + 1] - offsets[i]);
                    }
                    assertEquals(Math.min(k, longest), nb.count(), ctx);
                    for (int i = 0; i < nq; i++) {
                        long[] want = bestRows(m, q.getRow(i), x,
                                java.util.Arrays.copyOfRange(lists, (int) offsets[i], (int) offsets[i + 1]), k);
                        for (int r = 0; r < nb.count(); r++) {
                            if (r < want.length) {
                                double wantScore = Reference.exact(m, q.getRow(i), x[(int) want[r]]);
                                if (m == Metric.COSINE) {
                                    // Equal cosines of different integer vectors need not stay equal in float32:
                                    // the row may differ, its exact score may not.
                                    assertEquals(wantScore, Reference.exact(m, q.getRow(i), x[(int) nb.id(i, r)]), 1e-6,
                                            ctx + " query " + i + " rank " + r);
                                } else {
                                    assertEquals(want[r], nb.id(i, r), ctx + " query " + i + " rank " + r);
                                }
                                assertEquals(wantScore, nb.score(i, r), Reference.tol(m, q.getRow(i), x[(int) want[r]]), ctx);
                            } else {
                                assertEquals(-1, nb.id(i, r), ctx + " padding");
                                assertTrue(Float.isNaN(nb.score(i, r)), ctx + " padding");
                            }
                        }
                    }
                }
                // Lists that are not strictly ascending, or wrongly sized, are refused.
                assertThrows(IllegalArgumentException.class,
                        () -> p.search(q, ScanParams.topK(3).candidates(new long[] {0, 2}, new long[] {5, 4})));
                assertThrows(IllegalArgumentException.class,
                        () -> p.search(q, ScanParams.topK(3).candidates(new long[] {0, 1}, new long[] {5})));
            }
        }
    }

    @Test
    void rangeReturnsExactlyTheRowsWithinTheRadiusBestFirst() {
        Random rnd = new Random(SEED + 2);
        for (Metric m : new Metric[] {Metric.INNER_PRODUCT, Metric.L2}) {
            for (int n : new int[] {1, 7, 4097}) {
                int d = 5;
                float radius = m == Metric.L2 ? 10.5f : 4.5f;
                try (FloatMatrix rows = ints(n, d, rnd); FloatMatrix q = ints(11, d, rnd);
                     ResidentMatrix p = backend().upload(rows, m)) {
                    float[][] x = rows.toArray();
                    for (long[] subset : new long[][] {null, java.util.stream.LongStream.range(0, n).filter(r -> r % 3 == 1).toArray()}) {
                        String ctx = m + " n=" + n + (subset == null ? "" : " subset") + " seed " + SEED;
                        ScanParams params = subset == null ? ScanParams.within(radius)
                                : ScanParams.within(radius).rows(subset);
                        RangeHits hits = p.range(q, params);
                        long expected = 0;
                        for (int i = 0; i < q.rows(); i++) {
                            long[] cands = subset == null ? all(n) : subset;
                            java.util.List<Long> within = new java.util.ArrayList<>();
                            for (long r : cands) {
                                double e = Reference.exact(m, q.getRow(i), x[(int) r]);
                                if (m.higherIsNearer() ? e >= radius : e <= radius) {
                                    within.add(r);
                                }
                            }
                            long[] want = bestRows(m, q.getRow(i), x, within.stream().mapToLong(Long::longValue).toArray(),
                                    Integer.MAX_VALUE);
                            expected += want.length;
                            assertEquals(want.length, hits.count(i), ctx + " query " + i);
                            for (int j = 0; j < want.length; j++) {
                                assertEquals(want[j], hits.rows()[(int) hits.offset(i) + j], ctx + " query " + i + " hit " + j);
                                assertEquals((float) Reference.exact(m, q.getRow(i), x[(int) want[j]]),
                                        hits.scores()[(int) hits.offset(i) + j], 0f, ctx);
                            }
                        }
                        if (expected > 0) {
                            long limit = expected - 1;
                            TooManyResultsException e = assertThrows(TooManyResultsException.class,
                                    () -> p.range(q, params.maxResults(limit)));
                            assertEquals(limit, e.limit(), ctx);
                            assertEquals(expected, p.range(q, params.maxResults(expected)).total(), ctx);
                        }
                    }
                }
            }
        }
    }

    @Test
    void assignFindsTheNearestTargetTiesToTheLowerRow() {
        Random rnd = new Random(SEED + 3);
        for (Metric m : Metric.values()) {
            for (int[] shape : new int[][] {{1, 1}, {7, 3}, {1000, 17}, {4097, 64}}) {
                String ctx = m + " " + java.util.Arrays.toString(shape) + " seed " + SEED;
                int d = 6;
                try (FloatMatrix points = ints(shape[0], d, rnd); FloatMatrix targets = ints(shape[1], d, rnd);
                     ResidentMatrix p = backend().upload(points, m); ResidentMatrix t = backend().upload(targets, m)) {
                    Assignment a = backend().assign(p, t);
                    float[][] c = targets.toArray();
                    for (int i = 0; i < shape[0]; i++) {
                        long[] best = bestRows(m, points.getRow(i), c, all(shape[1]), 1);
                        double want = Reference.exact(m, points.getRow(i), c[(int) best[0]]);
                        if (m == Metric.COSINE) {
                            // Exact cosine ties need not survive float32 rounding: the nearest up to tolerance.
                            assertEquals(want, Reference.exact(m, points.getRow(i), c[a.label(i)]), 1e-6, ctx + " point " + i);
                        } else {
                            assertEquals(best[0], a.label(i), ctx + " point " + i);
                        }
                        assertEquals(want, a.score(i), Reference.tol(m, points.getRow(i), c[a.label(i)]), ctx);
                    }
                }
            }
        }
        try (FloatMatrix x = FloatMatrix.of(new float[][] {{1, 0}}); FloatMatrix y = FloatMatrix.of(new float[][] {{1, 0, 0}});
             ResidentMatrix p = backend().upload(x, Metric.L2); ResidentMatrix wrongDim = backend().upload(y, Metric.L2);
             ResidentMatrix wrongMetric = backend().upload(x, Metric.INNER_PRODUCT)) {
            assertThrows(IllegalArgumentException.class, () -> backend().assign(p, wrongDim));
            assertThrows(IllegalArgumentException.class, () -> backend().assign(p, wrongMetric));
        }
    }

    @Test
    void accumulateSumsEachLabelsRowsExactlyAndDeterministically() {
        Random rnd = new Random(SEED + 4);
        for (int[] shape : new int[][] {{1, 1, 1}, {7, 3, 5}, {1000, 37, 7}, {4097, 5, 300}}) {
            String ctx = java.util.Arrays.toString(shape) + " seed " + SEED;
            int n = shape[0];
            int d = shape[1];
            int k = shape[2];
            try (FloatMatrix points = Reference.gaussian(n, d, rnd); ResidentMatrix p = backend().upload(points, Metric.L2)) {
                int[] labels = new int[n];
                for (int i = 0; i < n; i++) {
                    labels[i] = rnd.nextInt(k + 1) - 1;
                }
                LabelSums s = backend().accumulate(p, labels, k);
                LabelSums again = backend().accumulate(p, labels, k);
                assertArrayEquals(s.sums(), again.sums(), ctx + ": repeated calls differ");
                double[] want = new double[k * d];
                long[] counts = new long[k];
                double[] mag = new double[k * d];
                for (int i = 0; i < n; i++) {
                    if (labels[i] < 0) {
                        continue;
                    }
                    counts[labels[i]]++;
                    float[] row = points.getRow(i);
                    for (int c = 0; c < d; c++) {
                        want[labels[i] * d + c] += row[c];
                        mag[labels[i] * d + c] += Math.abs(row[c]);
                    }
                }
                assertArrayEquals(counts, s.counts(), ctx);
                for (int j = 0; j < want.length; j++) {
                    // Float64 sums in row order: equal to the reference up to float64 rounding.
                    assertEquals(want[j], s.sums()[j], 1e-12 * (1 + mag[j]), ctx + " entry " + j);
                }
            }
        }
        try (FloatMatrix x = FloatMatrix.of(new float[][] {{1, 0}}); ResidentMatrix p = backend().upload(x, Metric.L2)) {
            assertThrows(IllegalArgumentException.class, () -> backend().accumulate(p, new int[] {2}, 2));
            assertThrows(IllegalArgumentException.class, () -> backend().accumulate(p, new int[] {0, 0}, 2));
        }
    }

    @Test
    void gramAndScatterMatchFloat64() {
        Random rnd = new Random(SEED + 5);
        for (int[] shape : new int[][] {{1, 1}, {7, 3}, {1000, 33}, {4097, 7}}) {
            int n = shape[0];
            int d = shape[1];
            try (FloatMatrix points = Reference.gaussian(n, d, rnd); ResidentMatrix p = backend().upload(points, Metric.L2)) {
                float[][] x = points.toArray();
                double[] mean = new double[d];
                for (float[] row : x) {
                    for (int c = 0; c < d; c++) {
                        mean[c] += row[c] / (double) n;
                    }
                }
                for (double[] centre : new double[][] {null, mean}) {
                    String ctx = java.util.Arrays.toString(shape) + (centre == null ? " gram" : " scatter") + " seed " + SEED;
                    double[] g = backend().gram(p, centre);
                    assertEquals(d * d, g.length, ctx);
                    for (int a = 0; a < d; a++) {
                        for (int b = 0; b < d; b++) {
                            double e = 0;
                            double mag = 0;
                            for (float[] row : x) {
                                double va = row[a] - (centre == null ? 0 : centre[a]);
                                double vb = row[b] - (centre == null ? 0 : centre[b]);
                                e += va * vb;
                                mag += Math.abs(va * vb);
                            }
                            assertEquals(e, g[a * d + b], Reference.REL * mag + 1e-12, ctx + " entry (" + a + ", " + b + ")");
                            assertEquals(g[a * d + b], g[b * d + a], 0.0, ctx + " symmetric");
                        }
                    }
                }
            }
        }
    }

    /**
     * Removals as VectorSet makes them (the last row moved into each hole), patched with refresh: every
     * answer equals a fresh upload of the rows as they are now (small integers: exact ties, lower row first).
     */
    @Test
    void refreshAfterRemovalsAnswersAsAFreshUpload() {
        java.util.Random rnd = new java.util.Random(20261126);
        for (Metric metric : Metric.values()) {
            int n = 300;
            int d = 6;
            float[][] rows = new float[n][d];
            for (float[] row : rows) {
                for (int c = 0; c < d; c++) {
                    row[c] = rnd.nextInt(5) - 2;
                }
                row[rnd.nextInt(d)] = 3;   // never all zero (cosine)
            }
            float[][] queries = new float[7][d];
            for (float[] q : queries) {
                for (int c = 0; c < d; c++) {
                    q[c] = rnd.nextInt(5) - 2;
                }
                q[0] = 1;
            }
            try (FloatMatrix all = FloatMatrix.of(rows); FloatMatrix q = FloatMatrix.of(queries);
                 ResidentMatrix m = backend().upload(all, metric)) {
                java.util.BitSet holes = new java.util.BitSet();
                int size = n;
                for (int i = 0; i < 25; i++) {
                    int r = rnd.nextInt(size);
                    if (r != size - 1) {
                        all.setRow(r, all.getRow(size - 1));
                        holes.set(r);
                    }
                    size--;
                }
                final int kept = size;
                long[] changed = holes.stream().filter(r -> r < kept).asLongStream().toArray();
                try (FloatMatrix now = all.rowsView(0, size)) {
                    assertTrue(m.refresh(now, changed), metric + ": refresh refused");
                    assertEquals(size, m.rows());
                    try (ResidentMatrix fresh = backend().upload(now, metric)) {
                        for (int k : new int[] {1, 10, 400}) {
                            Neighbors got = m.search(q, k);
                            Neighbors want = fresh.search(q, k);
                            for (int i = 0; i < queries.length; i++) {
                                assertArrayEquals(want.ids(i), got.ids(i), metric + " k=" + k + " query " + i);
                                assertArrayEquals(want.scores(i), got.scores(i), 0f, metric + " k=" + k + " query " + i);
                            }
                        }
                    }
                    assertThrows(IllegalArgumentException.class, () -> m.refresh(now, new long[] {5, 3}));
                    assertThrows(IllegalArgumentException.class, () -> m.refresh(all, new long[0]),
                            "more rows than resident");
                }
            }
        }
    }
}
