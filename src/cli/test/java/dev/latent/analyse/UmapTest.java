package dev.latent.analyse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.compute.Backend;
import dev.latent.compute.BackendUnavailableException;
import dev.latent.compute.Backends;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import java.util.Arrays;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * UMAP on planted structure (blobs must stay apart in the layout), its determinism, its pieces against
 * their definitions (smooth k-NN sums, the fuzzy union, the fitted curve) and its input errors. Random
 * inputs come from a fresh seed, printed in every failure message ({@code -Dlatent.test.seed=S} repeats one).
 */
class UmapTest {
    private static final long SEED = seed();

    static long seed() {
        String s = System.getProperty("latent.test.seed");
        return s != null ? Long.parseLong(s) : new Random().nextLong();
    }

    /** The native CPU backend when it loads (it must, in this build), for speed; the tests hold on any. */
    static Backend backend() {
        try {
            return Backends.cpu();
        } catch (BackendUnavailableException e) {
            throw new AssertionError("the native CPU backend must load in this build: " + e.getMessage(), e);
        }
    }

    @Test
    void gaussianBlobsStayApart() {
        Planted p = Planted.blobs(SEED, 5, 200, 50, 1.0);
        try (p.points; UmapResult r = Umap.of().seed(SEED).backend(backend()).fit(p.points, Metric.L2)) {
            assertEquals(1000, r.points());
            assertEquals(2, r.components());
            double accuracy = leaveOneOutAccuracy(r.layoutArray(), 2, p.truth, 5);
            assertTrue(accuracy >= 0.95, "5-NN accuracy on the layout " + accuracy + " seed=" + SEED);
            assertEquals(500, r.epochs());
            assertEquals(15, r.neighbors());
            assertEquals("cpu", r.backend());
            for (float v : r.layoutArray()) {
                assertTrue(Float.isFinite(v), "layout is finite, seed=" + SEED);
            }
        }
    }

    @Test
    void directionsOnTheSphereStayApartUnderCosine() {
        Planted p = Planted.sphere(SEED, 6, 150, 32, 0.15);
        try (p.points; UmapResult r = Umap.of().seed(SEED).neighbors(10).backend(backend())
                .fit(p.points, Metric.COSINE)) {
            double accuracy = leaveOneOutAccuracy(r.layoutArray(), 2, p.truth, 5);
            assertTrue(accuracy >= 0.95, "5-NN accuracy on the layout " + accuracy + " seed=" + SEED);
        }
    }

    @Test
    void threeComponentsAndRandomStartWork() {
        Planted p = Planted.blobs(SEED, 4, 100, 20, 1.0);
        try (p.points; UmapResult r = Umap.of().components(3).init(Umap.Init.RANDOM).epochs(200).seed(SEED)
                .backend(backend()).fit(p.points, Metric.L2)) {
            assertEquals(3, r.components());
            double accuracy = leaveOneOutAccuracy(r.layoutArray(), 3, p.truth, 5);
            assertTrue(accuracy >= 0.95, "5-NN accuracy on the 3-D layout " + accuracy + " seed=" + SEED);
        }
    }

    /** Leave-one-out k-NN classification of the layout's points by their planted labels (float64, brute force). */
    static double leaveOneOutAccuracy(float[] y, int m, int[] truth, int k) {
        int n = truth.length;
        int labels = Arrays.stream(truth).max().getAsInt() + 1;
        int right = 0;
        double[] dist = new double[n];
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int c = 0; c < m; c++) {
                    double t = (double) y[i * m + c] - y[j * m + c];
                    s += t * t;
                }
                dist[j] = j == i ? Double.POSITIVE_INFINITY : s;
                order[j] = j;
            }
            Arrays.sort(order, (a, b) -> Double.compare(dist[a], dist[b]));
            int[] votes = new int[labels];
            for (int r = 0; r < k; r++) {
                votes[truth[order[r]]]++;
            }
            int best = 0;
            for (int l = 1; l < labels; l++) {
                if (votes[l] > votes[best]) {
                    best = l;
                }
            }
            right += best == truth[i] ? 1 : 0;
        }
        return right / (double) n;
    }

    @Test
    void aFixedSeedGivesAnIdenticalLayout() {
        Planted p = Planted.blobs(SEED, 4, 150, 16, 3.0);
        Umap umap = Umap.of().backend(backend());
        try (p.points; UmapResult a = umap.seed(7).fit(p.points, Metric.L2);
                UmapResult b = umap.seed(7).fit(p.points, Metric.L2);
                UmapResult c = umap.seed(8).fit(p.points, Metric.L2)) {
            assertArrayEquals(a.layoutArray(), b.layoutArray(), "seed=" + SEED);
            assertFalse(Arrays.equals(a.layoutArray(), c.layoutArray()), "another seed, another layout; seed=" + SEED);
        }
    }

    @Test
    void theGraphIsASymmetricFuzzyUnion() {
        Planted p = Planted.blobs(SEED, 3, 100, 8, 2.0);
        int k = 12;
        try (p.points; UmapResult r = Umap.of().neighbors(k).epochs(10).backend(backend()).fit(p.points, Metric.L2)) {
            UmapGraph g = r.graph();
            assertEquals(300, g.points());
            for (int i = 0; i < g.points(); i++) {
                float max = 0;
                assertTrue(g.degree(i) >= k, "point " + i + " keeps its k neighbours; seed=" + SEED);
                for (int e = g.offsets()[i]; e < g.offsets()[i + 1]; e++) {
                    int j = g.columns()[e];
                    float w = g.weights()[e];
                    assertTrue(j != i, "no self loops");
                    assertTrue(e == g.offsets()[i] || g.columns()[e - 1] < j, "columns ascend");
                    assertTrue(w > 0 && w <= 1, "weight " + w);
                    assertEquals(w, g.weight(j, i), "symmetric at " + i + ", " + j + "; seed=" + SEED);
                    max = Math.max(max, w);
                }
                // The nearest neighbour is at rho: membership 1 in i's own set, so 1 in the union.
                assertEquals(1f, max, "strongest edge of point " + i + "; seed=" + SEED);
            }
        }
    }

    @Test
    void fuzzyUnionIsAPlusATransposeMinusTheirProduct() {
        // Three points, k = 2, hand-made distances: every membership known.
        int[] rows = {1, 2, 0, 2, 1, 0};
        float[] dist = {1f, 2f, 1f, 3f, 1.5f, 2f};
        double[] w = FuzzySimplicialSet.memberships(3, 2, dist);
        UmapGraph g = FuzzySimplicialSet.union(3, 2, rows, dist);
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                if (i == j) {
                    continue;
                }
                double a = directed(rows, w, 2, i, j);
                double b = directed(rows, w, 2, j, i);
                assertEquals((float) (a + b - a * b), g.weight(i, j), 1e-7, i + " -> " + j);
            }
        }
        assertEquals(6, g.entries());
    }

    private static double directed(int[] rows, double[] w, int k, int i, int j) {
        for (int e = i * k; e < (i + 1) * k; e++) {
            if (rows[e] == j) {
                return w[e];
            }
        }
        return 0;
    }

    @Test
    void smoothKnnDistancesHitLog2OfKPlusOne() {
        SplittableRandom r = new SplittableRandom(SEED);
        int n = 200;
        for (int k : new int[] {3, 15, 50}) {
            float[] dist = new float[n * k];
            for (int i = 0; i < n; i++) {
                double scale = Math.exp(r.nextDouble(-5, 5)); // densities over four orders of magnitude
                double v = 0;
                for (int j = 0; j < k; j++) {
                    v += r.nextDouble() * scale;
                    dist[i * k + j] = (float) v;
                }
            }
            double[] w = FuzzySimplicialSet.memberships(n, k, dist);
            double target = Math.log(k + 1) / Math.log(2);
            for (int i = 0; i < n; i++) {
                double s = 0;
                for (int j = 0; j < k; j++) {
                    s += w[i * k + j];
                }
                assertEquals(target, s, 1e-4, "row " + i + " k=" + k + " seed=" + SEED);
                assertEquals(1.0, w[i * k], 0.0, "the nearest neighbour has membership 1");
            }
        }
    }

    @Test
    void theCurveMatchesUmapLearnsFit() {
        Umap.Curve c = Umap.curve(0.1, 1.0);
        // umap-learn 0.5 find_ab_params(1.0, 0.1): 1.5769434603113077, 0.8950608779109733
        assertEquals(1.5769434603113077, c.a(), 1e-4);
        assertEquals(0.8950608779109733, c.b(), 1e-4);
        // Other settings: a least-squares minimum (no small step lowers the error).
        for (double[] setting : new double[][] {{0.0, 1.0}, {0.5, 1.0}, {0.25, 2.0}, {0.001, 0.5}, {1.0, 1.0}}) {
            Umap.Curve f = Umap.curve(setting[0], setting[1]);
            double best = sse(f.a(), f.b(), setting[0], setting[1]);
            for (double da : new double[] {-1e-3, 0, 1e-3}) {
                for (double db : new double[] {-1e-3, 0, 1e-3}) {
                    double e = sse(f.a() * (1 + da), f.b() * (1 + db), setting[0], setting[1]);
                    assertTrue(e >= best * (1 - 1e-9), "min_dist " + setting[0] + " spread " + setting[1]
                            + ": a=" + f.a() + " b=" + f.b() + " is not a minimum");
                }
            }
            assertTrue(f.a() > 0 && f.b() > 0);
        }
        assertEquals(1.0 / (1.0 + c.a()), c.at(1.0), 1e-12);
    }

    private static double sse(double a, double b, double minDist, double spread) {
        double s = 0;
        for (int i = 0; i < 300; i++) {
            double x = spread * 3 * i / 299;
            double y = x < minDist ? 1 : Math.exp(-(x - minDist) / spread);
            double f = 1 / (1 + a * Math.pow(x, 2 * b));
            s += (f - y) * (f - y);
        }
        return s;
    }

    @Test
    void theFastPowerAgreesWithMathPow() {
        SplittableRandom r = new SplittableRandom(SEED);
        for (int t = 0; t < 200_000; t++) {
            double x = Math.exp(r.nextDouble(-60, 30));
            double b = r.nextDouble(0.3, 2.5);
            double want = Math.pow(x, b);
            assertEquals(want, UmapSgd.pow(x, b), 1e-12 * want, "x=" + x + " b=" + b);
        }
        for (double x : new double[] {1.0, 2.0, 0.5, Math.sqrt(2), Double.MIN_NORMAL, Double.MIN_VALUE, 1e300}) {
            double want = Math.pow(x, 0.8950608779109733);
            assertEquals(want, UmapSgd.pow(x, 0.8950608779109733), 1e-12 * want, "x=" + x);
        }
    }

    @Test
    void badInputIsNamed() {
        try (FloatMatrix few = FloatMatrix.of(new float[10 * 4], 4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Umap.of().neighbors(15).fit(few, Metric.L2));
            assertTrue(e.getMessage().contains("k = 15") && e.getMessage().contains("16 points")
                    && e.getMessage().contains("got 10"), e.getMessage());
        }
        Planted p = Planted.blobs(SEED, 2, 20, 4, 1.0);
        try (p.points) {
            p.points.set(7, 2, Float.NaN);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Umap.of().neighbors(5).backend(backend()).fit(p.points, Metric.L2));
            assertTrue(e.getMessage().contains("row 7") && e.getMessage().contains("NaN"), e.getMessage());
            p.points.set(7, 2, 0f);
            e = assertThrows(IllegalArgumentException.class,
                    () -> Umap.of().neighbors(5).components(5).fit(p.points, Metric.L2));
            assertTrue(e.getMessage().contains("components = 5") && e.getMessage().contains("d = 4"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> Umap.of().neighbors(5).minDist(2).fit(p.points, Metric.L2));
            assertTrue(e.getMessage().contains("minDist"), e.getMessage());
            float[] zero = new float[4];
            p.points.setRow(3, zero);
            e = assertThrows(IllegalArgumentException.class,
                    () -> Umap.of().neighbors(5).fit(p.points, Metric.COSINE));
            assertTrue(e.getMessage().contains("row 3") && e.getMessage().contains("zero"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Umap.of().components(0));
        assertThrows(IllegalArgumentException.class, () -> Umap.of().neighbors(0));
        assertThrows(IllegalArgumentException.class, () -> Umap.of().minDist(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> Umap.of().spread(0));
        assertThrows(IllegalArgumentException.class, () -> Umap.of().learningRate(-1));
        assertThrows(IllegalArgumentException.class, () -> Umap.Init.parse("spectral"));
        assertEquals(Umap.Init.PCA, Umap.Init.parse(" pca "));
    }

    @Test
    void duplicatesStayNeighboursAndTheLayoutStaysFinite() {
        // Every point three times: the duplicates are each other's nearest neighbours at distance 0.
        Planted p = Planted.blobs(SEED, 3, 40, 6, 1.0);
        int n = 120;
        float[] flat = new float[3 * n * 6];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < n; i++) {
                System.arraycopy(p.points.getRow(i), 0, flat, (c * n + i) * 6, 6);
            }
        }
        p.points.close();
        try (FloatMatrix x = FloatMatrix.of(flat, 6);
                UmapResult r = Umap.of().neighbors(5).epochs(100).backend(backend()).fit(x, Metric.L2)) {
            UmapGraph g = r.graph();
            for (int i = 0; i < n; i++) {
                assertEquals(1f, g.weight(i, i + n), "row " + i + " and its duplicate; seed=" + SEED);
            }
            for (float v : r.layoutArray()) {
                assertTrue(Float.isFinite(v), "seed=" + SEED);
            }
        }
    }

    @Test
    void fiveThousandPointsLayOutInSeconds() {
        Planted p = Planted.blobs(SEED, 10, 500, 64, 2.0);
        try (p.points; UmapResult r = Umap.of().seed(1).backend(backend()).fit(p.points, Metric.L2)) {
            System.out.printf("UMAP 5000 x 64: %.2f s (knn %.2f, graph %.2f, init %.2f, optimise %.2f), %d graph entries%n",
                    r.seconds(), r.knnSeconds(), r.graphSeconds(), r.initSeconds(), r.optimiseSeconds(),
                    r.graph().entries());
            // Generous: a few seconds on a 2-core machine; this catches a slip into quadratic work.
            assertTrue(r.seconds() < 60, "5000 points took " + r.seconds() + " s");
            double accuracy = leaveOneOutAccuracy(r.layoutArray(), 2, p.truth, 5);
            assertTrue(accuracy >= 0.95, "5-NN accuracy " + accuracy + " seed=" + SEED);
        }
    }
}
