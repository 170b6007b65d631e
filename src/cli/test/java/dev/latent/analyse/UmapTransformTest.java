package dev.latent.analyse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link Umap#transform}: new points placed on a fixed layout. Planted structure with a known local geometry: a
 * noisy 2-D sheet (uniform square) embedded in 24 dimensions by a random linear map, so high-dimensional
 * neighbours are neighbours on the sheet, and Gaussian blobs whose labels are known.
 */
class UmapTransformTest {
    /** {@code n} points of a uniform square [0, 10]² mapped linearly into {@code d} dimensions, with noise. */
    static FloatMatrix sheet(long seed, int n, int d, double noise) {
        SplittableRandom r = new SplittableRandom(seed);
        double[][] map = new double[2][d];
        for (double[] row : map) {
            for (int j = 0; j < d; j++) {
                row[j] = Planted.gaussian(r);
            }
        }
        float[] flat = new float[n * d];
        for (int i = 0; i < n; i++) {
            double u = r.nextDouble(0, 10);
            double v = r.nextDouble(0, 10);
            for (int j = 0; j < d; j++) {
                flat[i * d + j] = (float) (u * map[0][j] + v * map[1][j] + noise * Planted.gaussian(r));
            }
        }
        return FloatMatrix.of(flat, d);
    }

    @Test
    void aPointOfTheDataLandsAmongItsNeighboursPositions() {
        int n = 701;
        int k = 15;
        try (FloatMatrix x = sheet(3, n, 24, 0.05);
             UmapResult fit = Umap.of().neighbors(k).seed(5).backend(UmapTest.backend()).fit(x, Metric.L2)) {
            float[] layout = fit.layoutArray();
            int[] rows = {0, 17, 101, 333, 350, 499, 640, 700};
            float[][] data = new float[rows.length][];
            for (int i = 0; i < rows.length; i++) {
                data[i] = x.getRow(rows[i]);
            }
            try (FloatMatrix pts = FloatMatrix.of(data);
                 FloatMatrix placed = Umap.of().neighbors(k).seed(5).backend(UmapTest.backend())
                         .transform(x, fit.layout(), pts, Metric.L2)) {
                assertEquals(rows.length, placed.rows());
                assertEquals(2, placed.cols());
                for (int i = 0; i < rows.length; i++) {
                    int[] nb = nearest(x, x.getRow(rows[i]), k, rows[i]);
                    double mx = 0;
                    double my = 0;
                    for (int j : nb) {
                        mx += layout[2 * j] / (double) k;
                        my += layout[2 * j + 1] / (double) k;
                    }
                    double[] spread = new double[k];
                    for (int c = 0; c < k; c++) {
                        spread[c] = Math.hypot(layout[2 * nb[c]] - mx, layout[2 * nb[c] + 1] - my);
                    }
                    Arrays.sort(spread);
                    float[] p = placed.getRow(i);
                    double off = Math.hypot(p[0] - mx, p[1] - my);
                    // Inside the cloud of its neighbours: no farther from their centre than most of them are.
                    assertTrue(off <= spread[(int) (0.8 * k)], String.format(Locale.ROOT,
                            "row %d placed %.3f from its %d neighbours' centre; 80%% of them lie within %.3f",
                            rows[i], off, k, spread[(int) (0.8 * k)]));
                }
            }
        }
    }

    @Test
    void heldOutPointsKeepTheirNeighbourhoods() {
        int n = 901;
        int held = 151;
        try (FloatMatrix all = sheet(11, n, 24, 0.05);
             FloatMatrix ref = all.rowsView(0, n - held);
             FloatMatrix fresh = all.rowsView(n - held, n)) {
            Umap umap = Umap.of().seed(9).backend(UmapTest.backend());
            double placedT;
            double fittedT;
            try (UmapResult fit = umap.fit(ref, Metric.L2);
                 FloatMatrix placed = umap.transform(ref, fit.layout(), fresh, Metric.L2)) {
                placedT = Trustworthiness.of(fresh, Metric.L2, placed, 10, UmapTest.backend());
                try (FloatMatrix again = umap.transform(ref, fit.layout(), fresh, Metric.L2)) {
                    assertArrayEquals(placed.copyRows(0, held), again.copyRows(0, held), "a fixed seed repeats");
                }
            }
            try (UmapResult whole = umap.fit(all, Metric.L2);
                 FloatMatrix part = FloatMatrix.of(Arrays.copyOfRange(whole.layoutArray(), 2 * (n - held), 2 * n), 2)) {
                fittedT = Trustworthiness.of(fresh, Metric.L2, part, 10, UmapTest.backend());
            }
            System.out.printf(Locale.ROOT, "trustworthiness (k = 10) of %d held-out points: placed by transform %.4f, "
                    + "laid out with the rest by fit %.4f%n", held, placedT, fittedT);
            assertTrue(placedT >= 0.9, "placed points keep their neighbourhoods: T = " + placedT);
            assertTrue(placedT >= fittedT - 0.05, "placed " + placedT + " against fitted " + fittedT);
        }
    }

    @Test
    void newPointsJoinTheirBlobUnderCosine() {
        Planted p = Planted.sphere(21, 5, 121, 32, 0.15);
        int n = (int) p.points.rows();
        int held = 55;
        try (p.points; FloatMatrix ref = p.points.rowsView(0, n - held);
             FloatMatrix fresh = p.points.rowsView(n - held, n)) {
            Umap umap = Umap.of().neighbors(10).seed(4).backend(UmapTest.backend());
            try (UmapResult fit = umap.fit(ref, Metric.COSINE);
                 FloatMatrix placed = umap.transform(ref, fit.layout(), fresh, Metric.COSINE)) {
                float[] layout = fit.layoutArray();
                int right = 0;
                for (int i = 0; i < held; i++) {
                    float[] q = placed.getRow(i);
                    int best = -1;
                    double bestD = Double.POSITIVE_INFINITY;
                    for (int j = 0; j < n - held; j++) {
                        double d = Math.hypot(layout[2 * j] - q[0], layout[2 * j + 1] - q[1]);
                        if (d < bestD) {
                            bestD = d;
                            best = j;
                        }
                    }
                    if (p.truth[best] == p.truth[n - held + i]) {
                        right++;
                    }
                }
                assertEquals(held, right, "every placed point's nearest reference point is of its blob");
            }
        }
    }

    @Test
    void theEpochsFollowTheNumberOfNewPoints() {
        // umap-learn's transform: 100 epochs for up to 10,000 new points, 30 above, whatever the reference's size.
        SplittableRandom r = new SplittableRandom(2);
        int[] total = new int[1];
        Umap umap = Umap.of().neighbors(15).seed(1).backend(UmapTest.backend()).listener((done, all) -> total[0] = all);
        try (FloatMatrix bigRef = random(r, 10_001, 4); FloatMatrix bigLayout = random(r, 10_001, 2);
             FloatMatrix few = random(r, 3, 4);
             FloatMatrix placed = umap.transform(bigRef, bigLayout, few, Metric.L2)) {
            assertEquals(100, total[0], "3 new points on 10,001 reference points");
            assertEquals(100, umap.transformEpochsFor(3));
        }
        try (FloatMatrix smallRef = random(r, 40, 4); FloatMatrix smallLayout = random(r, 40, 2);
             FloatMatrix many = random(r, 10_001, 4);
             FloatMatrix placed = umap.transform(smallRef, smallLayout, many, Metric.L2)) {
            assertEquals(30, total[0], "10,001 new points on 40 reference points");
            assertEquals(10_001, placed.rows());
        }
        assertEquals(33, Umap.of().epochs(100).transformEpochsFor(5), "a third of the epochs set");
    }

    @Test
    void newPointsMembershipsAreUmapLearnsWithLocalConnectivityZero() {
        // smooth_knn_dist(dists, n_neighbors, local_connectivity=0): rho = 0, sigma so that columns 1 .. kq-1
        // (column 0 left out of the sum) sum to log2(kq); every column gets exp(-d / sigma), 1 at distance 0.
        SplittableRandom r = new SplittableRandom(7);
        int q = 300;
        for (int kq : new int[] {4, 16, 51}) {
            float[] dist = new float[q * kq];
            for (int i = 0; i < q; i++) {
                double scale = Math.exp(r.nextDouble(-5, 5));
                double v = i % 10 == 3 ? 0 : r.nextDouble() * scale;  // every tenth a duplicate of its nearest
                for (int j = 0; j < kq; j++) {
                    dist[i * kq + j] = (float) v;
                    v += r.nextDouble() * scale;
                }
            }
            double[] w = FuzzySimplicialSet.transformMemberships(q, kq, dist);
            double target = Math.log(kq) / Math.log(2);
            // sigma is at least 1e-3 of the batch's mean distance (umap-learn's floor where rho = 0): it binds for
            // the rows of the smallest scales here.
            double mean = 0;
            for (float v : dist) {
                mean += v;
            }
            double floor = 1e-3 * mean / dist.length;
            int floored = 0;
            for (int i = 0; i < q; i++) {
                double tail = 0;
                for (int j = 1; j < kq; j++) {
                    tail += w[i * kq + j];
                }
                // One sigma for the row, read off the last column: every membership is exp(-d / sigma).
                double sigma = -dist[i * kq + kq - 1] / Math.log(w[i * kq + kq - 1]);
                if (Math.abs(sigma - floor) <= 1e-9 * floor) {
                    floored++;
                    assertTrue(tail > target, "a floored sigma is above the search's: row " + i + ", kq = " + kq);
                } else {
                    assertTrue(sigma > floor, "row " + i);
                    assertEquals(target, tail, 1e-4, "columns 1.. of row " + i + ", kq = " + kq);
                }
                for (int j = 0; j < kq; j++) {
                    double d = dist[i * kq + j];
                    assertEquals(d == 0 ? 1.0 : Math.exp(-d / sigma), w[i * kq + j], 1e-9,
                            "row " + i + " column " + j + ", kq = " + kq);
                }
                if (i % 10 == 3) {
                    assertEquals(1.0, w[i * kq], 0.0, "a duplicate has membership 1");
                } else {
                    assertTrue(w[i * kq] < 1.0, "no rho subtracted: the nearest is below 1, row " + i);
                }
            }
            assertTrue(floored > 0 && floored < q / 2, floored + " rows floored, kq = " + kq);
        }
    }

    @Test
    void anExactDuplicateStartsOnItsReferencePoint() {
        // umap-learn's init_graph_transform: a membership of 1 puts the new point on that reference point (of several,
        // the lowest row). A learning rate near 0 leaves the start where it is.
        SplittableRandom r = new SplittableRandom(4);
        int n = 200;
        try (FloatMatrix ref0 = sheet(6, n, 12, 0.05); FloatMatrix layout = random(r, n, 2)) {
            float[] flat = ref0.copyRows(0, n);
            System.arraycopy(flat, 150 * 12, flat, 60 * 12, 12);  // rows 60 and 150 the same point
            try (FloatMatrix ref = FloatMatrix.of(flat, 12);
                 FloatMatrix pts = FloatMatrix.of(new float[][] {ref.getRow(17), ref.getRow(150), ref.getRow(99)})) {
                Umap umap = Umap.of().neighbors(10).seed(3).learningRate(1e-9).backend(UmapTest.backend());
                float[] lay = layout.copyRows(0, n);
                try (FloatMatrix placed = umap.transform(ref, layout, pts, Metric.L2)) {
                    int[] on = {17, 60, 99};
                    for (int i = 0; i < on.length; i++) {
                        float[] p = placed.getRow(i);
                        assertEquals(lay[2 * on[i]], p[0], 1e-5, "new point " + i + " on reference row " + on[i]);
                        assertEquals(lay[2 * on[i] + 1], p[1], 1e-5, "new point " + i + " on reference row " + on[i]);
                    }
                }
            }
        }
    }

    private static FloatMatrix random(SplittableRandom r, int n, int d) {
        float[] flat = new float[n * d];
        for (int i = 0; i < flat.length; i++) {
            flat[i] = (float) r.nextDouble(-10, 10);
        }
        return FloatMatrix.of(flat, d);
    }

    @Test
    void badInputIsNamed() {
        try (FloatMatrix x = sheet(1, 40, 8, 0.1); FloatMatrix wrongLayout = FloatMatrix.allocate(39, 2);
             FloatMatrix layout = FloatMatrix.allocate(40, 2); FloatMatrix pts = sheet(2, 3, 7, 0.1)) {
            Umap u = Umap.of().neighbors(5);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> u.transform(x, wrongLayout, x, Metric.L2));
            assertTrue(e.getMessage().contains("39 rows"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> u.transform(x, layout, pts, Metric.L2));
            assertTrue(e.getMessage().contains("dimension 7"), e.getMessage());
            Umap wide = Umap.of().neighbors(40);
            e = assertThrows(IllegalArgumentException.class, () -> wide.transform(x, layout, x, Metric.L2));
            assertTrue(e.getMessage().contains("at least k + 1 = 41"), e.getMessage());
        }
    }

    /** The k nearest rows of {@code x} to {@code q} (Euclidean, float64), {@code self} left out. */
    private static int[] nearest(FloatMatrix x, float[] q, int k, int self) {
        int n = (int) x.rows();
        Integer[] order = new Integer[n];
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
            float[] r = x.getRow(i);
            double s = 0;
            for (int j = 0; j < r.length; j++) {
                double v = r[j] - q[j];
                s += v * v;
            }
            d[i] = i == self ? Double.POSITIVE_INFINITY : s;
        }
        Arrays.sort(order, (a, b) -> Double.compare(d[a], d[b]));
        int[] out = new int[k];
        for (int i = 0; i < k; i++) {
            out[i] = order[i];
        }
        return out;
    }
}
