package dev.latent.analyse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.compute.Backend;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * k-means, silhouette and anomaly scores on one backend, on planted structure with known answers, and
 * against float64 brute force. Each backend runs it through a subclass.
 */
abstract class AnalyseContractTest {
    abstract Backend backend();

    private KMeans kmeans(int k) {
        return KMeans.of(k).backend(backend());
    }

    // ---- k-means ----

    /**
     * Spherical k-means on directions that cancel (x and -x, twice): the cluster's mean is a zero vector,
     * which has no direction; the centroid keeps the one it had and the fit ends normally.
     */
    @Test
    void aClusterWhoseDirectionsCancelKeepsItsCentroid() {
        for (Metric m : new Metric[] {Metric.COSINE, Metric.INNER_PRODUCT}) {
            try (FloatMatrix x = FloatMatrix.of(new float[] {1, -1, 2, -2}, 1); KMeansResult r = kmeans(1).seed(3).fit(x, m)) {
                assertArrayEquals(new int[] {0, 0, 0, 0}, r.labels());
                assertEquals(1f, Math.abs(r.centroids().getRow(0)[0]), 1e-6f, m.toString());
            }
            try (FloatMatrix x = FloatMatrix.of(new float[] {1, 0, -1, 0, 0, 1, 0, -1, 3, 0.1f}, 2);
                 KMeansResult r = kmeans(2).seed(5).fit(x, m)) {
                assertEquals(5, Arrays.stream(r.sizes()).sum(), m.toString());
            }
        }
    }

    @Test
    void gaussianBlobsAreRecovered() {
        Planted p = Planted.blobs(1, 8, 200, 16, 1.0);
        try (p.points; KMeansResult r = kmeans(8).seed(42).fit(p.points, Metric.L2)) {
            double ari = Planted.ari(p.truth, r.labels());
            assertTrue(ari >= 0.95, "adjusted Rand index " + ari);
            assertEquals(1600, Arrays.stream(r.sizes()).sum());
            labelsMatchTheNearestCentroid(p.points, r, Metric.L2);
        }
    }

    @Test
    void blobsOnTheSphereAreRecoveredUnderCosine() {
        Planted p = Planted.sphere(2, 10, 150, 32, 0.25);
        try (p.points; KMeansResult r = kmeans(10).seed(7).fit(p.points, Metric.COSINE)) {
            double ari = Planted.ari(p.truth, r.labels());
            assertTrue(ari >= 0.95, "adjusted Rand index " + ari);
            for (int c = 0; c < r.k(); c++) {
                double ss = 0;
                for (float v : r.centroids().getRow(c)) {
                    ss += (double) v * v;
                }
                assertEquals(1.0, ss, 1e-5, "centroid " + c + " is renormalised");
            }
            labelsMatchTheNearestCentroid(p.points, r, Metric.COSINE);
        }
    }

    @Test
    void nonUnitRowsUnderCosineClusterByDirection() {
        Planted p = Planted.sphere(3, 5, 100, 8, 0.2);
        SplittableRandom r = new SplittableRandom(3);
        try (p.points) {
            for (int i = 0; i < p.points.rows(); i++) { // scale each row: directions unchanged
                float[] row = p.points.getRow(i);
                float s = (float) r.nextDouble(0.1, 50);
                for (int j = 0; j < row.length; j++) {
                    row[j] *= s;
                }
                p.points.setRow(i, row);
            }
            try (KMeansResult res = kmeans(5).fit(p.points, Metric.COSINE)) {
                assertTrue(Planted.ari(p.truth, res.labels()) >= 0.95);
            }
        }
    }

    /** Every label is the nearest centroid in float64 (up to ties within float32 rounding). */
    private static void labelsMatchTheNearestCentroid(FloatMatrix points, KMeansResult r, Metric metric) {
        float[][] c = r.centroids().toArray();
        for (int i = 0; i < points.rows(); i++) {
            float[] x = points.getRow(i);
            double best = Double.POSITIVE_INFINITY;
            double[] dist = new double[c.length];
            for (int j = 0; j < c.length; j++) {
                dist[j] = distance(x, c[j], metric);
                best = Math.min(best, dist[j]);
            }
            double mine = dist[r.labels()[i]];
            assertTrue(mine <= best + 1e-4 * Math.max(1, best), "point " + i + " has label " + r.labels()[i]
                    + " at " + mine + " but the nearest centroid is at " + best);
            assertEquals(mine, r.distances()[i], 1e-3 * Math.max(1, mine), "distance of point " + i);
        }
    }

    static double distance(float[] x, float[] y, Metric metric) {
        double dot = 0;
        double xx = 0;
        double yy = 0;
        double l2 = 0;
        for (int j = 0; j < x.length; j++) {
            dot += (double) x[j] * y[j];
            xx += (double) x[j] * x[j];
            yy += (double) y[j] * y[j];
            double t = (double) x[j] - y[j];
            l2 += t * t;
        }
        return metric == Metric.L2 ? l2 : 1 - dot / Math.sqrt(xx) / Math.sqrt(yy);
    }

    @Test
    void aFixedSeedGivesIdenticalRuns() {
        Planted p = Planted.blobs(4, 6, 100, 10, 3.0); // overlapping: many iterations
        try (p.points; KMeansResult a = kmeans(6).seed(11).fit(p.points, Metric.L2);
                KMeansResult b = kmeans(6).seed(11).fit(p.points, Metric.L2);
                KMeansResult c = kmeans(6).seed(12).fit(p.points, Metric.L2)) {
            assertArrayEquals(a.labels(), b.labels());
            assertArrayEquals(a.centroids().copyRows(0, 6), b.centroids().copyRows(0, 6));
            assertArrayEquals(a.inertiaHistory(), b.inertiaHistory());
            assertTrue(!Arrays.equals(a.centroids().copyRows(0, 6), c.centroids().copyRows(0, 6)),
                    "another seed should start elsewhere");
        }
    }

    /**
     * Restarts keep the lowest final inertia, and their first run is the single run with the same seed, so
     * they are never worse than it: checked over ten seeds on overlapping blobs (where seeds end in different
     * local minima), sequential and parallel giving the same result.
     */
    @Test
    void restartsAreNeverWorseThanTheSingleRunWithTheSameSeed() {
        Planted p = Planted.blobs(8, 9, 37, 5, 2.5); // 333 points, overlapping
        int improved = 0;
        try (p.points) {
            for (long seed = 0; seed < 10; seed++) {
                try (KMeansResult one = kmeans(9).seed(seed).fit(p.points, Metric.L2);
                        KMeansResult many = kmeans(9).seed(seed).restarts(5).parallel(false).fit(p.points, Metric.L2);
                        KMeansResult together = kmeans(9).seed(seed).restarts(5).parallel(true).fit(p.points, Metric.L2)) {
                    double[] each = many.restartInertia();
                    assertEquals(5, each.length);
                    assertEquals(one.inertia(), each[0], 0.0, "restart 0 is the single run");
                    assertEquals(Arrays.stream(each).min().getAsDouble(), many.inertia(), 0.0);
                    assertEquals(each[many.restart()], many.inertia(), 0.0);
                    assertTrue(many.inertia() <= one.inertia(), "seed " + seed);
                    if (many.inertia() < one.inertia()) {
                        improved++;
                    } else {
                        assertArrayEquals(one.labels(), many.labels(), "seed " + seed);
                    }
                    assertArrayEquals(each, together.restartInertia(), "seed " + seed + ": parallel");
                    assertArrayEquals(many.labels(), together.labels(), "seed " + seed + ": parallel");
                    labelsMatchTheNearestCentroid(p.points, many, Metric.L2);
                }
            }
        }
        assertTrue(improved > 0, "restarts should find a lower minimum for some seed on overlapping blobs");
    }

    /**
     * A restart whose own seeding sample holds fewer than k distinct vectors is skipped (NaN), not fatal, when the
     * single run succeeded: 380 copies of one vector and 20 others, seeding samples of 30 points, k = 4. Among the
     * first seeds, one whose single run succeeds while a restart's sample falls short; that fit still returns, no
     * worse than the single run, sequential and parallel alike; a single run that falls short still throws.
     */
    @Test
    void aRestartWhoseSampleHoldsTooFewDistinctVectorsIsSkipped() {
        int n = 400;
        int d = 5;
        float[] flat = new float[n * d];
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(3);
        for (int i = 380; i < n; i++) {
            for (int j = 0; j < d; j++) {
                flat[i * d + j] = (float) rnd.nextGaussian() * 5f;
            }
        }
        boolean skipped = false;
        boolean failedAlone = false;
        try (FloatMatrix m = FloatMatrix.of(flat, d)) {
            for (long seed = 0; seed < 60 && !(skipped && failedAlone); seed++) {
                KMeansResult one;
                try {
                    one = kmeans(4).seed(seed).seedSample(30).fit(m, Metric.L2);
                } catch (IllegalArgumentException e) {
                    assertTrue(e.getMessage().contains("distinct"), e.getMessage());
                    long s0 = seed;
                    assertThrows(IllegalArgumentException.class,
                            () -> kmeans(4).seed(s0).seedSample(30).restarts(6).fit(m, Metric.L2).close(),
                            "restart 0 is the single run: its failure stays one");
                    failedAlone = true;
                    continue;
                }
                try (one; KMeansResult many = kmeans(4).seed(seed).seedSample(30).restarts(6).parallel(false).fit(m, Metric.L2);
                        KMeansResult together = kmeans(4).seed(seed).seedSample(30).restarts(6).parallel(true).fit(m, Metric.L2)) {
                    double[] each = many.restartInertia();
                    assertEquals(one.inertia(), each[0], 0.0, "restart 0 is the single run");
                    assertTrue(many.inertia() <= one.inertia(), "seed " + seed);
                    assertArrayEquals(each, together.restartInertia(), "seed " + seed + ": parallel");
                    if (Arrays.stream(each).anyMatch(Double::isNaN)) {
                        skipped = true;
                        assertFalse(Double.isNaN(many.inertia()));
                    }
                }
            }
        }
        assertTrue(skipped, "some seed has a restart whose sample holds fewer than 4 distinct vectors");
        assertTrue(failedAlone, "some seed's single run falls short");
    }

    /**
     * Greedy k-means++ (several candidates per step, the best kept) starts from a lower total distance than
     * plain k-means++ on average: over 20 seeds, the inertia of the seeding itself (0 iterations).
     */
    @Test
    void greedySeedingStartsLowerThanPlainKMeansPlusPlus() {
        Planted p = Planted.blobs(21, 15, 40, 6, 1.0);
        double plain = 0;
        double greedy = 0;
        try (p.points) {
            for (long seed = 0; seed < 20; seed++) {
                try (KMeansResult a = kmeans(15).seed(seed).iterations(0).seedCandidates(1).fit(p.points, Metric.L2);
                        KMeansResult b = kmeans(15).seed(seed).iterations(0).fit(p.points, Metric.L2)) {
                    plain += a.inertia();
                    greedy += b.inertia();
                }
            }
        }
        assertTrue(greedy < 0.9 * plain, "greedy " + greedy + ", plain " + plain);
        assertEquals(4, KMeans.of(15).candidatesPerStep()); // 2 + floor(ln 15)
        assertEquals(2, KMeans.of(1).candidatesPerStep());
        assertEquals(3, KMeans.of(15).seedCandidates(3).candidatesPerStep());
        assertThrows(IllegalArgumentException.class, () -> KMeans.of(3).restarts(0));
        assertThrows(IllegalArgumentException.class, () -> KMeans.of(3).seedCandidates(-1));
    }

    @Test
    void inertiaNeverRisesAndTheRunStopsOnTheTolerance() {
        Planted p = Planted.blobs(5, 12, 80, 8, 2.5);
        try (p.points; KMeansResult r = kmeans(12).seed(1).iterations(100).tolerance(1e-6).fit(p.points, Metric.L2)) {
            double[] h = r.inertiaHistory();
            for (int i = 1; i < h.length; i++) {
                assertTrue(h[i] <= h[i - 1] * (1 + 1e-6), "inertia rose at step " + i + ": " + Arrays.toString(h));
            }
            assertTrue(r.converged(), "100 iterations should converge: " + Arrays.toString(h));
            assertEquals(r.iterations() + 1, h.length);
            double sum = 0;
            for (float d : r.distances()) {
                sum += d;
            }
            assertEquals(r.inertia(), sum, 1e-6 * sum);
        }
    }

    @Test
    void trainingOnASampleStillRecoversTheBlobsAndAssignsEveryPoint() {
        Planted p = Planted.blobs(6, 5, 400, 12, 1.0);
        try (p.points; KMeansResult r = kmeans(5).trainingSample(300).fit(p.points, Metric.L2)) {
            assertEquals(300, r.trainedOn());
            assertEquals(2000, r.labels().length);
            assertTrue(Planted.ari(p.truth, r.labels()) >= 0.95);
            labelsMatchTheNearestCentroid(p.points, r, Metric.L2);
        }
    }

    @Test
    void newPointsAreAssignedToTheNearestCentroid() {
        Planted p = Planted.blobs(7, 4, 50, 6, 1.0);
        Planted fresh = Planted.blobs(7, 4, 7, 6, 1.0); // same centres, new points, odd count
        try (p.points; fresh.points; KMeansResult r = kmeans(4).fit(p.points, Metric.L2)) {
            KMeansResult.Placement a = r.assign(fresh.points, backend());
            float[][] c = r.centroids().toArray();
            for (int i = 0; i < fresh.points.rows(); i++) {
                float[] x = fresh.points.getRow(i);
                int best = 0;
                for (int j = 1; j < c.length; j++) {
                    if (distance(x, c[j], Metric.L2) < distance(x, c[best], Metric.L2)) {
                        best = j;
                    }
                }
                assertEquals(best, a.labels()[i], "point " + i);
            }
        }
    }

    @Test
    void oddSizesAndEdgeCases() {
        try (FloatMatrix one = FloatMatrix.of(new float[][] {{1, 2, 3}});
                KMeansResult r = kmeans(1).fit(one, Metric.L2)) {
            assertArrayEquals(new float[] {1, 2, 3}, r.centroids().getRow(0));
            assertEquals(0f, r.distances()[0]);
        }
        try (FloatMatrix seven = FloatMatrix.of(new float[][] {{0}, {0.1f}, {0.2f}, {10}, {10.1f}, {20}, {20.2f}});
                KMeansResult r = kmeans(7).fit(seven, Metric.L2)) { // k = n: every point its own cluster
            assertEquals(7, new HashSet<>(Arrays.stream(r.labels()).boxed().toList()).size());
            assertEquals(0.0, r.inertia(), 1e-9);
        }
        try (FloatMatrix m = FloatMatrix.of(new float[][] {{1, 1}, {2, 2}})) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> kmeans(3).fit(m, Metric.L2));
            assertTrue(e.getMessage().contains("k = 3") && e.getMessage().contains("(2)"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> KMeans.of(0));
        assertThrows(IllegalArgumentException.class, () -> KMeans.of(-2));
    }

    @Test
    void identicalVectorsAndNaNRowsAreNamed() {
        float[][] same = new float[50][];
        Arrays.fill(same, new float[] {0.5f, -1f, 2f});
        try (FloatMatrix m = FloatMatrix.of(same)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> kmeans(2).fit(m, Metric.L2));
            assertTrue(e.getMessage().contains("1 distinct vector") && e.getMessage().contains("k = 2"), e.getMessage());
            try (KMeansResult r = kmeans(1).fit(m, Metric.L2)) {
                assertEquals(50, r.sizes()[0]);
                assertEquals(0.0, r.inertia(), 1e-9);
            }
        }
        float[][] rows = new float[10][];
        for (int i = 0; i < 10; i++) {
            rows[i] = new float[] {i, 1};
        }
        rows[6] = new float[] {Float.NaN, 1};
        try (FloatMatrix m = FloatMatrix.of(rows)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> kmeans(2).fit(m, Metric.L2));
            assertTrue(e.getMessage().contains("6"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> kmeans(2).fit(m, Metric.COSINE));
            assertTrue(e.getMessage().contains("6"), e.getMessage());
        }
    }

    // ---- silhouette ----

    @Test
    void silhouetteMatchesBruteForceAndSeparatesGoodFromRandomLabels() {
        Planted p = Planted.blobs(8, 4, 60, 5, 0.8);
        try (p.points) {
            double est = Silhouette.estimate(p.points, Metric.L2, p.truth, 4, 10_000, 1, backend());
            assertEquals(bruteSilhouette(p.points, p.truth, 4), est, 1e-5);
            assertTrue(est > 0.7, "well separated blobs: " + est);
            int[] random = new int[p.truth.length];
            SplittableRandom r = new SplittableRandom(9);
            for (int i = 0; i < random.length; i++) {
                random[i] = r.nextInt(4);
            }
            double bad = Silhouette.estimate(p.points, Metric.L2, random, 4, 10_000, 1, backend());
            assertTrue(Math.abs(bad) < 0.1, "random labels: " + bad);
        }
    }

    private static double bruteSilhouette(FloatMatrix x, int[] labels, int k) {
        int n = labels.length;
        int[] sizes = new int[k];
        for (int l : labels) {
            sizes[l]++;
        }
        double total = 0;
        for (int i = 0; i < n; i++) {
            double[] sum = new double[k];
            for (int j = 0; j < n; j++) {
                if (j != i) {
                    sum[labels[j]] += Math.sqrt(distance(x.getRow(i), x.getRow(j), Metric.L2));
                }
            }
            int own = labels[i];
            if (sizes[own] <= 1) {
                continue;
            }
            double a = sum[own] / (sizes[own] - 1);
            double b = Double.POSITIVE_INFINITY;
            for (int l = 0; l < k; l++) {
                if (l != own && sizes[l] > 0) {
                    b = Math.min(b, sum[l] / sizes[l]);
                }
            }
            total += (b - a) / Math.max(a, b);
        }
        return total / n;
    }

    // ---- outliers ----

    /** 1,000 points in 5 blobs plus 20 points planted far from all of them (rows 1000..1019). */
    private static FloatMatrix withPlantedOutliers(long seed, int d) {
        Planted p = Planted.blobs(seed, 5, 200, d, 1.0);
        SplittableRandom r = new SplittableRandom(seed + 100);
        float[] flat = new float[1020 * d];
        float[] all = p.points.copyRows(0, 1000);
        p.points.close();
        System.arraycopy(all, 0, flat, 0, all.length);
        for (int i = 1000; i < 1020; i++) {
            for (int j = 0; j < d; j++) {
                flat[i * d + j] = (float) r.nextDouble(-40, 40);
            }
        }
        return FloatMatrix.of(flat, d);
    }

    /**
     * The tight-group check both ways on planted data: outliers placed one per direction far from the blobs
     * are not a group (each one's nearest neighbour is a blob point); eight points planted close together far
     * from the blobs are (each one's nearest neighbour is another of them), for the reference scoring itself
     * and for a batch.
     */
    @Test
    void theTopOutliersAreCalledAGroupOnlyWhenTheyAre() {
        int d = 6;
        Planted blobs = Planted.blobs(31, 4, 100, d, 1.0);
        float[] inliers = blobs.points.copyRows(0, 400);
        blobs.points.close();
        float[] scattered = new float[(400 + 2 * d) * d];
        System.arraycopy(inliers, 0, scattered, 0, inliers.length);
        for (int i = 0; i < 2 * d; i++) { // +-30 on each axis: 42 apart, nearer the blobs than each other
            scattered[(400 + i) * d + i / 2] = i % 2 == 0 ? 30 : -30;
        }
        SplittableRandom r = new SplittableRandom(5);
        float[] grouped = new float[(400 + 8) * d];
        System.arraycopy(inliers, 0, grouped, 0, inliers.length);
        float[] group = new float[8 * d];
        for (int i = 0; i < 8; i++) {
            for (int j = 0; j < d; j++) {
                group[i * d + j] = (float) (35 + 0.3 * Planted.gaussian(r));
            }
        }
        System.arraycopy(group, 0, grouped, 400 * d, group.length);
        try (FloatMatrix a = FloatMatrix.of(scattered, d); FloatMatrix b = FloatMatrix.of(grouped, d);
                FloatMatrix batch = FloatMatrix.of(group, d); FloatMatrix plain = FloatMatrix.of(inliers, d);
                Outliers oa = Outliers.of(a, Metric.L2, 10, null, backend());
                Outliers ob = Outliers.of(b, Metric.L2, 10, null, backend());
                Outliers clean = Outliers.of(plain, Metric.L2, 10, null, backend())) {
            float[] sa = oa.scoreReference(Outliers.Score.KNN);
            assertTrue(Arrays.stream(Outliers.top(sa, 12)).allMatch(i -> i >= 400), "the scattered ones lead");
            Outliers.Group ga = oa.groupInReference(sa, 12);
            assertEquals(12, ga.examined());
            assertEquals(0, ga.grouped(), ga.toString());
            assertTrue(!ga.tight());

            float[] sb = ob.scoreReference(Outliers.Score.KNN); // k = 10 > 8: the group still scores high
            assertTrue(Arrays.stream(Outliers.top(sb, 8)).allMatch(i -> i >= 400), "the group leads");
            Outliers.Group gb = ob.groupInReference(sb, 12);
            assertEquals(8, gb.grouped(), gb.toString());
            assertTrue(gb.tight());
            assertTrue(gb.spread() < gb.typical(), gb.toString());

            // The same group as a new batch against the clean reference.
            float[] sc = clean.score(batch, Outliers.Score.KNN);
            Outliers.Group gc = clean.group(batch, sc, 8);
            assertEquals(8, gc.grouped(), gc.toString());
            assertTrue(gc.tight());
            assertEquals(3, Outliers.Group.needed(12));
            assertEquals(4, Outliers.Group.needed(20));
            assertEquals(10, Outliers.Group.needed(50));
            assertThrows(IllegalArgumentException.class, () -> clean.group(batch, new float[3], 5));
            // Examining the whole reference leaves no rest to compare with: no group.
            try (Outliers few = Outliers.of(batch, Metric.L2, 3, null, backend())) {
                Outliers.Group all = few.groupInReference(few.scoreReference(Outliers.Score.KNN), 20);
                assertEquals(8, all.examined());
                assertEquals(0, all.grouped(), all.toString());
            }
        }
    }

    /**
     * The group check examines at most {@link Outliers#GROUP_EXAMINED} of the top outliers however many are asked
     * for (a top of 50,000 would otherwise hold a 50,000² distance matrix), and it takes the reference's typical
     * k-distance only for a tight group: after a centroid scoring, which computes no k-distances, a top that is no
     * group costs no k-nearest-neighbour pass over the reference.
     */
    @Test
    void theGroupCheckIsBoundedAndSearchesTheReferenceOnlyForATightGroup() {
        int d = 6;
        Planted blobs = Planted.blobs(31, 4, 100, d, 1.0);
        float[] inliers = blobs.points.copyRows(0, 400);
        blobs.points.close();
        float[] scattered = new float[(400 + 2 * d) * d];
        System.arraycopy(inliers, 0, scattered, 0, inliers.length);
        for (int i = 0; i < 2 * d; i++) {
            scattered[(400 + i) * d + i / 2] = i % 2 == 0 ? 30 : -30;
        }
        float[] grouped = new float[(400 + 8) * d];
        System.arraycopy(inliers, 0, grouped, 0, inliers.length);
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 400; i < 408; i++) {
            for (int j = 0; j < d; j++) {
                grouped[i * d + j] = (float) (35 + 0.3 * Planted.gaussian(r));
            }
        }
        try (FloatMatrix a = FloatMatrix.of(scattered, d); FloatMatrix b = FloatMatrix.of(grouped, d)) {
            try (Outliers o = Outliers.of(a, Metric.L2, 10, null, backend())) {
                float[] s = o.scoreReference(Outliers.Score.CENTROID);
                assertTrue(Arrays.stream(Outliers.top(s, 12)).allMatch(i -> i >= 400), "the scattered ones lead");
                Outliers.Group g = o.groupInReference(s, 12);
                assertEquals(0, g.grouped(), g.toString());
                assertTrue(Double.isNaN(g.typical()), g.toString());
                assertEquals(0, o.referencePasses(), "no k-NN pass over the reference for a loose top");
            }
            try (Outliers o = Outliers.of(b, Metric.L2, 10, null, backend())) {
                float[] s = o.scoreReference(Outliers.Score.CENTROID);
                assertEquals(0, o.referencePasses());
                Outliers.Group g = o.groupInReference(s, 8);
                assertTrue(g.tight(), g.toString());
                assertEquals(1, o.referencePasses(), "a tight group takes the typical distance once");
                assertTrue(g.spread() < g.typical(), g.toString());
                o.groupInReference(s, 8);
                assertEquals(1, o.referencePasses(), "the k-distances are kept");
            }
            try (Outliers o = Outliers.of(b, Metric.L2, 10, null, backend())) {
                float[] s = o.scoreReference(Outliers.Score.KNN);
                assertEquals(1, o.referencePasses());
                Outliers.Group g = o.groupInReference(s, 50_000);
                assertEquals(Outliers.GROUP_EXAMINED, g.examined(), g.toString());
                assertEquals(1, o.referencePasses(), "knn scores of the reference leave its k-distances behind");
                try (FloatMatrix batch = b.rowsView(0, 408)) {
                    Outliers.Group gb = o.group(batch, o.score(batch, Outliers.Score.KNN), Integer.MAX_VALUE);
                    assertEquals(Outliers.GROUP_EXAMINED, gb.examined(), gb.toString());
                }
            }
        }
    }

    @Test
    void plantedOutliersRankAtTheTopForEveryScore() {
        try (FloatMatrix x = withPlantedOutliers(10, 8); Outliers o = Outliers.of(x, Metric.L2, 10, null, backend())) {
            for (Outliers.Score s : Outliers.Score.values()) {
                float[] scores = o.scoreReference(s);
                int[] top = Outliers.top(scores, 20);
                long hits = Arrays.stream(top).filter(i -> i >= 1000).count();
                assertTrue(hits >= 18, s + ": precision at 20 is " + hits / 20.0 + " (top " + Arrays.toString(top) + ")");
            }
        }
    }

    @Test
    void aNewBatchIsScoredAgainstTheReference() {
        Planted ref = Planted.blobs(20, 4, 150, 6, 1.0);
        Planted inl = Planted.blobs(20, 4, 20, 6, 1.0); // same centres
        float[] flat = new float[90 * 6];
        System.arraycopy(inl.points.copyRows(0, 80), 0, flat, 0, 80 * 6);
        SplittableRandom r = new SplittableRandom(21);
        for (int i = 80; i < 90; i++) {
            for (int j = 0; j < 6; j++) {
                flat[i * 6 + j] = (float) r.nextDouble(-40, 40);
            }
        }
        try (ref.points; inl.points; FloatMatrix batch = FloatMatrix.of(flat, 6);
                Outliers o = Outliers.of(ref.points, Metric.L2, 8, null, backend())) {
            for (Outliers.Score s : Outliers.Score.values()) {
                float[] scores = o.score(batch, s);
                long hits = Arrays.stream(Outliers.top(scores, 10)).filter(i -> i >= 80).count();
                assertTrue(hits >= 9, s + ": precision at 10 is " + hits / 10.0);
                double t = Outliers.threshold(o.scoreReference(s), 0.99);
                long flagged = 0;
                for (int i = 0; i < 80; i++) {
                    if (scores[i] > t) {
                        flagged++;
                    }
                }
                assertTrue(flagged <= 8, s + ": " + flagged + " of 80 inliers above the 0.99 quantile");
            }
            float[] lof = o.scoreReference(Outliers.Score.LOF);
            float[] sorted = lof.clone();
            Arrays.sort(sorted);
            float median = sorted[sorted.length / 2];
            assertTrue(median > 0.9 && median < 1.2, "LOF of inliers is about 1, median " + median);
        }
    }

    @Test
    void knnScoresMatchFloat64BruteForceWithSelfLeftOutAndDuplicates() {
        SplittableRandom r = new SplittableRandom(30);
        int n = 97;
        int d = 7;
        float[] flat = new float[n * d];
        for (int i = 0; i < flat.length; i++) {
            flat[i] = (float) r.nextDouble(-1, 1);
        }
        System.arraycopy(flat, 5 * d, flat, 40 * d, d); // row 40 duplicates row 5
        try (FloatMatrix x = FloatMatrix.of(flat, d); Outliers o = Outliers.of(x, Metric.L2, 4, null, backend())) {
            float[] kth = o.scoreReference(Outliers.Score.KNN);
            float[] mean = o.scoreReference(Outliers.Score.MEAN_KNN);
            for (int i = 0; i < n; i++) {
                double[] dist = new double[n - 1];
                int c = 0;
                for (int j = 0; j < n; j++) {
                    if (j != i) {
                        dist[c++] = Math.sqrt(distance(x.getRow(i), x.getRow(j), Metric.L2));
                    }
                }
                Arrays.sort(dist);
                assertEquals(dist[3], kth[i], 1e-4, "k-th distance of row " + i);
                assertEquals((dist[0] + dist[1] + dist[2] + dist[3]) / 4, mean[i], 1e-4, "mean distance of row " + i);
            }
            assertEquals(0.0, Math.sqrt(distance(x.getRow(5), x.getRow(40), Metric.L2)), 0.0);
        }
    }

    @Test
    void aReferenceTooSmallForKIsNamed() {
        try (FloatMatrix x = FloatMatrix.of(new float[][] {{1}, {2}, {3}})) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Outliers.of(x, Metric.L2, 3, null, backend()));
            assertTrue(e.getMessage().contains("3 points") && e.getMessage().contains("k = 3"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Outliers.threshold(new float[] {1}, 1.5));
        assertEquals(2.5, Outliers.threshold(new float[] {4, 1, 3, 2}, 0.5), 1e-9);
        Set<Integer> top = new HashSet<>();
        for (int i : Outliers.top(new float[] {1, 5, 5, 2}, 2)) {
            top.add(i);
        }
        assertEquals(Set.of(1, 2), top);
    }
    // ---- PCA ----

    /**
     * Rank-3 signal with an exactly known sample covariance (scores orthogonalised over the sample), plus
     * noise of std 1e-4, in d = 41 around a non-zero mean.
     */
    private static final class LowRank {
        final FloatMatrix x;
        final double[][] u;        // true components
        final double[] variance;  // their sample variances

        LowRank(long seed, int n, int d) {
            SplittableRandom r = new SplittableRandom(seed);
            double[] s = {5.0, 3.0, 1.5};
            u = orthonormal(r, s.length, d);
            double[][] z = orthonormal(r, s.length, n, true);  // zero-mean, orthonormal columns over the sample
            variance = new double[s.length];
            float[] flat = new float[n * d];
            double[] mean = new double[d];
            for (int j = 0; j < d; j++) {
                mean[j] = r.nextDouble(-3, 3);
            }
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < d; j++) {
                    double v = mean[j] + 1e-4 * Planted.gaussian(r);
                    for (int c = 0; c < s.length; c++) {
                        v += s[c] * Math.sqrt(n - 1) * z[c][i] * u[c][j];
                    }
                    flat[i * d + j] = (float) v;
                }
            }
            for (int c = 0; c < s.length; c++) {
                variance[c] = s[c] * s[c];
            }
            x = FloatMatrix.of(flat, d);
        }

        static double[][] orthonormal(SplittableRandom r, int m, int d) {
            return orthonormal(r, m, d, false);
        }

        /** m orthonormal vectors of length d by Gram-Schmidt (twice), optionally orthogonal to the all-ones vector. */
        static double[][] orthonormal(SplittableRandom r, int m, int d, boolean zeroMean) {
            double[][] v = new double[m][d];
            for (int a = 0; a < m; a++) {
                for (int j = 0; j < d; j++) {
                    v[a][j] = Planted.gaussian(r);
                }
                for (int pass = 0; pass < 2; pass++) {
                    if (zeroMean) {
                        double mu = 0;
                        for (double e : v[a]) {
                            mu += e;
                        }
                        mu /= d;
                        for (int j = 0; j < d; j++) {
                            v[a][j] -= mu;
                        }
                    }
                    for (int b = 0; b < a; b++) {
                        double dot = 0;
                        for (int j = 0; j < d; j++) {
                            dot += v[a][j] * v[b][j];
                        }
                        for (int j = 0; j < d; j++) {
                            v[a][j] -= dot * v[b][j];
                        }
                    }
                    double nn = 0;
                    for (double e : v[a]) {
                        nn += e * e;
                    }
                    for (int j = 0; j < d; j++) {
                        v[a][j] /= Math.sqrt(nn);
                    }
                }
            }
            return v;
        }
    }

    @Test
    void pcaRecoversAPlantedLowRankStructure() {
        LowRank p = new LowRank(11, 3001, 41);
        try (p.x) {
            PcaModel m = Pca.of(5).backend(backend()).fit(p.x);
            double total = p.variance[0] + p.variance[1] + p.variance[2];
            for (int c = 0; c < 3; c++) {
                assertEquals(p.variance[c], m.explainedVariance()[c], 1e-3 * p.variance[c], "variance of component " + c);
                assertEquals(p.variance[c] / total, m.explainedVarianceRatio()[c], 1e-3, "ratio of component " + c);
                double[] w = m.component(c);
                double sign = Math.signum(dot(w, p.u[c]));
                for (int j = 0; j < w.length; j++) {
                    assertEquals(p.u[c][j], sign * w[j], 1e-4, "component " + c + ", coordinate " + j);
                }
            }
            assertTrue(m.explainedVariance()[3] < 1e-4, "no variance beyond the rank (float32 tiles): " + m.explainedVariance()[3]);
            // Against a float64 reference: power iteration with deflation on the covariance summed in Java.
            double[][] cov = covariance(p.x);
            double[][] ref = new double[3][];
            double[] refVar = new double[3];
            for (int c = 0; c < 3; c++) {
                double[] v = new double[cov.length];
                java.util.Arrays.fill(v, 1);
                double lambda = 0;
                for (int it = 0; it < 500; it++) {
                    double[] nv = new double[v.length];
                    for (int i = 0; i < v.length; i++) {
                        for (int j = 0; j < v.length; j++) {
                            nv[i] += cov[i][j] * v[j];
                        }
                    }
                    lambda = Math.sqrt(dot(nv, nv));
                    for (int i = 0; i < v.length; i++) {
                        v[i] = nv[i] / lambda;
                    }
                }
                ref[c] = v;
                refVar[c] = lambda;
                for (int i = 0; i < v.length; i++) {
                    for (int j = 0; j < v.length; j++) {
                        cov[i][j] -= lambda * v[i] * v[j];
                    }
                }
                assertEquals(refVar[c], m.explainedVariance()[c], 1e-5 * refVar[c], "float64 reference, variance " + c);
                assertEquals(1.0, Math.abs(dot(ref[c], m.component(c))), 1e-6, "float64 reference, component " + c);
            }
        }
    }

    @Test
    void pcaProjectsAndMapsBackAndWhitens() throws java.io.IOException {
        LowRank p = new LowRank(12, 1500, 23);
        try (p.x) {
            PcaModel m = Pca.of(3).backend(backend()).fit(p.x);
            try (FloatMatrix z = m.transform(p.x, backend()); FloatMatrix back = m.inverseTransform(z)) {
                assertEquals(3, z.cols());
                for (long i = 0; i < p.x.rows(); i += 97) {
                    float[] a = p.x.getRow(i);
                    float[] b = back.getRow(i);
                    for (int j = 0; j < a.length; j++) {
                        assertEquals(a[j], b[j], 2e-3, "row " + i + " coordinate " + j + " after projecting and back");
                    }
                }
                double[] var = columnVariance(z);
                for (int c = 0; c < 3; c++) {
                    assertEquals(p.variance[c], var[c], 1e-3 * p.variance[c], "score variance " + c);
                }
            }
            PcaModel w = Pca.of(3).whiten(true).backend(backend()).fit(p.x);
            try (FloatMatrix z = w.transform(p.x, backend()); FloatMatrix back = w.inverseTransform(z)) {
                double[] var = columnVariance(z);
                for (int c = 0; c < 3; c++) {
                    assertEquals(1.0, var[c], 1e-3, "whitened variance " + c);
                }
                assertEquals(p.x.getRow(5)[0], back.getRow(5)[0], 2e-3);
            }
            java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("pca");
            java.nio.file.Path f = dir.resolve("pca.json");
            m.save(f);
            PcaModel loaded = PcaModel.load(f);
            assertArrayEquals(m.explainedVarianceRatio(), loaded.explainedVarianceRatio());
            assertArrayEquals(m.component(1), loaded.component(1));
            try (FloatMatrix a = m.transform(p.x, backend()); FloatMatrix b = loaded.transform(p.x, backend())) {
                assertArrayEquals(a.getRow(7), b.getRow(7));
            }
            java.nio.file.Files.writeString(f, "{\"format\": \"something else\"}");
            java.io.IOException e = assertThrows(java.io.IOException.class, () -> PcaModel.load(f));
            assertTrue(e.getMessage().contains("not a PCA model file"), e.getMessage());
        }
    }

    @Test
    void pcaBadInputIsNamed() {
        try (FloatMatrix x = FloatMatrix.of(new float[][] {{1, 2, 3}, {4, 5, 6}, {7, 8, 10}});
             FloatMatrix one = FloatMatrix.of(new float[][] {{1, 2}});
             FloatMatrix nan = FloatMatrix.of(new float[][] {{1, 2}, {Float.NaN, 1}, {0, 0}});
             FloatMatrix constant = FloatMatrix.of(new float[][] {{1, 5}, {2, 5}, {3, 5}})) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Pca.of(4).backend(backend()).fit(x));
            assertTrue(e.getMessage().contains("components = 4") && e.getMessage().contains("(3)"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Pca.of(1).backend(backend()).fit(one));
            assertTrue(e.getMessage().contains("at least 2 points"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Pca.of(1).backend(backend()).fit(nan));
            assertTrue(e.getMessage().contains("1"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Pca.of(0));
            // A constant column has zero variance: the second component explains nothing, and whitening leaves it at 0.
            PcaModel m = Pca.of(2).whiten(true).backend(backend()).fit(constant);
            assertEquals(1.0, m.explainedVarianceRatio()[0], 1e-9);
            assertEquals(0.0, m.explainedVariance()[1], 1e-9);
            try (FloatMatrix z = m.transform(constant, backend())) {
                assertEquals(0.0f, z.getRow(0)[1]);
            }
        }
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    private static double[][] covariance(FloatMatrix x) {
        int d = x.cols();
        long n = x.rows();
        double[] mean = new double[d];
        for (long i = 0; i < n; i++) {
            float[] r = x.getRow(i);
            for (int j = 0; j < d; j++) {
                mean[j] += r[j];
            }
        }
        for (int j = 0; j < d; j++) {
            mean[j] /= n;
        }
        double[][] cov = new double[d][d];
        for (long i = 0; i < n; i++) {
            float[] r = x.getRow(i);
            for (int a = 0; a < d; a++) {
                for (int b = 0; b < d; b++) {
                    cov[a][b] += (r[a] - mean[a]) * (r[b] - mean[b]);
                }
            }
        }
        for (double[] row : cov) {
            for (int b = 0; b < d; b++) {
                row[b] /= n - 1;
            }
        }
        return cov;
    }

    private static double[] columnVariance(FloatMatrix z) {
        int c = z.cols();
        long n = z.rows();
        double[] mean = new double[c];
        double[] sq = new double[c];
        for (long i = 0; i < n; i++) {
            float[] r = z.getRow(i);
            for (int j = 0; j < c; j++) {
                mean[j] += r[j];
            }
        }
        for (int j = 0; j < c; j++) {
            mean[j] /= n;
        }
        for (long i = 0; i < n; i++) {
            float[] r = z.getRow(i);
            for (int j = 0; j < c; j++) {
                sq[j] += (r[j] - mean[j]) * (r[j] - mean[j]);
            }
        }
        for (int j = 0; j < c; j++) {
            sq[j] /= n - 1;
        }
        return sq;
    }
}
