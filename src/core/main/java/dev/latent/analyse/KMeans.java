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
 * <p><b>Seeding.</b> Greedy k-means++ (D² sampling, Arthur and Vassilvitskii; at each step
 * {@link #seedCandidates} points are drawn, {@code 2 + floor(ln k)} by default as in scikit-learn, and the one
 * that leaves the smallest total distance is kept) on a random sample of {@link #seedSample} points (default
 * {@code max(4k, 1024)}, all points when fewer): each new centre costs one {@link ResidentMatrix#distances}
 * call over the sample for all its candidates, so seeding stays a small share of a run even for k in the
 * thousands; the Lloyd iterations then refine on all points. {@link Seeding#RANDOM} takes k distinct random
 * points (as FAISS does). A fixed {@link #seed} gives identical runs on one backend.
 *
 * <p><b>Restarts.</b> With {@link #restarts} above 1 the seeding and iterations run that many times on the
 * same resident points and the lowest final inertia wins; run 0 is the single run with the seed, so restarts
 * are never worse than it. On the native CPU backend and small inputs they run on several threads at once
 * ({@link #parallel}).
 * On the digits and on text embeddings 10 restarts match scikit-learn's {@code n_init=10} (docs/analyses.md).
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

        /**
         * As {@link #assigned(int, double, double)}, for run {@code restart} of {@link #restarts} (calls are
         * serialised, but those of parallel runs interleave). By default forgets the restart.
         */
        default void assigned(int restart, int iteration, double inertia, double seconds) {
            assigned(iteration, inertia, seconds);
        }
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
    private int restarts = 1;
    private int candidates;
    private Boolean parallel;
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

    /**
     * Runs this many times from different seedings and keeps the run with the lowest final inertia (default
     * 1; with {@link #trainingSample}, the inertia on the sample). The first run is the single run with
     * {@link #seed}, so restarts never end on a worse objective
     * than one run; run {@code r > 0} seeds with a value derived from the seed and {@code r}. The ties go to
     * the earlier run, so the result does not depend on {@link #parallel}.
     */
    public KMeans restarts(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("restarts must be >= 1, got " + n);
        }
        this.restarts = n;
        return this;
    }

    /**
     * Candidates per k-means++ step (greedy k-means++, as scikit-learn): each step draws this many points
     * by D² sampling and keeps the one that lowers the seeding's total distance most, scoring all of them
     * in one {@link ResidentMatrix#distances} call. 1 is plain k-means++; 0 (the default) takes
     * {@code 2 + floor(ln k)}, scikit-learn's choice.
     */
    public KMeans seedCandidates(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("seedCandidates must be >= 0, got " + n);
        }
        this.candidates = n;
        return this;
    }

    /**
     * Whether restarts run on several threads at once, sharing the resident points (default: on the native
     * CPU backend when n·k·d is at most 1e7, the only case where it was measured faster; see docs/analyses.md).
     */
    public KMeans parallel(boolean parallel) {
        this.parallel = parallel;
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
            Run best;
            double[] finals = new double[restarts];
            try (ResidentMatrix resident = be.upload(train, work)) {
                best = runs(be, resident, train, work, spherical, random, start, finals);
            }
            float[] centroids = best.centroids;
            Assignment last = best.last;
            int updates = best.updates;
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
            return new KMeansResult(FloatMatrix.of(centroids, d), metric, labels, distances, sizes, best.inertia, updates,
                    best.converged, best.repairs, sampled ? trainingSample : n, (System.nanoTime() - start) / 1e9, be.name(),
                    best.restart, finals);
        } finally {
            if (sample != null) {
                sample.close();
            }
            if (normalised != null) {
                normalised.close();
            }
        }
    }

    /** One run from one seeding: its centroids, last assignment and inertia after each assignment. */
    private record Run(int restart, float[] centroids, Assignment last, double[] inertia, int updates,
            boolean converged, int repairs) {
        double finalInertia() {
            return inertia[inertia.length - 1];
        }
    }

    /** Seed of restart {@code r > 0}: the base seed mixed with r (restart 0 uses the base seed itself). */
    static long restartSeed(long seed, int r) {
        return new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * r)).nextLong();
    }

    /** Most {@code n·k·d} (multiply-adds per assignment) for which restarts run in parallel by default. */
    static final double PARALLEL_WORK = 1e7;

    /**
     * Whether restarts run in parallel on {@code be} by default: on the native CPU backend for small inputs
     * only. Measured on 2 cores (jmh/results/analyse3-20261206/restarts-timing.txt): 10 restarts on the digits
     * (n·k·d 1.2e6) 14 % faster in parallel, where the per-call overheads and the single-threaded seeding and
     * update steps leave a core idle; on 5,000 × 384 text, k = 20 (3.8e7) no difference; on 50,000 × 384,
     * k = 100 (1.9e9) 3 % slower, the kernels already using every core. Not measured on CUDA: sequential.
     */
    static boolean parallelByDefault(Backend be, long n, int k, int d) {
        return "cpu".equals(be.name()) && (double) n * k * d <= PARALLEL_WORK;
    }

    /**
     * Thrown when a seeding finds fewer than k distinct vectors among the points it draws from. A restart other
     * than the first may meet it in its own random seeding sample where the first did not: that restart is then
     * skipped (its inertia NaN), so restarts never end worse than the single run.
     */
    static final class TooFewDistinct extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        TooFewDistinct(String message) {
            super(message);
        }
    }

    /**
     * All restarts, sequential or parallel; the lowest final inertia wins (ties to the earlier restart). Only the
     * best run so far is kept (a run holds an assignment of every point). In parallel, every task has finished
     * before this returns or throws, since the tasks read {@code resident} and {@code train}, which the caller
     * frees next.
     */
    private Run runs(Backend be, ResidentMatrix resident, FloatMatrix train, Metric work, boolean spherical,
            SplittableRandom first, long start, double[] finals) {
        boolean together = restarts > 1 && (parallel != null ? parallel : parallelByDefault(be, train.rows(), k, train.cols()));
        Run best = null;
        if (!together) {
            for (int r = 0; r < restarts; r++) {
                Run run;
                try {
                    run = lloyd(be, resident, train, work, spherical, r == 0 ? first : new SplittableRandom(restartSeed(seed, r)), r, start);
                } catch (TooFewDistinct e) {
                    if (r == 0) {
                        throw e;
                    }
                    finals[r] = Double.NaN;
                    continue;
                }
                finals[r] = run.finalInertia();
                if (best == null || run.finalInertia() < best.finalInertia()) {
                    best = run;
                }
            }
            return best;
        }
        int threads = Math.min(restarts, Math.max(2, Runtime.getRuntime().availableProcessors()));
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads, t -> {
            Thread th = new Thread(t, "kmeans-restart");
            th.setDaemon(true);
            return th;
        });
        List<java.util.concurrent.Future<Run>> futures = new ArrayList<>();
        try {
            for (int r = 0; r < restarts; r++) {
                int restart = r;
                SplittableRandom random = r == 0 ? first : new SplittableRandom(restartSeed(seed, r));
                futures.add(pool.submit(() -> lloyd(be, resident, train, work, spherical, random, restart, start)));
            }
            for (int r = 0; r < restarts; r++) {
                Run run;
                try {
                    run = futures.get(r).get();
                } catch (java.util.concurrent.ExecutionException e) {
                    Throwable c = e.getCause();
                    if (c instanceof TooFewDistinct && r > 0) {
                        finals[r] = Double.NaN;
                        continue;
                    }
                    if (c instanceof RuntimeException re) {
                        throw re;
                    }
                    if (c instanceof Error err) {
                        throw err;
                    }
                    throw new IllegalStateException(c);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while k-means restarts ran", e);
                } finally {
                    futures.set(r, null);
                }
                finals[r] = run.finalInertia();
                if (best == null || run.finalInertia() < best.finalInertia()) {
                    best = run;
                }
            }
            return best;
        } finally {
            // On a failure the runs not yet started are cancelled; those running finish their current step (a
            // native call cannot be stopped), and no memory they read is freed before they have.
            for (java.util.concurrent.Future<Run> f : futures) {
                if (f != null) {
                    f.cancel(false);
                }
            }
            pool.shutdown();
            boolean interrupted = false;
            while (true) {
                try {
                    if (pool.awaitTermination(1, java.util.concurrent.TimeUnit.MINUTES)) {
                        break;
                    }
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** One seeding and its Lloyd iterations. */
    private Run lloyd(Backend be, ResidentMatrix resident, FloatMatrix train, Metric work, boolean spherical,
            SplittableRandom random, int restart, long start) {
        int d = train.cols();
        float[] centroids = seeding == Seeding.RANDOM ? randomSeeds(train, random) : plusPlusSeeds(be, train, work, random);
        List<Double> inertia = new ArrayList<>();
        int updates = 0;
        boolean converged = false;
        int repairs = 0;
        Assignment last;
        double previous = Double.NaN;
        while (true) {
            last = assign(be, resident, centroids, d, work);
            double total = inertia(last, work);
            inertia.add(total);
            if (listener != null) {
                synchronized (listener) {
                    listener.assigned(restart, updates, total, (System.nanoTime() - start) / 1e9);
                }
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
        return new Run(restart, centroids, last, inertia.stream().mapToDouble(Double::doubleValue).toArray(), updates,
                converged, repairs);
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

    /** Candidates per k-means++ step for this k: the set value, else 2 + floor(ln k). */
    int candidatesPerStep() {
        return candidates > 0 ? candidates : 2 + (int) Math.log(k);
    }

    /**
     * k-means++ on a sample: each centre drawn with probability proportional to its distance to the nearest;
     * with several candidates per step (greedy), the candidate that leaves the smallest total is kept.
     */
    private float[] plusPlusSeeds(Backend be, FloatMatrix train, Metric work, SplittableRandom random) {
        long n = train.rows();
        int s = (int) Math.min(n, seedSample > 0 ? seedSample : Math.max(4L * k, 1024));
        int d = train.cols();
        int t = candidatesPerStep();
        FloatMatrix pool = s == n ? null : Rows.copyOf(train, Rows.sampleRows(random, n, s));
        FloatMatrix from = pool != null ? pool : train;
        float[] c = new float[k * d];
        try (ResidentMatrix points = be.upload(from, work); FloatMatrix centres = FloatMatrix.allocate(t, d);
                FloatMatrix scores = FloatMatrix.allocate(t, s)) {
            double[] nearest = new double[s];
            double[] trial = new double[s];
            double[] bestNearest = new double[s];
            float[] row = new float[d];
            float[] out = new float[s];
            int[] picks = new int[t];
            int first = random.nextInt(s);
            from.getRow(first, row);
            System.arraycopy(row, 0, c, 0, d);
            if (k == 1) {
                return c;
            }
            centres.setRow(0, row);
            try (FloatMatrix one = centres.rowsView(0, 1); FloatMatrix oneOut = scores.rowsView(0, 1)) {
                points.distances(one, 0, s, oneOut);
            }
            scores.getRow(0, out);
            double total = 0;
            for (int j = 0; j < s; j++) {
                nearest[j] = Distance.of(work, out[j]);
                total += nearest[j];
            }
            for (int i = 1; i < k; i++) {
                if (!(total > 0)) {
                    throw new TooFewDistinct("the points hold only " + i + " distinct vector"
                            + (i == 1 ? "" : "s") + (pool != null ? " in a random sample of " + s : "")
                            + ", fewer than k = " + k + "; choose a smaller k");
                }
                for (int q = 0; q < t; q++) {
                    picks[q] = draw(nearest, total, random.nextDouble() * total);
                    from.getRow(picks[q], row);
                    centres.setRow(q, row);
                }
                points.distances(centres, 0, s, scores);
                int best = -1;
                double bestTotal = Double.POSITIVE_INFINITY;
                for (int q = 0; q < t; q++) {
                    scores.getRow(q, out);
                    double sum = 0;
                    for (int j = 0; j < s; j++) {
                        double dist = Distance.of(work, out[j]);
                        trial[j] = Math.min(dist, nearest[j]);
                        sum += trial[j];
                    }
                    if (sum < bestTotal) {
                        bestTotal = sum;
                        best = q;
                        System.arraycopy(trial, 0, bestNearest, 0, s);
                    }
                }
                System.arraycopy(bestNearest, 0, nearest, 0, s);
                total = bestTotal;
                from.getRow(picks[best], row);
                System.arraycopy(row, 0, c, i * d, d);
            }
        } finally {
            if (pool != null) {
                pool.close();
            }
        }
        return c;
    }

    /** The point the cumulative weights reach at {@code target}, skipping weight 0 (points already chosen). */
    private static int draw(double[] nearest, double total, double target) {
        double acc = 0;
        for (int j = 0; j < nearest.length; j++) {
            acc += nearest[j];
            if (acc > target && nearest[j] > 0) {
                return j;
            }
        }
        for (int j = nearest.length - 1; j >= 0; j--) { // rounding at the very end of the sum: the last with weight
            if (nearest[j] > 0) {
                return j;
            }
        }
        throw new IllegalStateException("no point with weight left, total " + total);
    }
}
