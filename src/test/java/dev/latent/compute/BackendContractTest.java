package dev.latent.compute;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
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
                assertThrows(IllegalArgumentException.class, () -> p.search(q, SearchParams.topK(k).rows(new long[] {0})));
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
            Neighbors n = p.search(q, SearchParams.topK(10).rows(new long[] {1, 2}));
            assertArrayEquals(new long[] {2, 1}, n.ids(0));
            assertArrayEquals(new float[] {1, 0}, n.scores(0));
            assertEquals(0, p.search(q, SearchParams.topK(3).rows(new long[0])).count());
            assertThrows(IllegalArgumentException.class, () -> p.search(q, SearchParams.topK(1).rows(new long[] {2, 1})));
            assertThrows(IllegalArgumentException.class, () -> p.search(q, SearchParams.topK(1).rows(new long[] {1, 1})));
            assertThrows(IllegalArgumentException.class, () -> p.search(q, SearchParams.topK(1).rows(new long[] {4})));
            assertThrows(IllegalArgumentException.class, () -> p.search(q, SearchParams.topK(1).rows(new long[] {-1})));
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
}
