package dev.latent.analyse;

import dev.latent.compute.Assignment;
import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.compute.Checks;
import dev.latent.compute.LabelSums;
import dev.latent.compute.ResidentMatrix;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Vectors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * k-means clustering on the compute backend: the assignment step is {@link Backend#assign} (the same
 * distance tiles as exact k-NN, on CUDA or the native CPU kernels), the update step
 * {@link Backend#accumulate} (float64 per-label sums), with the points resident for every iteration.
 *
 * <pre>{@code
 * try (KMeansResult r = KMeans.of(32).seed(42).fit(vectors, Metric.COSINE)) {
 *     int[] labels = r.labels();             // cluster of each point
 *     FloatMatrix c = r.centroids();         // k x d
 * }
 * }</pre>
 *
 * <p><b>Metric.</b> Under {@link Metric#L2}: Euclidean k-means, minimising the sum of squared distances.
 * Under {@link Metric#COSINE} and {@link Metric#INNER_PRODUCT}: spherical k-means on the points'
 * directions (rows not of unit length are normalised in a copy), centroids renormalised after each update,
 * minimising the sum of cosine distances.
 *
 * <p><b>Seeding.</b> k-means++ (D² sampling, Arthur and Vassilvitskii) on a random sample of
 * {@link #seedSample} points (default {@code max(4k, 1024)}, all points when fewer): each new centre costs
 * one pass over the sample, so seeding stays a small share of a run even for k in the thousands; the
 * Lloyd iterations then refine on all points. {@link Seeding#RANDOM} takes k distinct random points (as
 * FAISS does). A fixed {@link #seed} gives identical runs on one backend.
 *
 * <p><b>Iterations.</b> Each iteration assigns every point to its nearest centroid, then moves each
 * centroid to the mean of its points. An empty cluster is repaired by splitting the largest one (its
 * centroid copied and both copies nudged apart by 1/1024 in alternating directions, as FAISS does). The
 * run stops when the inertia improves by less than {@link #tolerance} relatively, or after
 * {@link #iterations} updates, followed by one last assignment so labels always match the returned
 * centroids.
 *
 * <p><b>Large corpora.</b> With {@link #trainingSample(long)} the iterations run on a random sample and
 * all points are assigned once at the end, in blocks of {@value #ASSIGN_BLOCK} rows: the cost is one pass
 * over the corpus instead of one per iteration, at the price of centroids fitted to the sample (with a
 * few hundred points per centroid they move little: FAISS caps training at 256 points per centroid by
 * default for the same reason).
 *
 * <p>A {@code KMeans} is a mutable configuration, not thread-safe; {@link #fit} may be called again, and
 * each result belongs to the caller.
 */
public final class KMeans {
    /** How the initial centroids are chosen. */
    public enum Seeding {
        /** k-means++ D² sampling on a sample of the points. */
        KMEANS_PLUS_PLUS,
        /** k distinct points drawn uniformly. */
        RANDOM
    }

    /** Told after each assignment step (on the calling thread). */
    public interface Listener {
        /**
         * @param iteration 0 for the assignment to the seeds, then one per update
         * @param inertia   sum of the distances of the points to their centroids
         * @param seconds   since the start of the fit
         */
        void assigned(int iteration, double inertia, double seconds);
    }

    /** Rows assigned per call when all points are assigned after training on a sample. */
    static final int ASSIGN_BLOCK = 1 << 16;

    private final int k;
    private int iterations = 25;
    private double tolerance = 1e-4;
    private long seed = 42;
    private Seeding seeding = Seeding.KMEANS_PLUS_PLUS;
    private int seedSample;
    private long trainingSample;
    private Backend backend;
    private Listener listener;

    private KMeans(int k) {
        Checks.k(k);
        this.k = k;
    }

    /** A k-means with {@code k} clusters and the defaults above. */
    public static KMeans of(int k) {
        return new KMeans(k);
    }

    /** Most centroid updates (default 25). */
    public KMeans iterations(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("iterations must be >= 0, got " + n);
        }
        this.iterations = n;
        return this;
    }

    /** Stop when the inertia improves by less than this fraction (default 1e-4; 0 runs every iteration). */
    public KMeans tolerance(double relative) {
        if (!(relative >= 0)) {
            throw new IllegalArgumentException("tolerance must be >= 0, got " + relative);
        }
        this.tolerance = relative;
        return this;
    }

    /** Random seed (default 42). */
    public KMeans seed(long seed) {
        this.seed = seed;
        return this;
    }

    public KMeans seeding(Seeding seeding) {
        this.seeding = Objects.requireNonNull(seeding, "seeding");
        return this;
    }

    /** Points k-means++ samples its centres from (default {@code max(4k, 1024)}). */
    public KMeans seedSample(int points) {
        if (points < 1) {
            throw new IllegalArgumentException("seedSample must be >= 1, got " + points);
        }
        this.seedSample = points;
        return this;
    }

    /** Train on a random sample of this many points, then assign all (0, the default: train on all). */
    public KMeans trainingSample(long points) {
        if (points < 0) {
            throw new IllegalArgumentException("trainingSample must be >= 0, got " + points);
        }
        this.trainingSample = points;
        return this;
    }

    /** The backend to run on (default {@link Backends#get()}). */
    public KMeans backend(Backend backend) {
        this.backend = Objects.requireNonNull(backend, "backend");
        return this;
    }

    public KMeans listener(Listener listener) {
        this.listener = listener;
        return this;
    }

    public int k() {
        return k;
    }

    /**
     * Clusters the rows of {@code points} (read, not changed) under {@code metric}.
     *
     * @throws IllegalArgumentException when k is larger than the number of points, when the points hold
     *     fewer than k distinct vectors (named with the sample it was found in), or for a row that breaks the
     *     vector rule (named)
     */
    public KMeansResult fit(FloatMatrix points, Metric metric) {
        Objects.requireNonNull(points, "points");
        Objects.requireNonNull(metric, "metric");
        long n = points.rows();
        if (n == 0) {
            throw new IllegalArgumentException("k-means needs at least one point; got none");
        }
        if (k > n) {
            throw new IllegalArgumentException("k = " + k + " is larger than the number of points (" + n + ")");
        }
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("k-means takes at most " + (Integer.MAX_VALUE - 8) + " points per call, got "
                    + n + " (train on a sample with trainingSample and assign the rest in parts)");
        }
        long start = System.nanoTime();
        Backend be = backend != null ? backend : Backends.get();
        boolean spherical = Distance.spherical(metric);
        Metric work = spherical ? Metric.COSINE : Metric.L2;
        FloatMatrix normalised = spherical ? Rows.unitCopyIfNeeded(points) : null;
        FloatMatrix all = normalised != null ? normalised : points;
        SplittableRandom random = new SplittableRandom(seed);
        FloatMatrix sample = null;
        try {
            boolean sampled = trainingSample > 0 && trainingSample < n;
            if (sampled && trainingSample < k) {
                throw new IllegalArgumentException("trainingSample = " + trainingSample + " is smaller than k = " + k);
            }
            sample = sampled ? Rows.copyOf(all, Rows.sampleRows(random, n, trainingSample)) : null;
            FloatMatrix train = sampled ? sample : all;
            int d = train.cols();
            float[] centroids;
            List<Double> inertia = new ArrayList<>();
            int updates = 0;
            boolean converged = false;
            int repairs = 0;
            Assignment last;
            try (ResidentMatrix resident = be.upload(train, work)) {
                centroids = seeding == Seeding.RANDOM ? randomSeeds(train, random) : plusPlusSeeds(be, train, work, random);
                double previous = Double.NaN;
                while (true) {
                    last = assign(be, resident, centroids, d, work);
                    double total = inertia(last, work);
                    inertia.add(total);
                    if (listener != null) {
                        listener.assigned(updates, total, (System.nanoTime() - start) / 1e9);
                    }
                    if (updates > 0 && (previous - total) <= tolerance * Math.abs(previous)) {
                        converged = true;
                        break;
                    }
                    if (updates == iterations) {
                        break;
                    }
                    previous = total;
                    LabelSums sums = be.accumulate(resident, last.labels(), k);
                    repairs += update(centroids, sums, spherical);
                    updates++;
                }
            }
            int[] labels;
            float[] distances;
            if (sampled) {
                labels = new int[(int) n];
                distances = new float[(int) n];
                assignAll(be, all, centroids, d, work, labels, distances);
            } else {
                labels = last.labels();
                distances = new float[labels.length];
                for (int i = 0; i < labels.length; i++) {
                    distances[i] = (float) Distance.of(work, last.score(i));
                }
            }
            long[] sizes = new long[k];
            for (int l : labels) {
                sizes[l]++;
            }
            double[] history = inertia.stream().mapToDouble(Double::doubleValue).toArray();
            return new KMeansResult(FloatMatrix.of(centroids, d), metric, labels, distances, sizes, history, updates,
                    converged, repairs, sampled ? trainingSample : n, (System.nanoTime() - start) / 1e9, be.name());
        } finally {
            if (sample != null) {
                sample.close();
            }
            if (normalised != null) {
                normalised.close();
            }
        }
    }

    private Assignment assign(Backend be, ResidentMatrix points, float[] centroids, int d, Metric work) {
        try (FloatMatrix c = FloatMatrix.of(centroids, d); ResidentMatrix targets = be.upload(c, work)) {
            return be.assign(points, targets);
        }
    }

    /** Assigns every row of {@code all} in blocks, writing labels and distances. */
    static void assignAll(Backend be, FloatMatrix all, float[] centroids, int d, Metric work, int[] labels,
            float[] distances) {
        long n = all.rows();
        try (FloatMatrix c = FloatMatrix.of(centroids, d); ResidentMatrix targets = be.upload(c, work)) {
            for (long from = 0; from < n; from += ASSIGN_BLOCK) {
                long to = Math.min(n, from + ASSIGN_BLOCK);
                try (FloatMatrix block = all.rowsView(from, to); ResidentMatrix rows = be.upload(block, work)) {
                    Assignment a = be.assign(rows, targets);
                    for (int i = 0; i < a.size(); i++) {
                        labels[(int) from + i] = a.label(i);
                        distances[(int) from + i] = (float) Distance.of(work, a.score(i));
                    }
                }
            }
        }
    }

    private static double inertia(Assignment a, Metric work) {
        double s = 0;
        for (int i = 0; i < a.size(); i++) {
            s += Distance.of(work, a.score(i));
        }
        return s;
    }

    /** New centroids from the sums; empty clusters repaired. Returns how many were repaired. */
    private int update(float[] centroids, LabelSums sums, boolean spherical) {
        int d = sums.dimension();
        long[] counts = sums.counts().clone();
        double[] s = sums.sums();
        for (int l = 0; l < k; l++) {
            if (counts[l] == 0) {
                continue;
            }
            double inv = 1.0 / counts[l];
            double sq = 0;
            for (int c = 0; c < d; c++) {
                double v = s[l * d + c] * inv;
                sq += v * v;
            }
            if (spherical && sq < Vectors.MIN_COSINE_SQUARED_NORM) {
                // The cluster's directions cancel: its mean has no direction, so it keeps the one it had.
                continue;
            }
            for (int c = 0; c < d; c++) {
                centroids[l * d + c] = (float) (s[l * d + c] * inv);
            }
        }
        int repaired = 0;
        for (int empty = 0; empty < k; empty++) {
            if (counts[empty] != 0) {
                continue;
            }
            int largest = 0;
            for (int l = 1; l < k; l++) {
                if (counts[l] > counts[largest]) {
                    largest = l;
                }
            }
            // Split the largest cluster: two copies of its centroid nudged apart (FAISS's split_clusters).
            for (int c = 0; c < d; c++) {
                float v = centroids[largest * d + c];
                float up = v * (1 + 1f / 1024);
                float down = v * (1 - 1f / 1024);
                centroids[empty * d + c] = (c % 2 == 0) ? up : down;
                centroids[largest * d + c] = (c % 2 == 0) ? down : up;
            }
            counts[empty] = counts[largest] / 2;
            counts[largest] -= counts[empty];
            repaired++;
        }
        if (spherical) {
            for (int l = 0; l < k; l++) {
                Rows.normalise(centroids, l * d, d);
            }
        }
        return repaired;
    }

    private float[] randomSeeds(FloatMatrix train, SplittableRandom random) {
        long[] rows = Rows.sampleRows(random, train.rows(), k);
        int d = train.cols();
        float[] c = new float[k * d];
        for (int i = 0; i < k; i++) {
            System.arraycopy(train.getRow(rows[i]), 0, c, i * d, d);
        }
        return c;
    }

    /** k-means++ on a sample: each centre drawn with probability proportional to its distance to the nearest. */
    private float[] plusPlusSeeds(Backend be, FloatMatrix train, Metric work, SplittableRandom random) {
        long n = train.rows();
        int s = (int) Math.min(n, seedSample > 0 ? seedSample : Math.max(4L * k, 1024));
        int d = train.cols();
        FloatMatrix pool = s == n ? null : Rows.copyOf(train, Rows.sampleRows(random, n, s));
        FloatMatrix from = pool != null ? pool : train;
        float[] c = new float[k * d];
        try (ResidentMatrix candidates = be.upload(from, work); FloatMatrix centre = FloatMatrix.allocate(1, d);
                FloatMatrix scores = FloatMatrix.allocate(1, s)) {
            double[] nearest = new double[s];
            Arrays.fill(nearest, Double.POSITIVE_INFINITY);
            float[] row = new float[d];
            float[] out = new float[s];
            int pick = random.nextInt(s);
            for (int i = 0; i < k; i++) {
                from.getRow(pick, row);
                System.arraycopy(row, 0, c, i * d, d);
                if (i == k - 1) {
                    break;
                }
                centre.setRow(0, row);
                candidates.distances(centre, 0, s, scores);
                scores.getRow(0, out);
                double total = 0;
                for (int j = 0; j < s; j++) {
                    double dist = Distance.of(work, out[j]);
                    if (dist < nearest[j]) {
                        nearest[j] = dist;
                    }
                    total += nearest[j];
                }
                if (!(total > 0)) {
                    throw new IllegalArgumentException("the points hold only " + (i + 1) + " distinct vector"
                            + (i == 0 ? "" : "s") + (pool != null ? " in a random sample of " + s : "")
                            + ", fewer than k = " + k + "; choose a smaller k");
                }
                double target = random.nextDouble() * total;
                double acc = 0;
                pick = -1;
                for (int j = 0; j < s; j++) {
                    acc += nearest[j];
                    if (acc > target && nearest[j] > 0) {
                        pick = j;
                        break;
                    }
                }
                if (pick < 0) { // rounding at the very end of the sum: the last point with weight
                    for (int j = s - 1; j >= 0; j--) {
                        if (nearest[j] > 0) {
                            pick = j;
                            break;
                        }
                    }
                }
            }
        } finally {
            if (pool != null) {
                pool.close();
            }
        }
        return c;
    }
}
