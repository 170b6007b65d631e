package dev.latent.analyse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.latent.compute.Backend;
import dev.latent.compute.BackendUnavailableException;
import dev.latent.compute.Backends;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Trustworthiness against a brute-force float64 implementation of scikit-learn's definition, on the Java
 * reference backend, the native CPU backend and (when a device is present) CUDA, on inputs that reach every path: layouts close to the
 * data (candidate lists suffice), unrelated layouts (ranks from the full distance rows), integer data with
 * exact ties in both spaces (the full float64 scans), and n small enough that the candidates are everything.
 * Random inputs come from a fresh seed, printed in failure messages.
 */
class TrustworthinessTest {
    private static final long SEED = UmapTest.seed();

    /** Java and native CPU always; CUDA when a device is present (required with -Dlatent.test.requireBackend=cuda). */
    private static List<Backend> backends() {
        List<Backend> all = new ArrayList<>();
        all.add(Backends.java());
        all.add(UmapTest.backend());
        synchronized (TrustworthinessTest.class) {
            if (cuda == null && cudaUnavailable == null) {
                try {
                    cuda = Backends.cuda();
                } catch (BackendUnavailableException e) {
                    cudaUnavailable = e.getMessage();
                }
            }
        }
        if (cuda != null) {
            all.add(cuda);
        } else if ("cuda".equals(System.getProperty("latent.test.requireBackend"))) {
            fail("CUDA is required (-Dlatent.test.requireBackend=cuda) but unavailable: " + cudaUnavailable);
        }
        return all;
    }

    private static Backend cuda;
    private static String cudaUnavailable;

    @Test
    void matchesBruteForceOnRandomData() {
        Random rnd = new Random(SEED);
        for (Backend be : backends()) {
            for (Metric metric : new Metric[] {Metric.L2, Metric.COSINE}) {
                for (int n : new int[] {40, 257, 700}) {
                    int d = 1 + rnd.nextInt(24);
                    float[] x = gaussian(rnd, n, d, 0);
                    for (int kind = 0; kind < 2; kind++) {
                        // kind 0: a noisy projection of the data (a good layout); kind 1: unrelated points.
                        int m = 1 + rnd.nextInt(3);
                        float[] y = kind == 0 ? projection(rnd, x, n, d, m, 0.3) : gaussian(rnd, n, m, 0);
                        for (int k : new int[] {1, 5, 12, n / 2 - 1}) {
                            check(be, metric, x, d, y, m, n, k, "n=" + n + " d=" + d + " m=" + m + " kind=" + kind);
                        }
                    }
                }
            }
        }
    }

    @Test
    void matchesBruteForceWithExactTies() {
        Random rnd = new Random(SEED ^ 1);
        for (Backend be : backends()) {
            for (Metric metric : new Metric[] {Metric.L2, Metric.COSINE}) {
                int n = 400;
                int d = 3;
                float[] x = integers(rnd, n, d, 3);   // many identical rows and distances
                float[] y = integers(rnd, n, 2, 4);
                for (int k : new int[] {1, 7, 30}) {
                    check(be, metric, x, d, y, 2, n, k, "ties n=" + n);
                }
            }
        }
    }

    @Test
    void anIdentityLayoutIsFullyTrustworthy() {
        Random rnd = new Random(SEED);
        for (Backend be : backends()) {
            int n = 500;
            int d = 7;
            float[] x = gaussian(rnd, n, d, 0);
            try (FloatMatrix a = FloatMatrix.of(x, d); FloatMatrix b = FloatMatrix.of(x.clone(), d)) {
                for (int k : new int[] {1, 10, 100}) {
                    assertEquals(1.0, Trustworthiness.of(a, Metric.L2, b, k, be), 0.0, "k=" + k + " seed=" + SEED);
                }
            }
        }
    }

    @Test
    void badInputIsNamed() {
        try (FloatMatrix a = FloatMatrix.of(new float[20 * 3], 3); FloatMatrix b = FloatMatrix.of(new float[19 * 2], 2);
                FloatMatrix c = FloatMatrix.of(new float[20 * 2], 2)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Trustworthiness.of(a, Metric.L2, b, 3));
            assertTrue(e.getMessage().contains("19") && e.getMessage().contains("20"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Trustworthiness.of(a, Metric.L2, c, 10));
            assertTrue(e.getMessage().contains("k = 10") && e.getMessage().contains("n / 2"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Trustworthiness.of(a, Metric.L2, c, 0));
            c.set(4, 1, Float.POSITIVE_INFINITY);
            e = assertThrows(IllegalArgumentException.class, () -> Trustworthiness.of(a, Metric.L2, c, 3));
            assertTrue(e.getMessage().contains("layout row 4"), e.getMessage());
        }
    }

    private static void check(Backend be, Metric metric, float[] x, int d, float[] y, int m, int n, int k, String config) {
        if (k < 1 || !(k < n / 2.0)) {
            return;
        }
        double want = bruteForce(x, d, y, m, n, k, metric);
        try (FloatMatrix a = FloatMatrix.of(x, d); FloatMatrix b = FloatMatrix.of(y, m)) {
            double got = Trustworthiness.of(a, metric, b, k, be);
            assertEquals(want, got, 1e-9, config + " k=" + k + " " + metric + " " + be.name() + " seed=" + SEED);
        }
    }

    /** scikit-learn's definition in float64, O(n² log n): full ranks in both spaces, ties to the lower row. */
    static double bruteForce(float[] x, int d, float[] y, int m, int n, int k, Metric metric) {
        long penalty = 0;
        Integer[] order = new Integer[n];
        double[] high = new double[n];
        double[] low = new double[n];
        int[] rank = new int[n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                high[j] = distance(x, d, i, j, metric);
                low[j] = distance(y, m, i, j, Metric.L2);
            }
            sortOthers(order, high, i, n);
            for (int r = 0; r < n - 1; r++) {
                rank[order[r]] = r + 1;
            }
            sortOthers(order, low, i, n);
            for (int r = 0; r < k; r++) {
                penalty += Math.max(0, rank[order[r]] - k);
            }
        }
        return 1.0 - penalty * (2.0 / ((double) n * k * (2.0 * n - 3.0 * k - 1.0)));
    }

    /** The other points of i by distance, then row; i itself last. */
    private static void sortOthers(Integer[] order, double[] dist, int i, int n) {
        for (int j = 0; j < n; j++) {
            order[j] = j;
        }
        Arrays.sort(order, (a, b) -> {
            if (a == i || b == i) {
                return a == i ? (b == i ? 0 : 1) : -1;
            }
            int c = Double.compare(dist[a], dist[b]);
            return c != 0 ? c : Integer.compare(a, b);
        });
    }

    private static double distance(float[] v, int d, int i, int j, Metric metric) {
        double dot = 0;
        double ii = 0;
        double jj = 0;
        double l2 = 0;
        for (int c = 0; c < d; c++) {
            double a = v[i * d + c];
            double b = v[j * d + c];
            dot += a * b;
            ii += a * a;
            jj += b * b;
            l2 += (a - b) * (a - b);
        }
        return metric == Metric.L2 ? l2 : 1.0 - dot / (Math.sqrt(ii) * Math.sqrt(jj));
    }

    private static float[] gaussian(Random rnd, int n, int d, double shift) {
        float[] v = new float[n * d];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rnd.nextGaussian() + shift);
        }
        return v;
    }

    /** The first m coordinates of x plus noise of standard deviation {@code noise}. */
    private static float[] projection(Random rnd, float[] x, int n, int d, int m, double noise) {
        float[] y = new float[n * m];
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < m; c++) {
                y[i * m + c] = (float) ((c < d ? x[i * d + c] : 0) + noise * rnd.nextGaussian());
            }
        }
        return y;
    }

    /** Small integers in [-r, r], no zero rows (cosine stays defined). */
    private static float[] integers(Random rnd, int n, int d, int r) {
        float[] v = new float[n * d];
        for (int i = 0; i < n; i++) {
            boolean zero = true;
            for (int c = 0; c < d; c++) {
                v[i * d + c] = rnd.nextInt(2 * r + 1) - r;
                zero &= v[i * d + c] == 0;
            }
            if (zero) {
                v[i * d] = 1;
            }
        }
        return v;
    }
}
