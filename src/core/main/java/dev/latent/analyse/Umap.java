package dev.latent.analyse;

import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.compute.ResidentMatrix;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.core.Vectors;

import java.util.Locale;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * UMAP, uniform manifold approximation and projection (McInnes, Healy and Melville 2018): a layout of the
 * points in a few dimensions (two for a map) that keeps each point's nearest neighbours near it. Written
 * from the paper and the algorithm of the reference implementation, umap-learn 0.5:
 *
 * <ol>
 *   <li><b>Neighbours.</b> The exact k nearest other points of every point, by the backend's
 *       {@link ResidentMatrix#search} (k + 1 searched, the point itself dropped by row, so an exact duplicate
 *       of another row stays a neighbour, at the backend's float32 distance: 0 up to rounding), in blocks of
 *       {@value #SEARCH_BLOCK} queries.
 *       Distances are Euclidean under {@link Metric#L2} and the cosine distance {@code 1 − cos} under
 *       {@link Metric#COSINE} and {@link Metric#INNER_PRODUCT} (directions, as the other analyses treat an
 *       inner-product space; umap-learn's {@code metric="cosine"}).</li>
 *   <li><b>Local fuzzy sets</b> ({@code smooth_knn_dist}): ρᵢ is the distance to the nearest neighbour
 *       at a distance above 0, and σᵢ is found by a binary search (64 steps at most, to 1e-5) so that
 *       {@code Σⱼ exp(−max(0, dᵢⱼ − ρᵢ) / σᵢ) = log2(k + 1)}; σᵢ is kept at least 1e-3 of the mean
 *       neighbour distance. Membership {@code wᵢⱼ = exp(−max(0, dᵢⱼ − ρᵢ) / σᵢ)}. umap-learn counts the
 *       point itself among its {@code n_neighbors}: k here is the number of other points, so k = 15
 *       matches {@code n_neighbors=16} exactly.</li>
 *   <li><b>Fuzzy union</b>: the symmetric graph {@code A + Aᵀ − A ∘ Aᵀ} ({@link UmapGraph}).</li>
 *   <li><b>Curve</b>: the low-dimensional similarity {@code 1 / (1 + a d^(2b))}, with a and b fitted by
 *       least squares (Levenberg–Marquardt, as scipy's {@code curve_fit}) to 1 below {@code minDist} and
 *       {@code exp(−(d − minDist) / spread)} above it, on 300 points of [0, 3·spread]
 *       ({@link #curve}; a ≈ 1.577, b ≈ 0.895 for the defaults).</li>
 *   <li><b>Initial layout</b>: {@link Init#PCA} by default, the projection on the leading principal axes
 *       (by {@link Pca}: scatter matrix from {@link Backend#gram}, eigenvectors by EJML, each axis's largest component made
 *       positive), deterministic; or {@link Init#RANDOM} (uniform in [−10, 10]). As umap-learn does with its
 *       spectral start: scaled so the largest coordinate is 10, noise of standard deviation 1e-4 added,
 *       then each dimension mapped to [0, 10].</li>
 *   <li><b>Optimisation</b>: stochastic gradient descent on the fuzzy cross-entropy, edge by edge, each
 *       edge sampled once every {@code max weight / weight} epochs (edges below {@code max / epochs}
 *       dropped), both ends attracted; each sample followed by {@link #negativeSampleRate} (5) uniformly
 *       drawn points pushing the head away; every gradient component clipped to ±4; learning rate from
 *       {@link #learningRate} (1) down linearly over {@link #epochs} (500 up to 10,000 points, else 200).
 *       The one liberty taken is the order of the samples within an epoch: umap-learn walks the edges sorted
 *       by head, so every sample waits for the previous update of the same point; here the edges go
 *       round-robin over the points (each point's first edge, then each point's second, ...) and the
 *       negative samples of 8 due edges are interleaved. Every update still reads the coordinates the
 *       previous one left (sequential descent, in another fixed order), and the processor overlaps the
 *       independent chains: about twice as fast.</li>
 * </ol>
 *
 * <pre>{@code
 * try (UmapResult r = Umap.of().neighbors(15).seed(42).fit(vectors, Metric.COSINE)) {
 *     float[] xy = r.layoutArray();          // x0, y0, x1, y1, ...
 * }
 * }</pre>
 *
 * <p><b>New points.</b> {@link #transform} places points on a layout fitted earlier without moving it, as
 * umap-learn's {@code transform} (the differences are listed there).
 *
 * <p><b>Settings.</b> The defaults are umap-learn's. On sentence embeddings they give a trustworthiness
 * (k = 10, {@link Trustworthiness}) below t-SNE's: 0.856 against 0.938 on the 5,000 sample glosses. Stronger
 * repulsion with {@code minDist(0)} closes the gap: {@code repulsion(8)} gave 0.940 at k = 10 and 0.943 at
 * k = 15 in about the same time; more negative samples work too, at more cost ({@code jmh/map/umap-vs-tsne.sh}).
 *
 * <p><b>Determinism.</b> The optimisation runs on the calling thread with one seeded random stream, so a
 * fixed {@link #seed} gives an identical layout for the same input on one backend (the backends agree on
 * neighbours except where two distances tie within float32 rounding).
 *
 * <p><b>Memory.</b> Besides the input (read in place; under cosine a unit-length copy unless the rows
 * already have unit length): the graph and the optimisation's schedule on the heap, about {@code 64 · n · k}
 * bytes at the peak (1 GB for a million points at k = 15), and the layout. A {@code Umap} is a mutable configuration, not thread-safe; {@link #fit} may be called again,
 * and each result belongs to the caller.
 */
public final class Umap {
    /** How the layout starts. */
    public enum Init {
        /** Projection on the leading principal axes of the points (directions under cosine). */
        PCA,
        /** Uniform random coordinates, from the seed. */
        RANDOM;

        /** Parses {@code pca} or {@code random}. */
        public static Init parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown UMAP init '" + s + "' (expected pca or random)");
            }
        }
    }

    /**
     * The low-dimensional similarity {@code 1 / (1 + a · d^(2b))} of two points at distance d.
     *
     * @param a scale, > 0
     * @param b shape, > 0
     */
    public record Curve(double a, double b) {
        /** The similarity at distance {@code d}. */
        public double at(double d) {
            return 1.0 / (1.0 + a * Math.pow(d, 2 * b));
        }
    }

    /** Queries per neighbour search, bounding the result arrays held at once. */
    static final int SEARCH_BLOCK = 4096;

    private int neighbors = 15;
    private int components = 2;
    private double minDist = 0.1;
    private double spread = 1.0;
    private int epochs;
    private Listener listener;
    private double learningRate = 1.0;
    private int negativeSampleRate = 5;
    private double repulsion = 1.0;
    private long seed = 42;
    private Init init = Init.PCA;
    private Backend backend;

    private Umap() {
    }

    /** A UMAP with the defaults: 2 components, k = 15, minDist 0.1, spread 1, PCA start, seed 42. */
    public static Umap of() {
        return new Umap();
    }

    /** Other points each point is linked to (default 15; umap-learn's {@code n_neighbors} minus 1). */
    public Umap neighbors(int k) {
        this.neighbors = atLeast(k, 1, "neighbours");
        return this;
    }

    /** Output dimensions (default 2; at most the input dimension). */
    public Umap components(int m) {
        this.components = atLeast(m, 1, "components");
        return this;
    }

    /** Distance below which neighbours are drawn no closer (default 0.1; at most {@link #spread}). */
    public Umap minDist(double d) {
        this.minDist = finite(d, false, "minDist");
        return this;
    }

    /** Scale of the embedded points (default 1). */
    public Umap spread(double s) {
        this.spread = finite(s, true, "spread");
        return this;
    }

    /** Optimisation epochs (default 0: 500 up to 10,000 points, else 200). */
    public Umap epochs(int n) {
        this.epochs = atLeast(n, 0, "epochs");
        return this;
    }

    /** Initial learning rate (default 1), decaying linearly to 0. */
    public Umap learningRate(double rate) {
        this.learningRate = finite(rate, true, "learning rate");
        return this;
    }

    /** Random points pushed away per sampled edge (default 5). */
    public Umap negativeSampleRate(int rate) {
        this.negativeSampleRate = atLeast(rate, 0, "negative sample rate");
        return this;
    }

    /** Weight of the repulsive term, umap-learn's {@code repulsion_strength} γ (default 1). */
    public Umap repulsion(double gamma) {
        this.repulsion = finite(gamma, false, "repulsion");
        return this;
    }

    private static int atLeast(int v, int min, String what) {
        if (v < min) {
            throw new IllegalArgumentException("UMAP " + what + " must be >= " + min + ", got " + v);
        }
        return v;
    }

    /** {@code v} if finite and > 0 ({@code positive}) or >= 0; else an error naming the setting. */
    private static double finite(double v, boolean positive, String what) {
        if (!(positive ? v > 0 : v >= 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException("UMAP " + what + " must be finite and " + (positive ? "> 0" : ">= 0") + ", got " + v);
        }
        return v;
    }

    /** Told after each optimisation epoch (for a progress bar); called on the fitting thread. */
    @FunctionalInterface
    public interface Listener {
        void epochDone(int done, int total);
    }

    /** A listener told after each optimisation epoch (default none). */
    public Umap listener(Listener listener) {
        this.listener = listener;
        return this;
    }

    /** Random seed for the start noise and the negative samples (default 42). */
    public Umap seed(long seed) {
        this.seed = seed;
        return this;
    }

    public Umap init(Init init) {
        this.init = Objects.requireNonNull(init, "init");
        return this;
    }

    /** The backend that finds the neighbours and the scatter matrix (default {@link Backends#get()}). */
    public Umap backend(Backend backend) {
        this.backend = Objects.requireNonNull(backend, "backend");
        return this;
    }

    public int neighbors() {
        return neighbors;
    }

    public int components() {
        return components;
    }

    /** The epochs a fit of {@code n} points runs: {@link #epochs(int)} when set, else 500 up to 10,000 points, else 200. */
    public int epochsFor(long n) {
        return epochs > 0 ? epochs : n <= 10_000 ? 500 : 200;
    }

    /**
     * Lays out the rows of {@code points} (read, not changed) under {@code metric}.
     *
     * @throws IllegalArgumentException for fewer than k + 1 points, more components than the input
     *     dimension, minDist above spread, or a row that breaks the vector rule (named by row: a NaN or
     *     infinite component, or under cosine a zero vector)
     */
    public UmapResult fit(FloatMatrix points, Metric metric) {
        Objects.requireNonNull(points, "points");
        Objects.requireNonNull(metric, "metric");
        long rows = points.rows();
        int d = points.cols();
        int k = neighbors;
        if (rows < k + 1L) {
            throw new IllegalArgumentException("UMAP with k = " + k + " neighbours needs at least k + 1 = " + (k + 1)
                    + " points; got " + rows + " (lower the neighbours or add points)");
        }
        if (components > d) {
            throw new IllegalArgumentException("UMAP components = " + components
                    + " is more than the input dimension d = " + d);
        }
        if (minDist > spread) {
            throw new IllegalArgumentException("UMAP minDist = " + minDist + " must be at most spread = " + spread);
        }
        if (rows * k > (Integer.MAX_VALUE - 8) / 2) {
            throw new IllegalArgumentException("UMAP takes at most " + ((Integer.MAX_VALUE - 8) / 2 / k)
                    + " points with k = " + k + "; got " + rows);
        }
        if (rows * components > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("UMAP layouts hold at most " + (Integer.MAX_VALUE - 8)
                    + " coordinates; " + rows + " points x " + components + " components is more");
        }
        int n = (int) rows;
        Metric work = Distance.spherical(metric) ? Metric.COSINE : Metric.L2;
        Vectors.check(points, work, null, 0);
        Backend be = backend != null ? backend : Backends.get();
        int nEpochs = epochsFor(n);
        Curve curve = curve(minDist, spread);

        long t0 = System.nanoTime();
        FloatMatrix unit = work == Metric.COSINE ? Rows.unitCopyIfNeeded(points) : null;
        try {
            FloatMatrix x = unit != null ? unit : points;
            int[] knnRows = new int[n * k];
            float[] knnDist = new float[n * k];
            double[] start;
            long t1;
            long t2;
            UmapGraph graph;
            try (ResidentMatrix resident = be.upload(x, work)) {
                neighbours(resident, x, work, k, knnRows, knnDist);
                t1 = System.nanoTime();
                graph = FuzzySimplicialSet.union(n, k, knnRows, knnDist);
                t2 = System.nanoTime();
            }
            start = init == Init.PCA ? pca(be, x, components) : random(n, components, seed);
            rescale(start, n, components, seed);
            long t3 = System.nanoTime();
            double[] y = start;
            optimise(y, graph, n, components, curve, nEpochs);
            float[] flat = new float[n * components];
            for (int i = 0; i < flat.length; i++) {
                flat[i] = (float) y[i];
            }
            long t4 = System.nanoTime();
            return new UmapResult(FloatMatrix.of(flat, components), graph, curve, k, nEpochs, be.name(),
                    (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9, (t4 - t3) / 1e9);
        } finally {
            if (unit != null) {
                unit.close();
            }
        }
    }

    /**
     * The epochs a {@link #transform} of {@code q} new points runs: a third of {@link #epochs(int)} when set (at
     * least 1), else 100 for up to 10,000 new points and 30 for more (umap-learn's {@code transform}, which counts
     * the rows of the new points' graph, not the reference).
     */
    public int transformEpochsFor(long q) {
        return epochs > 0 ? Math.max(1, epochs / 3) : q <= 10_000 ? 100 : 30;
    }

    /**
     * Places new points on a layout fitted earlier without moving it, as umap-learn's {@code transform}
     * (0.5, {@code output_metric="euclidean"}):
     *
     * <ol>
     *   <li>each new point's k + 1 nearest rows of {@code reference} (umap-learn's {@code n_neighbors}; exact, by
     *       the backend's search, under {@code metric} as in {@link #fit}); a reference row equal to the new point
     *       (compared component by component, unit vectors under cosine) at distance exactly 0, which the
     *       backend's float32 arithmetic misses by rounding;</li>
     *   <li>memberships by {@code smooth_knn_dist} with local connectivity 1 − 1 = 0 (umap-learn's
     *       {@code adjusted_local_connectivity}): ρ = 0, {@code w = exp(−d / σ)}, σ by the fit's binary search so
     *       that the memberships of the 2nd to the (k + 1)-th neighbour sum to log2(k + 1) (umap-learn's sum skips
     *       the first column, the point itself in a fit, here the nearest reference row), σ at least 1e-3 of the
     *       batch's mean neighbour distance; weight 1 at distance 0;</li>
     *   <li>a start ({@code init_graph_transform}): on the reference point itself when a membership is 1 (an exact
     *       duplicate; of several, the lowest row), else at the membership-weighted mean of the neighbours'
     *       positions;</li>
     *   <li>{@link #transformEpochsFor}{@code (q)} epochs of the fit's stochastic gradient descent in which only the
     *       new points move (attracted to their reference neighbours, repelled from uniformly drawn reference
     *       points), from a learning rate of a quarter of {@link #learningRate}; with {@code max} the batch's largest
     *       membership, edges below {@code max / epochs} dropped and each kept edge sampled once every
     *       {@code max / w} epochs.</li>
     * </ol>
     *
     * <p>New points do not see each other, but a point's result still depends on the rest of the batch: through
     * the number of epochs (the batch's size), the σ floor (1e-3 of the batch's mean distance; it binds where a
     * point's neighbours are far nearer than the batch's on average, duplicates among them), the largest
     * membership of the batch (which sets every edge's sampling rate and the floor of dropped edges) and the
     * shared random stream. All as umap-learn. The differences: exact neighbours (umap-learn searches its
     * approximate index above about 4,096 reference rows), a neighbour at cosine distance 2 or more is kept
     * (umap-learn drops it, and a point left without neighbours starts at NaN), arithmetic in float64 rather than
     * float32, and the fit's order of the samples within an epoch and its random stream.
     *
     * <p>The settings that shape the layout ({@link #neighbors}, {@link #minDist}, {@link #spread},
     * {@link #repulsion}) should be those of the fit; {@code reference} and {@code layout} are the fit's input and
     * output (or any layout of those rows).
     *
     * @param reference the rows the layout was fitted on, read, not changed
     * @param layout    their coordinates, {@code reference.rows() × components}, read, not changed
     * @param points    the new points, {@code q × d} with the reference's d
     * @param metric    the metric of the fit
     * @return the new points' coordinates, {@code q × layout.cols()}, owned by the caller
     * @throws IllegalArgumentException for a layout whose rows differ from the reference's, points of another
     *     dimension, fewer than k + 1 reference rows, or a row that breaks the vector rule
     */
    public FloatMatrix transform(FloatMatrix reference, FloatMatrix layout, FloatMatrix points, Metric metric) {
        Objects.requireNonNull(reference, "reference");
        Objects.requireNonNull(layout, "layout");
        Objects.requireNonNull(points, "points");
        Objects.requireNonNull(metric, "metric");
        if (layout.rows() != reference.rows()) {
            throw new IllegalArgumentException("the layout has " + layout.rows() + " rows, the reference "
                    + reference.rows() + ": give the rows the layout was fitted on");
        }
        if (points.cols() != reference.cols()) {
            throw new IllegalArgumentException("the new points have dimension " + points.cols()
                    + ", the reference " + reference.cols());
        }
        int kq = neighbors + 1;
        if (reference.rows() < kq) {
            throw new IllegalArgumentException("placing points with k = " + neighbors + " needs at least k + 1 = "
                    + kq + " reference points; got " + reference.rows());
        }
        if (minDist > spread) {
            throw new IllegalArgumentException("UMAP minDist = " + minDist + " must be at most spread = " + spread);
        }
        long total = reference.rows() + points.rows();
        if (points.rows() * kq > Integer.MAX_VALUE - 8 || total * layout.cols() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("too many points to place: " + points.rows());
        }
        int nRef = (int) reference.rows();
        int q = (int) points.rows();
        int m = layout.cols();
        float[] fixed = layout.copyRows(0, nRef);
        for (int i = 0; i < fixed.length; i++) {
            if (!Float.isFinite(fixed[i])) {
                throw new IllegalArgumentException("layout row " + i / m + " has a coordinate that is not finite");
            }
        }
        if (q == 0) {
            return FloatMatrix.allocate(0, m);
        }
        Metric work = Distance.spherical(metric) ? Metric.COSINE : Metric.L2;
        Vectors.check(reference, work, null, 0);
        Vectors.check(points, work, null, 0);
        Backend be = backend != null ? backend : Backends.get();
        Curve curve = curve(minDist, spread);
        int nEpochs = transformEpochsFor(q);
        int[] knnRows = new int[q * kq];
        float[] knnDist = new float[q * kq];
        FloatMatrix unitRef = work == Metric.COSINE ? Rows.unitCopyIfNeeded(reference) : null;
        FloatMatrix unitPts = work == Metric.COSINE ? Rows.unitCopyIfNeeded(points) : null;
        FloatMatrix refWork = unitRef != null ? unitRef : reference;
        try (ResidentMatrix resident = be.upload(refWork, work)) {
            FloatMatrix x = unitPts != null ? unitPts : points;
            int d = x.cols();
            float[] query = new float[d];
            float[] other = new float[d];
            for (int from = 0; from < q; from += SEARCH_BLOCK) {
                int to = Math.min(q, from + SEARCH_BLOCK);
                Neighbors nb;
                try (FloatMatrix block = x.rowsView(from, to)) {
                    nb = resident.search(block, kq);
                }
                for (int i = 0; i < nb.queries(); i++) {
                    int base = (from + i) * kq;
                    int c = 0;
                    for (int r = 0; r < nb.count() && c < kq; r++) {
                        long row = nb.id(i, r);
                        if (row < 0) {
                            continue;
                        }
                        knnRows[base + c] = (int) row;
                        double dist = Distance.of(work, nb.score(i, r));
                        knnDist[base + c] = (float) (work == Metric.L2 ? Math.sqrt(Math.max(0, dist)) : dist);
                        c++;
                    }
                    if (c != kq) {
                        throw new IllegalStateException("the backend returned " + c + " neighbours of new point "
                                + (from + i) + ", expected " + kq);
                    }
                    exactDuplicates(x, from + i, refWork, work, knnRows, knnDist, base, kq, query, other);
                }
            }
        } finally {
            if (unitRef != null) {
                unitRef.close();
            }
            if (unitPts != null) {
                unitPts.close();
            }
        }
        double[] w = FuzzySimplicialSet.transformMemberships(q, kq, knnDist);
        // One array: the fixed reference first, the new points after it.
        double[] y = new double[(nRef + q) * m];
        for (int i = 0; i < nRef * m; i++) {
            y[i] = fixed[i];
        }
        double max = 0;
        for (int i = 0; i < q; i++) {
            double sum = 0;
            int same = -1;
            for (int j = 0; j < kq; j++) {
                double v = w[i * kq + j];
                sum += v;
                max = Math.max(max, v);
                int t = knnRows[i * kq + j];
                if (v == 1.0 && (same < 0 || t < same)) {
                    same = t;
                }
            }
            if (same >= 0) {
                // A duplicate of a reference row starts on it (umap-learn's init_graph_transform: the first
                // column of weight 1, columns in row order).
                for (int c = 0; c < m; c++) {
                    y[(nRef + i) * m + c] = fixed[same * m + c];
                }
                continue;
            }
            for (int j = 0; j < kq; j++) {
                int t = knnRows[i * kq + j];
                double share = sum > 0 ? w[i * kq + j] / sum : 1.0 / kq;
                for (int c = 0; c < m; c++) {
                    y[(nRef + i) * m + c] += share * fixed[t * m + c];
                }
            }
        }
        // Edges too weak to be sampled once are dropped (umap-learn: weight < max / n_epochs).
        double floor = max / nEpochs;
        int edges = 0;
        for (double v : w) {
            if (v >= floor && v > 0) {
                edges++;
            }
        }
        // Round-robin over the new points, as the fit orders its edges.
        int[] head = new int[edges];
        int[] tail = new int[edges];
        double[] perSample = new double[edges];
        int e = 0;
        for (int r = 0; r < kq; r++) {
            for (int i = 0; i < q; i++) {
                double v = w[i * kq + r];
                if (v >= floor && v > 0) {
                    head[e] = nRef + i;
                    tail[e] = knnRows[i * kq + r];
                    perSample[e++] = max / v;
                }
            }
        }
        UmapSgd sgd = new UmapSgd(y, nRef, m, head, tail, perSample, negativeSampleRate, curve.a(), curve.b(),
                repulsion, new SplittableRandom(seed).nextLong() | 1L, false);
        double start = learningRate / 4;
        double alpha = start;
        for (int epoch = 0; epoch < nEpochs; epoch++) {
            sgd.epoch(epoch, alpha);
            alpha = start * (1.0 - (double) epoch / nEpochs);
            if (listener != null) {
                listener.epochDone(epoch + 1, nEpochs);
            }
        }
        float[] out = new float[q * m];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) y[nRef * m + i];
        }
        return FloatMatrix.of(out, m);
    }

    /**
     * Sets the distance of new point {@code p} to a reference row holding the same vector (the same unit vector
     * under cosine) to exactly 0, and keeps the row's neighbours in ascending order. The backends compute a squared
     * distance as {@code |x|² + |y|² − 2 x·y} in float32, which leaves a duplicate at a small distance above 0
     * (about 1e-7 of {@code |x|²}); the candidates are the neighbours within 1e-5 of {@code |x|²} (under cosine,
     * a cosine distance of 1e-5), each compared component by component.
     */
    private static void exactDuplicates(FloatMatrix x, int p, FloatMatrix ref, Metric work, int[] knnRows,
            float[] knnDist, int base, int kq, float[] query, float[] other) {
        x.getRow(p, query);
        double tolerance;
        if (work == Metric.L2) {
            double norm = 0;
            for (float v : query) {
                norm += (double) v * v;
            }
            tolerance = Math.sqrt(1e-5 * norm);  // knnDist holds the Euclidean distance under L2
        } else {
            tolerance = 1e-5;
        }
        boolean changed = false;
        for (int j = 0; j < kq && knnDist[base + j] <= tolerance; j++) {
            if (knnDist[base + j] != 0 && java.util.Arrays.equals(query, ref.getRow(knnRows[base + j], other))) {
                knnDist[base + j] = 0;
                changed = true;
            }
        }
        if (changed) {
            // Insertion sort by distance (the zeros move forward; ties keep the backend's order).
            for (int j = base + 1; j < base + kq; j++) {
                float dj = knnDist[j];
                int rj = knnRows[j];
                int i = j - 1;
                while (i >= base && knnDist[i] > dj) {
                    knnDist[i + 1] = knnDist[i];
                    knnRows[i + 1] = knnRows[i];
                    i--;
                }
                knnDist[i + 1] = dj;
                knnRows[i + 1] = rj;
            }
        }
    }

    // ---- 1. neighbours ----

    /** Fills each point's k nearest other rows (ascending distance) and their distances. */
    private static void neighbours(ResidentMatrix resident, FloatMatrix x, Metric work, int k, int[] knnRows,
            float[] knnDist) {
        int n = (int) x.rows();
        for (int from = 0; from < n; from += SEARCH_BLOCK) {
            int to = Math.min(n, from + SEARCH_BLOCK);
            Neighbors nb;
            try (FloatMatrix q = x.rowsView(from, to)) {
                nb = resident.search(q, k + 1);
            }
            for (int i = 0; i < nb.queries(); i++) {
                int point = from + i;
                int base = point * k;
                int c = 0;
                for (int r = 0; r < nb.count() && c < k; r++) {
                    long row = nb.id(i, r);
                    if (row < 0 || row == point) {
                        continue;
                    }
                    knnRows[base + c] = (int) row;
                    double dist = Distance.of(work, nb.score(i, r));
                    knnDist[base + c] = (float) (work == Metric.L2 ? Math.sqrt(dist) : dist);
                    c++;
                }
                if (c != k) {
                    throw new IllegalStateException("the backend returned " + c + " neighbours of row " + point
                            + " other than itself, expected " + k);
                }
            }
        }
    }

    // ---- 2, 3. local fuzzy sets and their union: FuzzySimplicialSet ----

    // ---- 4. the curve ----

    /**
     * Fits {@code 1 / (1 + a x^(2b))} by least squares to 1 for {@code x < minDist} and
     * {@code exp(−(x − minDist) / spread)} above, on 300 evenly spaced x in [0, 3·spread]: umap-learn's
     * {@code find_ab_params}, with Levenberg–Marquardt from (1, 1) as scipy's {@code curve_fit}.
     */
    public static Curve curve(double minDist, double spread) {
        if (!(spread > 0) || Double.isInfinite(spread)) {
            throw new IllegalArgumentException("spread must be finite and > 0, got " + spread);
        }
        if (!(minDist >= 0) || minDist > spread) {
            throw new IllegalArgumentException("minDist must be in [0, spread = " + spread + "], got " + minDist);
        }
        int m = 300;
        double[] x = new double[m];
        double[] y = new double[m];
        for (int i = 0; i < m; i++) {
            x[i] = spread * 3 * i / (m - 1);
            y[i] = x[i] < minDist ? 1.0 : Math.exp(-(x[i] - minDist) / spread);
        }
        double a = 1;
        double b = 1;
        double lambda = 1e-3;
        double cost = cost(x, y, a, b);
        for (int iter = 0; iter < 500; iter++) {
            // Normal equations of the Jacobian: J = [df/da, df/db] per point.
            double jaa = 0;
            double jab = 0;
            double jbb = 0;
            double ga = 0;
            double gb = 0;
            for (int i = 0; i < m; i++) {
                double xi = x[i];
                double t = xi > 0 ? Math.pow(xi, 2 * b) : 0;
                double den = 1 + a * t;
                double f = 1 / den;
                double r = f - y[i];
                double da = -t / (den * den);
                double db = xi > 0 ? -a * t * 2 * Math.log(xi) / (den * den) : 0;
                jaa += da * da;
                jab += da * db;
                jbb += db * db;
                ga += da * r;
                gb += db * r;
            }
            boolean improved = false;
            while (lambda < 1e16) {
                double maa = jaa * (1 + lambda);
                double mbb = jbb * (1 + lambda);
                double det = maa * mbb - jab * jab;
                double stepA = (-ga * mbb + gb * jab) / det;
                double stepB = (-gb * maa + ga * jab) / det;
                double na = a + stepA;
                double nb = b + stepB;
                double nc = na > 0 && nb > 0 ? cost(x, y, na, nb) : Double.POSITIVE_INFINITY;
                if (nc < cost) {
                    boolean small = Math.abs(stepA) <= 1e-12 * (Math.abs(a) + 1e-12)
                            && Math.abs(stepB) <= 1e-12 * (Math.abs(b) + 1e-12);
                    a = na;
                    b = nb;
                    boolean flat = cost - nc <= 1e-15 * cost;
                    cost = nc;
                    lambda = Math.max(lambda / 10, 1e-12);
                    improved = !(small || flat);
                    break;
                }
                lambda *= 10;
            }
            if (!improved) {
                break;
            }
        }
        return new Curve(a, b);
    }

    private static double cost(double[] x, double[] y, double a, double b) {
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            double t = x[i] > 0 ? Math.pow(x[i], 2 * b) : 0;
            double r = 1 / (1 + a * t) - y[i];
            s += r * r;
        }
        return s;
    }

    // ---- 5. the start ----

    /** Coordinates on the leading principal axes of {@code x} (row-major n × m), by {@link Pca}. */
    private static double[] pca(Backend be, FloatMatrix x, int m) {
        int n = (int) x.rows();
        double[] y = new double[n * m];
        try (FloatMatrix z = Pca.of(m).backend(be).fit(x).transform(x, be)) {
            float[] row = new float[m];
            for (int i = 0; i < n; i++) {
                z.getRow(i, row);
                for (int c = 0; c < m; c++) {
                    y[i * m + c] = row[c];
                }
            }
        }
        return y;
    }

    private static double[] random(int n, int m, long seed) {
        SplittableRandom r = new SplittableRandom(seed ^ 0x5DEECE66DL);
        double[] y = new double[n * m];
        for (int i = 0; i < y.length; i++) {
            y[i] = r.nextDouble(-10, 10);
        }
        return y;
    }

    /**
     * umap-learn's treatment of a start: scaled so the largest coordinate is 10, Gaussian noise of standard
     * deviation 1e-4 added (it separates coincident points), then each dimension mapped onto [0, 10].
     */
    static void rescale(double[] y, int n, int m, long seed) {
        double max = 0;
        for (double v : y) {
            max = Math.max(max, Math.abs(v));
        }
        double expansion = max > 0 ? 10 / max : 1;
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < y.length; i++) {
            y[i] = y[i] * expansion + 1e-4 * gaussian(r);
        }
        for (int c = 0; c < m; c++) {
            double lo = Double.POSITIVE_INFINITY;
            double hi = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                lo = Math.min(lo, y[i * m + c]);
                hi = Math.max(hi, y[i * m + c]);
            }
            double scale = hi > lo ? 10 / (hi - lo) : 0;
            for (int i = 0; i < n; i++) {
                y[i * m + c] = (y[i * m + c] - lo) * scale;
            }
        }
    }

    /** A standard normal draw (Box–Muller), the same on every JDK. */
    private static double gaussian(SplittableRandom r) {
        double u = r.nextDouble();
        double v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }

    // ---- 6. the optimisation ----

    /**
     * umap-learn's {@code optimize_layout_euclidean} with {@code move_other}: epoch by epoch, every edge
     * due is sampled (both ends attracted), then the negative samples owed to it (the head repelled).
     */
    private void optimise(double[] y, UmapGraph graph, int n, int m, Curve curve, int nEpochs) {
        int[] offsets = graph.offsets();
        int[] columns = graph.columns();
        float[] weights = graph.weights();
        float max = 0;
        for (float w : weights) {
            max = Math.max(max, w);
        }
        // Edges too weak to be sampled once in the run are dropped (umap-learn: weight < max / n_epochs).
        double floor = max / (double) nEpochs;
        int edges = 0;
        for (float w : weights) {
            if (w >= floor) {
                edges++;
            }
        }
        // Edge order: every point's first kept edge, then every point's second, and so on. Consecutive
        // samples then move different points, so the processor overlaps their dependency chains (in head
        // order, as umap-learn's loop runs, each sample waits for the previous one's update of the same
        // point). Any fixed order is the same stochastic descent.
        int widest = 0;
        int[] kept = new int[n];
        for (int i = 0; i < n; i++) {
            for (int p = offsets[i]; p < offsets[i + 1]; p++) {
                if (weights[p] >= floor) {
                    kept[i]++;
                }
            }
            widest = Math.max(widest, kept[i]);
        }
        int[] start = new int[widest + 1];
        for (int i = 0; i < n; i++) {
            for (int r = 0; r < kept[i]; r++) {
                start[r + 1]++;
            }
        }
        for (int r = 0; r < widest; r++) {
            start[r + 1] += start[r];
        }
        int[] head = new int[edges];
        int[] tail = new int[edges];
        double[] perSample = new double[edges];
        for (int i = 0; i < n; i++) {
            int r = 0;
            for (int p = offsets[i]; p < offsets[i + 1]; p++) {
                if (weights[p] >= floor) {
                    int e = start[r++]++;
                    head[e] = i;
                    tail[e] = columns[p];
                    perSample[e] = max / (double) weights[p];
                }
            }
        }
        UmapSgd sgd = new UmapSgd(y, n, m, head, tail, perSample, negativeSampleRate, curve.a(), curve.b(), repulsion,
                new SplittableRandom(seed).nextLong() | 1L);
        double alpha = learningRate;
        for (int epoch = 0; epoch < nEpochs; epoch++) {
            sgd.epoch(epoch, alpha);
            alpha = learningRate * (1.0 - (double) epoch / nEpochs);
            if (listener != null) {
                listener.epochDone(epoch + 1, nEpochs);
            }
        }
    }

}
