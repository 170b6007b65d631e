package dev.latent.analyse;

import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.compute.Checks;
import dev.latent.compute.ResidentMatrix;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * How far vectors lie outside a reference set: the anomaly scores of fraud, bot and broken-record
 * detection. Higher is more unusual. Every score uses {@link Distance#length} (Euclidean, or the chord
 * between directions under cosine and inner product) and the k nearest reference points, found by exact
 * search on the backend.
 *
 * <ul>
 *   <li>{@link Score#KNN}: distance to the k-th nearest reference point.</li>
 *   <li>{@link Score#MEAN_KNN}: mean distance to the k nearest.</li>
 *   <li>{@link Score#CENTROID}: distance to the nearest centroid of a large k-means cluster of the reference
 *       divided by that cluster's median member distance (how many "typical radii" out it lies). A cluster
 *       is large when it holds at least {@code max(k, n / 200)} points; smaller ones are where isolated
 *       points end up (k-means++ seeds on far points first), so they do not count as typical: their
 *       members are scored against the large clusters, as the cluster-based LOF of He et al. (2003) does.</li>
 *   <li>{@link Score#LOF}: the local outlier factor (Breunig et al. 2000): the mean local reachability
 *       density of the k neighbours over the point's own; about 1 inside a cluster of any density, well
 *       above 1 for a point in a sparser place than its neighbours.</li>
 * </ul>
 *
 * <p><b>Which score.</b> On planted groups of foreign texts among real embeddings (docs/analyses.md),
 * {@link Score#KNN} ranked the planted points best at every group size from 1 to 50 and is what
 * {@code latent outliers} uses by default; {@link Score#LOF} calls a dense group of similar anomalies normal,
 * and every neighbour score does once the group holds more than k points. {@link #groupInReference} and
 * {@link #group} tell when the top outliers form such a group of their own.
 *
 * <p>Scores of the reference itself ({@link #scoreReference}) leave each point out of its own
 * neighbours (by row, so an exact duplicate elsewhere still counts as a neighbour at distance 0). New
 * points ({@link #score}) are scored against the whole reference. A threshold comes from the reference's
 * own scores ({@link #threshold}).
 *
 * <p>Holds the reference resident on the backend, and its clustering once {@link Score#CENTROID} needed
 * it, until {@link #close()} (exactly once). Scoring calls may run from several threads at once;
 * {@link #close()} must not race with them.
 */
public final class Outliers implements AutoCloseable {
    /** Which anomaly score. */
    public enum Score {
        KNN, MEAN_KNN, CENTROID, LOF;

        /** Parses {@code knn}, {@code mean-knn}, {@code centroid} or {@code lof}. */
        public static Score parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown outlier score '" + s
                        + "' (expected knn, mean-knn, centroid or lof)");
            }
        }
    }

    /** Queries searched per call, bounding the neighbour lists held at once. */
    private static final int BLOCK = 1 << 14;

    /**
     * The most top outliers the group check examines ({@link #group}): it holds their distances to each other
     * (examined² floats) and their {@code examined + 1} nearest reference points, so a large {@code top} costs no
     * more than this many.
     */
    public static final int GROUP_EXAMINED = 200;

    private final FloatMatrix reference;
    private final Metric metric;
    private final Metric work;
    private final int k;
    private final Backend backend;
    private final ResidentMatrix resident;
    private final long seed;
    private volatile double[] kDistance;   // reference k-distance (self excluded), for LOF and groups
    private volatile double[] lrd;         // reference local reachability density, for LOF
    private KMeansResult clusters;         // for CENTROID: the reference's k-means
    private KMeansResult large;            // its large clusters' centroids
    private double[] spread;               // median member distance per large cluster
    private boolean closed;
    private final java.util.concurrent.atomic.AtomicInteger referencePasses = new java.util.concurrent.atomic.AtomicInteger();

    private Outliers(FloatMatrix reference, Metric metric, int k, Backend backend, KMeansResult clusters, long seed) {
        long n = reference.rows();
        Checks.k(k, "outlier k");
        if (n < k + 1L) {
            throw new IllegalArgumentException("the reference set has " + n + " point" + (n == 1 ? "" : "s")
                    + ", too few for k = " + k + " neighbours (it needs at least k + 1 = " + (k + 1) + ")");
        }
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("reference sets hold at most " + (Integer.MAX_VALUE - 8) + " points");
        }
        this.reference = reference;
        this.metric = metric;
        this.work = Distance.spherical(metric) ? Metric.COSINE : Metric.L2;
        this.k = k;
        this.backend = backend;
        this.seed = seed;
        this.clusters = clusters;
        this.resident = backend.upload(reference, work);
    }

    /**
     * Scores against {@code reference} (read in place: keep it open and unchanged while this is open).
     *
     * @param k        neighbours per score (10 is a common choice)
     * @param clusters a k-means of the reference for {@link Score#CENTROID}, or {@code null} to fit one
     *                 when first needed (k = √(n/2), at most 256, seed 42); owned by this object either way
     */
    public static Outliers of(FloatMatrix reference, Metric metric, int k, KMeansResult clusters) {
        return new Outliers(Objects.requireNonNull(reference, "reference"), Objects.requireNonNull(metric, "metric"),
                k, Backends.get(), clusters, 42);
    }

    /** As {@link #of(FloatMatrix, Metric, int, KMeansResult)} on a given backend. */
    public static Outliers of(FloatMatrix reference, Metric metric, int k, KMeansResult clusters, Backend backend) {
        return new Outliers(Objects.requireNonNull(reference, "reference"), Objects.requireNonNull(metric, "metric"),
                k, Objects.requireNonNull(backend, "backend"), clusters, 42);
    }

    public int k() {
        return k;
    }

    /** Scores of the reference points, each left out of its own neighbours. */
    public float[] scoreReference(Score score) {
        return run(reference, score, true);
    }

    /** Scores of new points against the reference. */
    public float[] score(FloatMatrix points, Score score) {
        if (points.cols() != reference.cols()) {
            throw new IllegalArgumentException("points have dimension " + points.cols() + ", the reference "
                    + reference.cols());
        }
        if (points.rows() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("score at most " + (Integer.MAX_VALUE - 8) + " points per call");
        }
        return run(points, score, false);
    }

    private float[] run(FloatMatrix points, Score score, boolean self) {
        check();
        switch (score) {
            case KNN:
            case MEAN_KNN:
                return knn(points, score == Score.KNN, self);
            case LOF:
                return lof(points, self);
            case CENTROID:
                return centroid(points);
            default:
                throw new IllegalStateException(score.toString());
        }
    }

    /** The k nearest reference rows and their distances of each point, self left out when asked. */
    private interface NeighbourSink {
        void accept(int point, int[] rows, double[] dist);
    }

    private void neighbours(FloatMatrix points, boolean self, NeighbourSink sink) {
        if (self) {
            referencePasses.incrementAndGet();
        }
        long n = points.rows();
        int want = self ? k + 1 : k;
        int[] rows = new int[k];
        double[] dist = new double[k];
        for (long from = 0; from < n; from += BLOCK) {
            long to = Math.min(n, from + BLOCK);
            Neighbors nb;
            try (FloatMatrix q = points.rowsView(from, to)) {
                nb = resident.search(q, want);
            }
            for (int i = 0; i < nb.queries(); i++) {
                int point = (int) (from + i);
                int c = 0;
                for (int r = 0; r < nb.count() && c < k; r++) {
                    long row = nb.id(i, r);
                    if (row < 0 || (self && row == point)) {
                        continue;
                    }
                    rows[c] = (int) row;
                    dist[c] = Distance.length(work, nb.score(i, r));
                    c++;
                }
                sink.accept(point, rows, dist);
            }
        }
    }

    private float[] knn(FloatMatrix points, boolean kth, boolean self) {
        float[] out = new float[(int) points.rows()];
        double[] kd = self && kDistance == null ? new double[out.length] : null;
        neighbours(points, self, (p, rows, dist) -> {
            if (kd != null) {
                kd[p] = dist[k - 1];
            }
            if (kth) {
                out[p] = (float) dist[k - 1];
            } else {
                double s = 0;
                for (double v : dist) {
                    s += v;
                }
                out[p] = (float) (s / k);
            }
        });
        if (kd != null && kDistance == null) {
            kDistance = kd;
        }
        return out;
    }

    /** How many k-nearest-neighbour searches over the whole reference (each point against it) have run. */
    int referencePasses() {
        return referencePasses.get();
    }

    /** The reference's k-distances (self excluded), computed once. */
    private double[] referenceKDistance() {
        double[] kd = kDistance;
        if (kd == null) {
            knn(reference, true, true);
            kd = kDistance;
        }
        return kd;
    }

    /** Fills the reference's k-distances and densities once (self excluded). */
    private void referenceDensity() {
        if (lrd != null) {
            return;
        }
        synchronized (this) {
            if (lrd != null) {
                return;
            }
            int n = (int) reference.rows();
            double[] kd = new double[n];
            int[][] nbRows = new int[n][];
            double[][] nbDist = new double[n][];
            neighbours(reference, true, (p, rows, dist) -> {
                kd[p] = dist[k - 1];
                nbRows[p] = rows.clone();
                nbDist[p] = dist.clone();
            });
            double[] density = new double[n];
            for (int p = 0; p < n; p++) {
                density[p] = density(nbRows[p], nbDist[p], kd);
            }
            kDistance = kd;
            lrd = density;
        }
    }

    /** Local reachability density from neighbours: 1 / mean reach-distance (1e-10 added, as scikit-learn does). */
    private double density(int[] rows, double[] dist, double[] kd) {
        double reach = 0;
        for (int j = 0; j < k; j++) {
            reach += Math.max(kd[rows[j]], dist[j]);
        }
        return 1.0 / (reach / k + 1e-10);
    }

    private float[] lof(FloatMatrix points, boolean self) {
        referenceDensity();
        double[] kd = kDistance;
        double[] ref = lrd;
        float[] out = new float[(int) points.rows()];
        neighbours(points, self, (p, rows, dist) -> {
            double own = self ? ref[p] : density(rows, dist, kd);
            double s = 0;
            for (int j = 0; j < k; j++) {
                s += ref[rows[j]];
            }
            out[p] = (float) (s / k / own);
        });
        return out;
    }

    private synchronized void clustering() {
        if (spread != null) {
            return;
        }
        if (clusters == null) {
            int c = (int) Math.max(1, Math.min(256, Math.round(Math.sqrt(reference.rows() / 2.0))));
            clusters = KMeans.of(c).seed(seed).backend(backend).fit(reference, metric);
        }
        KMeansResult r = clusters;
        KMeansResult.Placement all = r.labels().length == reference.rows()
                ? new KMeansResult.Placement(r.labels(), r.distances()) : r.assign(reference, backend);
        long[] sizes = new long[r.k()];
        for (int l : all.labels()) {
            sizes[l]++;
        }
        long minSize = Math.max(k, reference.rows() / 200);
        int d = reference.cols();
        java.util.List<float[]> kept = new java.util.ArrayList<>();
        for (int l = 0; l < r.k(); l++) {
            if (sizes[l] >= minSize) {
                kept.add(r.centroids().getRow(l));
            }
        }
        if (kept.isEmpty()) { // every cluster is small: take them all
            for (int l = 0; l < r.k(); l++) {
                if (sizes[l] > 0) {
                    kept.add(r.centroids().getRow(l));
                }
            }
        }
        float[] flat = new float[kept.size() * d];
        for (int i = 0; i < kept.size(); i++) {
            System.arraycopy(kept.get(i), 0, flat, i * d, d);
        }
        try (FloatMatrix c = FloatMatrix.of(flat, d)) {
            large = KMeansResult.ofCentroids(c, metric);
        }
        KMeansResult.Placement own = large.assign(reference, backend);
        int c = large.k();
        double[][] members = new double[c][];
        int[] fill = new int[c];
        int[] count = new int[c];
        for (int l : own.labels()) {
            count[l]++;
        }
        for (int l = 0; l < c; l++) {
            members[l] = new double[count[l]];
        }
        for (int i = 0; i < own.labels().length; i++) {
            int l = own.labels()[i];
            members[l][fill[l]++] = lengthOfDistance(own.distances()[i]);
        }
        double[] s = new double[c];
        for (int l = 0; l < c; l++) {
            s[l] = members[l].length == 0 ? Double.NaN : median(members[l]);
        }
        spread = s;
    }

    /** {@link Distance#of} back to {@link Distance#length}. */
    private double lengthOfDistance(double distance) {
        return work == Metric.L2 ? Math.sqrt(distance) : Math.sqrt(2.0 * distance);
    }

    private float[] centroid(FloatMatrix points) {
        clustering();
        KMeansResult.Placement p = large.assign(points, backend);
        float[] out = new float[p.labels().length];
        for (int i = 0; i < out.length; i++) {
            double typical = spread[p.labels()[i]];
            double d = lengthOfDistance(p.distances()[i]);
            out[i] = (float) (d / Math.max(typical, 1e-12));
        }
        return out;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int m = s.length / 2;
        return s.length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
    }

    /**
     * Whether the top outliers form a group of their own: of the {@code examined} highest-scored points (the
     * {@code top} asked for, at most {@link #GROUP_EXAMINED}),
     * {@code grouped} have their nearest neighbour (among the reference and the examined points, itself
     * left out) among the examined points rather than in the rest of the reference. Scattered outliers
     * each sit next to some ordinary point; a cluster of similar unusual points (records of a foreign kind,
     * a bot's near-copies) sit next to each other, and such a group scores low on {@link Score#LOF} and on
     * {@link Score#KNN} with {@code k} below its size. {@link #tight()} when at least
     * {@code max(3, ceil(examined / 5))} are grouped (chosen on planted groups in real embeddings, see
     * docs/analyses.md). {@code spread} is the median distance from a grouped point to its nearest grouped
     * mate, {@code typical} the median k-th neighbour distance in the reference, both as {@link Distance#length}.
     * {@code typical} is computed only for a {@link #tight()} group (it takes the reference's k-distances, a full
     * k-nearest-neighbour pass unless a {@link Score#KNN}, {@link Score#MEAN_KNN} or {@link Score#LOF} scoring of
     * the reference already made them) and is NaN otherwise.
     */
    public record Group(int examined, int grouped, double spread, double typical) {
        /** Grouped points needed for {@link #tight()} among this many examined. */
        public static int needed(int examined) {
            return Math.max(3, (examined + 4) / 5);
        }

        /** Whether enough of the top outliers are grouped to call it a group of their own. */
        public boolean tight() {
            return examined >= 3 && grouped >= needed(examined);
        }
    }

    /** {@link #group(FloatMatrix, float[], int)} for the reference's own scores ({@link #scoreReference}). */
    public Group groupInReference(float[] referenceScores, int top) {
        if (referenceScores.length != reference.rows()) {
            throw new IllegalArgumentException("expected " + reference.rows() + " reference scores, got "
                    + referenceScores.length);
        }
        return group(reference, referenceScores, top, true);
    }

    /** Whether the {@code top} highest-scored of {@code points} (scored by {@link #score}) form a group. */
    public Group group(FloatMatrix points, float[] scores, int top) {
        if (scores.length != points.rows()) {
            throw new IllegalArgumentException("expected " + points.rows() + " scores, got " + scores.length);
        }
        if (points.cols() != reference.cols()) {
            throw new IllegalArgumentException("points have dimension " + points.cols() + ", the reference "
                    + reference.cols());
        }
        return group(points, scores, top, false);
    }

    private Group group(FloatMatrix points, float[] scores, int top, boolean self) {
        check();
        if (top < 0) {
            throw new IllegalArgumentException("top must be >= 0, got " + top);
        }
        int[] best = top(scores, Math.min(top, GROUP_EXAMINED));
        int m = best.length;
        if (m < 2) {
            return new Group(m, 0, Double.NaN, Double.NaN);
        }
        int d = reference.cols();
        float[] flat = new float[m * d];
        float[] row = new float[d];
        for (int i = 0; i < m; i++) {
            points.getRow(best[i], row);
            System.arraycopy(row, 0, flat, i * d, d);
        }
        java.util.Set<Integer> members = new java.util.HashSet<>();
        for (int b : best) {
            members.add(b);
        }
        double[] nearTop = new double[m];
        double[] nearRef = new double[m];
        try (FloatMatrix q = FloatMatrix.of(flat, d); ResidentMatrix mates = backend.upload(q, work);
                FloatMatrix between = FloatMatrix.allocate(m, m)) {
            mates.distances(q, 0, m, between);
            float[] line = new float[m];
            for (int i = 0; i < m; i++) {
                between.getRow(i, line);
                double near = Double.POSITIVE_INFINITY;
                for (int j = 0; j < m; j++) {
                    if (j != i) {
                        near = Math.min(near, Distance.length(work, line[j]));
                    }
                }
                nearTop[i] = near;
            }
            // The nearest reference point outside the examined ones (for the reference: m + 1 neighbours suffice).
            int want = (int) Math.min(reference.rows(), self ? m + 1L : 1L);
            Neighbors nb = resident.search(q, want);
            for (int i = 0; i < m; i++) {
                nearRef[i] = Double.POSITIVE_INFINITY;
                for (int r = 0; r < nb.count(); r++) {
                    long id = nb.id(i, r);
                    if (id < 0 || (self && members.contains((int) id))) {
                        continue;
                    }
                    nearRef[i] = Distance.length(work, nb.score(i, r));
                    break;
                }
            }
        }
        int grouped = 0;
        double[] spreads = new double[m];
        for (int i = 0; i < m; i++) {
            if (nearTop[i] < nearRef[i] && Double.isFinite(nearRef[i])) { // all examined: nothing to compare with
                spreads[grouped++] = nearTop[i];
            }
        }
        double spread = grouped == 0 ? Double.NaN : median(Arrays.copyOf(spreads, grouped));
        boolean tight = new Group(m, grouped, spread, Double.NaN).tight();
        return new Group(m, grouped, spread, tight ? median(referenceKDistance()) : Double.NaN);
    }

    /**
     * The score above which a point is called an outlier: the {@code quantile} of the reference's own scores
     * (for a contamination rate c, the quantile 1 − c), linear between order statistics.
     */
    public static double threshold(float[] referenceScores, double quantile) {
        if (!(quantile >= 0 && quantile <= 1)) {
            throw new IllegalArgumentException("quantile must be in [0, 1], got " + quantile);
        }
        if (referenceScores.length == 0) {
            throw new IllegalArgumentException("no reference scores to take a quantile of");
        }
        float[] s = referenceScores.clone();
        Arrays.sort(s);
        double pos = quantile * (s.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(s.length - 1, lo + 1);
        return s[lo] + (pos - lo) * (s[hi] - s[lo]);
    }

    /** Indices of the {@code top} highest scores, highest first (ties to the lower index). */
    public static int[] top(float[] scores, int top) {
        Integer[] idx = new Integer[scores.length];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, (a, b) -> {
            int c = Float.compare(scores[b], scores[a]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        int m = Math.min(top, idx.length);
        int[] out = new int[m];
        for (int i = 0; i < m; i++) {
            out[i] = idx[i];
        }
        return out;
    }

    private void check() {
        if (closed) {
            throw new IllegalStateException("Outliers is closed");
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        resident.close();
        if (clusters != null) {
            clusters.close();
        }
        if (large != null) {
            large.close();
        }
    }
}
