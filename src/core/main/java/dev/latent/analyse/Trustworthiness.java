package dev.latent.analyse;

import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.compute.Checks;
import dev.latent.compute.ResidentMatrix;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.core.Vectors;
import java.util.Arrays;
import java.util.Objects;

/**
 * How far a low-dimensional layout can be trusted: the trustworthiness of Venna and Kaski (2001), as
 * scikit-learn's {@code sklearn.manifold.trustworthiness} defines it,
 *
 * <pre>
 *   T(k) = 1 − 2 / (n k (2n − 3k − 1)) · Σᵢ Σ_{j ∈ Nₖ(i)} max(0, r(i, j) − k)
 * </pre>
 *
 * where Nₖ(i) are the k nearest neighbours of point i in the layout (Euclidean, the point itself left out
 * by row) and r(i, j) is the rank of j among i's neighbours in the original space (1 for the nearest). T is
 * 1 when every layout neighbour is also an original neighbour, and falls as the layout brings in points that
 * were far. Original distances are Euclidean under {@link Metric#L2} and the cosine distance under
 * {@link Metric#COSINE} and {@link Metric#INNER_PRODUCT} (directions, as the other analyses; the ranks equal
 * scikit-learn's with {@code metric="cosine"}, or with the Euclidean default on unit vectors). Ties go to the
 * lower row.
 *
 * <p><b>How.</b> Both sets are made resident on the backend. Per block of {@value #BLOCK} points: the layout
 * neighbours come from a search of k + 16 candidates, re-ranked in float64 (a full float64 scan of the layout
 * only when the candidates cannot be proven to hold the true k nearest); the original ranks come from a
 * search of {@code max(3k, 100)} candidates (at most 2047), counted in float64 when the layout neighbour lies safely inside
 * them, else from the backend's {@link ResidentMatrix#distances} to every point, with the pairs within float32
 * rounding of the neighbour's distance recomputed in float64. The result is therefore the exact float64
 * value, while the O(n²d) work stays on the backend. Safety margins are {@code (d + 8) · 2⁻²¹} of the scores'
 * scale (far above float32 accumulation error).
 *
 * <p>Stateless and thread-safe; the inputs are read, not changed.
 */
public final class Trustworthiness {
    /** Points handled per search call. */
    static final int BLOCK = 4096;
    /** Extra layout candidates beyond k + 1. */
    private static final int LOW_MARGIN = 16;
    /** Floats of backend distances held at once in the full-row fallback (128 MiB). */
    private static final long FULL_ROW_FLOATS = 1L << 25;

    private Trustworthiness() {
    }

    /** {@link #of(FloatMatrix, Metric, FloatMatrix, int, Backend)} on {@link Backends#get()}. */
    public static double of(FloatMatrix original, Metric metric, FloatMatrix embedded, int k) {
        return of(original, metric, embedded, k, Backends.get());
    }

    /**
     * The trustworthiness of {@code embedded} (n × m, row i the layout of row i of {@code original}) for k
     * neighbours.
     *
     * @throws IllegalArgumentException when the row counts differ, k is below 1 or not below n / 2 (the
     *     normaliser 2n − 3k − 1 must stay positive, as scikit-learn requires), or a row of either breaks the
     *     vector rule (named)
     */
    public static double of(FloatMatrix original, Metric metric, FloatMatrix embedded, int k, Backend backend) {
        Objects.requireNonNull(original, "original");
        Objects.requireNonNull(metric, "metric");
        Objects.requireNonNull(embedded, "embedded");
        Objects.requireNonNull(backend, "backend");
        long rows = original.rows();
        if (embedded.rows() != rows) {
            throw new IllegalArgumentException("the layout has " + embedded.rows() + " rows, the original "
                    + rows + "; they must match row for row");
        }
        Checks.k(k, "trustworthiness k");
        if (!(k < rows / 2.0)) {
            throw new IllegalArgumentException("trustworthiness k = " + k + " must be less than n / 2 = "
                    + (rows / 2.0) + " (n = " + rows + " points)");
        }
        if (rows * embedded.cols() > Integer.MAX_VALUE - 8 || rows > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("trustworthiness takes at most " + (Integer.MAX_VALUE - 8)
                    + " layout coordinates; got " + rows + " x " + embedded.cols());
        }
        Metric work = Distance.spherical(metric) ? Metric.COSINE : Metric.L2;
        Vectors.check(original, work, "original", 0);
        Vectors.check(embedded, Metric.L2, "layout", 0);
        return new Run(original, work, embedded, k, backend).total();
    }

    /** One computation: the inputs, their float64 helpers and the backend's resident copies. */
    private static final class Run {
        final FloatMatrix original;
        final Metric work;
        final int n;
        final int d;
        final int m;
        final int k;
        final Backend backend;
        final float[] layout;        // n × m, as given
        final double[] norm2;        // squared norms of the original rows
        final double maxNorm2;
        final double tolHigh;
        final double tolLow;
        final float[] rowI;
        final float[] rowL;

        Run(FloatMatrix original, Metric work, FloatMatrix embedded, int k, Backend backend) {
            this.original = original;
            this.work = work;
            this.n = (int) original.rows();
            this.d = original.cols();
            this.m = embedded.cols();
            this.k = k;
            this.backend = backend;
            this.layout = embedded.copyRows(0, n);
            this.norm2 = new double[n];
            this.rowI = new float[d];
            this.rowL = new float[d];
            double max = 0;
            for (int i = 0; i < n; i++) {
                original.getRow(i, rowL);
                double s = 0;
                for (float v : rowL) {
                    s += (double) v * v;
                }
                norm2[i] = s;
                max = Math.max(max, s);
            }
            this.maxNorm2 = max;
            this.tolHigh = (d + 8) * 0x1p-21;
            this.tolLow = (m + 8) * 0x1p-21;
        }

        double total() {
            // The layout, centred, for the backend: smaller norms, smaller float32 cancellation in L2.
            float[] centred = layout.clone();
            double[] mean = new double[m];
            for (int i = 0; i < n; i++) {
                for (int c = 0; c < m; c++) {
                    mean[c] += layout[i * m + c];
                }
            }
            double[] lowNorm2 = new double[n];
            double maxLow = 0;
            for (int i = 0; i < n; i++) {
                double s = 0;
                for (int c = 0; c < m; c++) {
                    centred[i * m + c] = (float) (layout[i * m + c] - mean[c] / n);
                    s += (double) centred[i * m + c] * centred[i * m + c];
                }
                lowNorm2[i] = s;
                maxLow = Math.max(maxLow, s);
            }
            int kLow = Math.min(n - 1, k + LOW_MARGIN);
            // At most 2047 + 1 results per search: within every backend's top-k limit.
            int kHigh = Math.min(n - 1, Math.min(2047, Math.max(3 * k, 100)));
            long penalty = 0;
            int[] low = new int[k];
            int[] candidates = new int[Math.max(kLow, kHigh)];
            double[] candidateDist = new double[candidates.length];
            int[] pendingPoint = new int[BLOCK * k];
            int[] pendingNeighbour = new int[BLOCK * k];
            double[] pendingDist = new double[BLOCK * k];
            try (FloatMatrix lowMatrix = FloatMatrix.of(centred, m);
                    ResidentMatrix lowResident = backend.upload(lowMatrix, Metric.L2);
                    ResidentMatrix highResident = backend.upload(original, work)) {
                for (int from = 0; from < n; from += BLOCK) {
                    int to = Math.min(n, from + BLOCK);
                    Neighbors nbLow;
                    Neighbors nbHigh;
                    try (FloatMatrix q = lowMatrix.rowsView(from, to)) {
                        nbLow = lowResident.search(q, kLow + 1);
                    }
                    try (FloatMatrix q = original.rowsView(from, to)) {
                        nbHigh = highResident.search(q, kHigh + 1);
                    }
                    int pending = 0;
                    for (int q = 0; q < to - from; q++) {
                        int i = from + q;
                        double band = tolLow * (lowNorm2[i] + maxLow);
                        lowNeighbours(i, nbLow, q, kLow, band, low, candidates, candidateDist);
                        // Original-space candidates: every point not among them is at least this far.
                        int c = 0;
                        for (int r = 0; r < nbHigh.count(); r++) {
                            long row = nbHigh.id(q, r);
                            if (row >= 0 && row != i && c < kHigh) {
                                candidates[c++] = (int) row;
                            }
                        }
                        double worst = Distance.of(work, nbHigh.score(q, nbHigh.count() - 1));
                        boolean complete = c == n - 1;
                        double highBand = tolHigh * (work == Metric.L2 ? norm2[i] + maxNorm2 : 2.0);
                        boolean measured = false;
                        original.getRow(i, rowI);
                        for (int j : low) {
                            double dij = highDistance(i, j);
                            if (complete || dij < worst - highBand) {
                                if (!measured) {
                                    for (int r = 0; r < c; r++) {
                                        candidateDist[r] = highDistance(i, candidates[r]);
                                    }
                                    measured = true;
                                }
                                long rank = 1;
                                for (int r = 0; r < c; r++) {
                                    double dl = candidateDist[r];
                                    if (dl < dij || (dl == dij && candidates[r] < j)) {
                                        rank++;
                                    }
                                }
                                penalty += Math.max(0, rank - k);
                            } else {
                                pendingPoint[pending] = i;
                                pendingNeighbour[pending] = j;
                                pendingDist[pending] = dij;
                                pending++;
                            }
                        }
                    }
                    penalty += fullRanks(highResident, pending, pendingPoint, pendingNeighbour, pendingDist);
                }
            }
            double nn = n;
            return 1.0 - penalty * (2.0 / (nn * k * (2.0 * nn - 3.0 * k - 1.0)));
        }

        /**
         * The k nearest layout neighbours of point {@code i} (self left out by row), ascending by float64
         * distance then row, into {@code low}.
         */
        private void lowNeighbours(int i, Neighbors nb, int q, int kLow, double band, int[] low, int[] cand,
                double[] dist) {
            int c = 0;
            for (int r = 0; r < nb.count(); r++) {
                long row = nb.id(q, r);
                if (row >= 0 && row != i && c < kLow) {
                    cand[c] = (int) row;
                    dist[c] = lowDistance(i, (int) row);
                    c++;
                }
            }
            sortByDistance(cand, dist, c);
            double worst = nb.score(q, nb.count() - 1);
            if (c == n - 1 || dist[k - 1] < worst - band) {
                System.arraycopy(cand, 0, low, 0, k);
                return;
            }
            // Not provably complete: scan the whole layout in float64, keeping the k best.
            double[] best = new double[k];
            Arrays.fill(best, Double.POSITIVE_INFINITY);
            Arrays.fill(low, Integer.MAX_VALUE);
            for (int l = 0; l < n; l++) {
                if (l == i) {
                    continue;
                }
                double dl = lowDistance(i, l);
                if (dl < best[k - 1]) { // rows ascend, so an equal distance never displaces an earlier row
                    int p = k - 1;
                    while (p > 0 && best[p - 1] > dl) {
                        best[p] = best[p - 1];
                        low[p] = low[p - 1];
                        p--;
                    }
                    best[p] = dl;
                    low[p] = l;
                }
            }
        }

        /** Ranks, for the pending (point, layout neighbour) pairs, against every original point. */
        private long fullRanks(ResidentMatrix high, int pending, int[] point, int[] neighbour, double[] dist) {
            if (pending == 0) {
                return 0;
            }
            // Distinct points in order (pairs of one point are consecutive).
            int[] points = new int[pending];
            int[] firstPair = new int[pending + 1];
            int distinct = 0;
            for (int p = 0; p < pending; p++) {
                if (distinct == 0 || points[distinct - 1] != point[p]) {
                    points[distinct] = point[p];
                    firstPair[distinct] = p;
                    distinct++;
                }
            }
            firstPair[distinct] = pending;
            int batch = (int) Math.max(1, Math.min(distinct, FULL_ROW_FLOATS / n));
            long penalty = 0;
            float[] scores = new float[n];
            for (int b0 = 0; b0 < distinct; b0 += batch) {
                int b1 = Math.min(distinct, b0 + batch);
                long[] rows = new long[b1 - b0];
                for (int p = b0; p < b1; p++) {
                    rows[p - b0] = points[p];
                }
                try (FloatMatrix queries = Rows.copyOf(original, rows);
                        FloatMatrix out = FloatMatrix.allocate(b1 - b0, n)) {
                    high.distances(queries, 0, n, out);
                    for (int p = b0; p < b1; p++) {
                        int i = points[p];
                        out.getRow(p - b0, scores);
                        original.getRow(i, rowI);
                        double band = tolHigh * (work == Metric.L2 ? norm2[i] + maxNorm2 : 2.0);
                        for (int pair = firstPair[p]; pair < firstPair[p + 1]; pair++) {
                            int j = neighbour[pair];
                            double dij = dist[pair];
                            long rank = 1;
                            for (int l = 0; l < n; l++) {
                                if (l == i) {
                                    continue;
                                }
                                double s = Distance.of(work, scores[l]);
                                if (s < dij - band) {
                                    rank++;
                                } else if (s <= dij + band && l != j) {
                                    double dl = highDistance(i, l);
                                    if (dl < dij || (dl == dij && l < j)) {
                                        rank++;
                                    }
                                }
                            }
                            penalty += Math.max(0, rank - k);
                        }
                    }
                }
            }
            return penalty;
        }

        /** Float64 distance in the original space from point i (its row in {@code rowI}) to point l. */
        private double highDistance(int i, int l) {
            original.getRow(l, rowL);
            double s = 0;
            if (work == Metric.L2) {
                for (int c = 0; c < d; c++) {
                    double t = (double) rowI[c] - rowL[c];
                    s += t * t;
                }
                return s;
            }
            for (int c = 0; c < d; c++) {
                s += (double) rowI[c] * rowL[c];
            }
            return 1.0 - s / (Math.sqrt(norm2[i]) * Math.sqrt(norm2[l]));
        }

        /** Float64 squared Euclidean distance between layout points i and l. */
        private double lowDistance(int i, int l) {
            double s = 0;
            int bi = i * m;
            int bl = l * m;
            for (int c = 0; c < m; c++) {
                double t = (double) layout[bi + c] - layout[bl + c];
                s += t * t;
            }
            return s;
        }

        /** Sorts the first {@code c} candidates by distance, then row (insertion sort: lists are short). */
        private static void sortByDistance(int[] cand, double[] dist, int c) {
            for (int a = 1; a < c; a++) {
                int row = cand[a];
                double v = dist[a];
                int b = a - 1;
                while (b >= 0 && (dist[b] > v || (dist[b] == v && cand[b] > row))) {
                    cand[b + 1] = cand[b];
                    dist[b + 1] = dist[b];
                    b--;
                }
                cand[b + 1] = row;
                dist[b + 1] = v;
            }
        }
    }
}
