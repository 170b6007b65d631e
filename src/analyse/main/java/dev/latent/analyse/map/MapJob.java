package dev.latent.analyse.map;

import dev.latent.analyse.KMeans;
import dev.latent.analyse.KMeansResult;
import dev.latent.analyse.Outliers;
import dev.latent.analyse.Pca;
import dev.latent.analyse.PcaModel;
import dev.latent.analyse.Umap;
import dev.latent.analyse.UmapResult;
import dev.latent.analyse.text.SegmentTerms;
import dev.latent.analyse.text.Segments;
import dev.latent.compute.Backend;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.space.OutputSet;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The map of a corpus, shared by {@code latent map}, {@code latent demo} and library callers: segments by
 * k-means (named by their terms when there are texts), or a given grouping; outliers flagged by a score over a
 * quantile of the corpus's own scores; a 2-D layout (UMAP, or PCA); then a PNG and a self-contained HTML page
 * committed together. Configure with the setters (each returns this job), then {@link #build} and
 * {@link #write}.
 *
 * <p>A job is a mutable settings holder: not thread-safe while being configured, and one job should build one
 * map at a time. It keeps no resources; segments handed in with {@link #fittedSegments} stay the caller's.
 */
public final class MapJob {
    /** Layout methods. */
    public enum Layout { UMAP, PCA }

    /** Told how a long stage (k-means iterations, layout epochs) advances; for progress bars. */
    public interface StageProgress {
        /**
         * A stage begins: {@code total} steps counted in {@code unit} (with its leading space, for example
         * {@code " epochs"}). The counter returned is told the steps done, from worker threads too, and closed
         * when the stage ends.
         */
        Counter start(String task, long total, String unit);

        /** Reports nothing. */
        StageProgress NONE = (task, total, unit) -> new Counter() {
            @Override
            public void done(long steps) {
            }

            @Override
            public void close() {
            }
        };
    }

    /** The steps done in one stage; closed when it ends. */
    public interface Counter extends AutoCloseable {
        /** Steps done so far. */
        void done(long steps);

        @Override
        void close();
    }

    private int segments = 12;
    private int restarts = 1;
    /** A given grouping (one name per point, such as a true label) to colour by instead of k-means; null: none. */
    private String[] groups;
    /** What {@link #groups} are, for the note ("folder", say). */
    private String groupsName = "group";
    /** Segments already fitted by the caller (who keeps and closes it); null: fit k-means here. */
    private KMeansResult fittedSegments;
    private int terms = 4;
    /** How segments are named from their texts; null: c-TF-IDF with the common-term filter, {@link #terms} terms. */
    private SegmentTerms termNaming;
    private Layout layout = Layout.UMAP;
    private int neighbors = 15;
    /**
     * UMAP's minimum distance and repulsion: 0 and 8 rather than umap-learn's 0.1 and 1, which keep local
     * neighbourhoods better (trustworthiness 0.94 instead of 0.86 on the 5,000 sample glosses, above t-SNE's
     * 0.94; jmh/results/map-20261126) at the price of tighter, more separated clumps.
     */
    private double minDist = 0;
    private double repulsion = 8;
    private long seed = 42;
    /** null: no outliers marked. */
    private Outliers.Score outlierScore = Outliers.Score.KNN;
    private int outlierK = 10;
    private double quantile = 0.99;
    private int htmlPoints = 100_000;
    private StageProgress progress = StageProgress.NONE;
    /** A layout made before: points with these keys keep their coordinates, the others are placed; null: none. */
    private MapCoords previous;
    /** Where {@link #previous} came from, for the note. */
    private String previousName;

    /** A job with the defaults: 12 k-means segments, UMAP, k-th-neighbour (knn) outliers above the 0.99 quantile, seed 42. */
    public MapJob() {
    }

    /** K-means segments to colour by (default 12; at most the points; 0: none). */
    public MapJob segments(int k) {
        this.segments = k;
        return this;
    }

    /**
     * Colours by a given grouping instead of k-means: one name per point ({@code names}, kept, not copied; a null
     * name: the point has none and is drawn grey) and what the names are ({@code what}, for the note and the
     * legend: "folder", "label"); null names: k-means again. When every name reads as a number the legends list
     * the groups in numeric order (0, 1, 2, ..., 10), else the largest first.
     */
    public MapJob groups(String[] names, String what) {
        this.groups = names;
        this.groupsName = what;
        return this;
    }

    /** Segments the caller already fitted (who keeps and closes them), used instead of fitting k-means; null: fit. */
    public MapJob fittedSegments(KMeansResult segments) {
        this.fittedSegments = segments;
        return this;
    }

    /** Terms naming each segment when there are texts (default 4). */
    public MapJob terms(int n) {
        this.terms = n;
        return this;
    }

    /**
     * How segments are named from their texts (its own count of terms replaces {@link #terms(int)}), for example
     * re-ranked with the corpus's text encoder; null (default): class-based TF-IDF with the common-term filter.
     * The settings' encoder and backend stay the caller's.
     */
    public MapJob termNaming(SegmentTerms naming) {
        this.termNaming = naming;
        return this;
    }

    /** The layout method (default UMAP; PCA as well for maps too small for UMAP's neighbours). */
    public MapJob layout(Layout l) {
        this.layout = l;
        return this;
    }

    /** UMAP's neighbours per point (default 15). */
    public MapJob neighbors(int n) {
        this.neighbors = n;
        return this;
    }

    /** UMAP's minimum distance (default 0) and repulsion (default 8); see the field notes for why. */
    public MapJob umapShape(double minDist, double repulsion) {
        this.minDist = minDist;
        this.repulsion = repulsion;
        return this;
    }

    /** k-means runs for the segments, the lowest inertia kept (default 1; see {@link KMeans#restarts}). */
    public MapJob restarts(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("restarts must be >= 1, got " + n);
        }
        this.restarts = n;
        return this;
    }

    /** The seed of k-means, UMAP and the sampling of large maps (default 42). */
    public MapJob seed(long s) {
        this.seed = s;
        return this;
    }

    /**
     * The outlier score (default knn, the distance to the k-th neighbour, which finds planted groups of anomalies
     * that LOF scores as normal), or null to mark no outliers.
     */
    public MapJob outliers(Outliers.Score score) {
        this.outlierScore = score;
        return this;
    }

    /** Neighbours of the outlier score (default 10). */
    public MapJob outlierK(int k) {
        this.outlierK = k;
        return this;
    }

    /** Points whose score is above this quantile of the corpus's own scores are outliers (default 0.99). */
    public MapJob quantile(double q) {
        this.quantile = q;
        return this;
    }

    /** Points drawn at most in the HTML page, sampled with the seed beyond (default 100,000). */
    public MapJob htmlPoints(int n) {
        this.htmlPoints = n;
        return this;
    }

    /** The points drawn at most in the HTML page. */
    public int htmlPoints() {
        return htmlPoints;
    }

    /**
     * Keeps the layout of an earlier map: points whose id is a key of {@code coords} keep those coordinates, the
     * others are placed on that layout by {@link Umap#transform} (the kept points' vectors as its reference), so
     * a map can be updated without moving the points it had. Needs the UMAP layout and more kept points than
     * {@link #neighbors}; null: lay out afresh.
     *
     * @param name where the coordinates came from, for the note
     */
    public MapJob placeOn(MapCoords coords, String name) {
        this.previous = coords;
        this.previousName = name;
        return this;
    }

    /** Where the long stages report their progress (default: nowhere). */
    public MapJob progress(StageProgress p) {
        this.progress = p == null ? StageProgress.NONE : p;
        return this;
    }

    /**
     * What was computed, for the summary: points, segments, outliers marked, the seconds of each stage and the
     * layout described.
     */
    public record Summary(int points, int segments, int outliers, double kmeansSeconds, double outlierSeconds,
                   double layoutSeconds, String layout) {
        /** One line of what was computed, with the seconds of each stage. */
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "map: %,d points, %d segments (%.2f s), %d outliers (%.2f s), layout %s (%.2f s)",
                    points, segments, kmeansSeconds, outliers, outlierSeconds, layout, layoutSeconds);
        }
    }

    /**
     * Builds the map data of {@code vectors} (rows = points) with their ids and texts (texts may be null).
     * The vectors are only read and stay the caller's.
     *
     * @param ids   one id per point, shown on hover
     * @param texts one text per point, or null
     * @throws IllegalArgumentException with fewer than 2 points, or a grouping whose size differs from the points
     */
    public Result build(FloatMatrix vectors, Metric metric, String[] ids, String[] texts, String title, Backend backend) {
        int n = Math.toIntExact(vectors.rows());
        if (n < 2) {
            throw new IllegalArgumentException("a map needs at least 2 points, got " + n);
        }
        if (previous != null && layout != Layout.UMAP) {
            throw new IllegalArgumentException("placing points on an earlier layout needs the UMAP layout");
        }
        int[] segment = null;
        List<MapData.Segment> segs = new ArrayList<>();
        double tK = 0;
        double tO = 0;
        KMeansResult km = fittedSegments;
        boolean own = km == null;
        try {
            boolean numeric = false;
            if (groups != null) {
                if (groups.length != n) {
                    throw new IllegalArgumentException(groups.length + " group names for " + n + " points");
                }
                numeric = allNumbers(groups);
                java.util.TreeMap<String, Integer> index = new java.util.TreeMap<>(numeric ? NUMERIC : java.util.Comparator.naturalOrder());
                for (String g : groups) {
                    if (g != null) {
                        index.putIfAbsent(g, 0);
                    }
                }
                int c = 0;
                for (var e : index.entrySet()) {
                    e.setValue(c++);
                }
                segment = new int[n];
                long[] sizes = new long[index.size()];
                for (int i = 0; i < n; i++) {
                    segment[i] = groups[i] == null ? MapData.NONE : index.get(groups[i]);
                    if (groups[i] != null) {
                        sizes[segment[i]]++;
                    }
                }
                for (var e : index.entrySet()) {
                    segs.add(new MapData.Segment(groupsName + " " + e.getKey(), sizes[e.getValue()]));
                }
            } else if (km != null || segments > 0) {
                long t0 = System.nanoTime();
                if (km == null) {
                    // Each run reports its assignments (at most iterations + 1 = 26), the runs' calls serialised but
                    // interleaved when they run in parallel: one count over all of them, as cluster's.
                    long steps = 26L * restarts;
                    try (Counter p = progress.start("segments", steps, " iterations")) {
                        java.util.concurrent.atomic.AtomicLong done = new java.util.concurrent.atomic.AtomicLong();
                        km = KMeans.of(Math.min(segments, n)).seed(seed).restarts(restarts).backend(backend)
                                .listener((it, inertia, s) -> p.done(Math.min(steps, done.incrementAndGet())))
                                .fit(vectors, metric);
                    }
                    tK = (System.nanoTime() - t0) / 1e9;
                } else {
                    tK = km.seconds();
                }
                int k = km.k();
                segment = km.labels().clone();
                long[] sizes = km.sizes();
                String[] labels = new String[k];
                for (int c = 0; c < k; c++) {
                    labels[c] = "segment " + c;
                }
                if (texts != null) {
                    SegmentTerms naming = termNaming != null ? termNaming : SegmentTerms.of(terms).backend(backend);
                    for (Segments.Segment s : naming.describe(km.labels(), km.distances(), k, km.centroids(),
                            Arrays.asList(texts), 1)) {
                        if (!s.terms().isEmpty()) {
                            labels[s.cluster()] = String.join(", ", s.terms());
                        }
                    }
                }
                for (int c = 0; c < k; c++) {
                    segs.add(new MapData.Segment(labels[c], sizes[c]));
                }
            }
            boolean[] outlier = null;
            int flagged = 0;
            if (outlierScore != null && n > outlierK) {
                long t0 = System.nanoTime();
                try (Outliers o = Outliers.of(vectors, metric, outlierK,
                        outlierScore == Outliers.Score.CENTROID ? km : null, backend)) {
                    float[] scores = o.scoreReference(outlierScore);
                    double thr = Outliers.threshold(scores, quantile);
                    outlier = new boolean[n];
                    for (int i = 0; i < n; i++) {
                        if (scores[i] > thr) {
                            outlier[i] = true;
                            flagged++;
                        }
                    }
                }
                tO = (System.nanoTime() - t0) / 1e9;
            }
            long t0 = System.nanoTime();
            FloatMatrix xy;
            String how;
            if (previous != null) {
                Placed p = place(vectors, metric, ids, backend);
                xy = p.xy();
                how = p.how();
            } else if (layout == Layout.PCA || n <= neighbors + 1) {
                PcaModel pca = Pca.of(Math.min(2, vectors.cols())).backend(backend).fit(vectors);
                xy = pca.transform(vectors, backend);
                how = String.format(Locale.ROOT, "PCA (%.1f %% of the variance)",
                        100 * Arrays.stream(pca.explainedVarianceRatio()).sum());
                if (xy.cols() == 1) {  // one-dimensional data: put it on a line
                    FloatMatrix two = FloatMatrix.allocate(xy.rows(), 2);
                    for (long r = 0; r < xy.rows(); r++) {
                        two.setRow(r, new float[] {xy.getRow(r)[0], 0});
                    }
                    xy.close();
                    xy = two;
                }
            } else {
                Umap umap = Umap.of().neighbors(neighbors).minDist(minDist).repulsion(repulsion).seed(seed).backend(backend);
                try (Counter p = progress.start("layout", umap.epochsFor(n), " epochs");
                     UmapResult u = umap.listener((done, total) -> p.done(done)).fit(vectors, metric)) {
                    xy = FloatMatrix.of(u.layoutArray(), 2);
                    how = String.format(Locale.ROOT, "UMAP (%d neighbours, min-dist %s, repulsion %s, %d epochs)",
                            neighbors, minDist, repulsion, u.epochs());
                }
            }
            double tL = (System.nanoTime() - t0) / 1e9;
            String colours = segs.isEmpty() ? "" : groups != null ? groupsName : "k-means segment";
            String note = String.format(Locale.ROOT, "%s; layout %s; %s",
                    segs.isEmpty() ? "no segments" : "coloured by " + colours + " (" + segs.size() + ")"
                            + (numeric ? ", in numeric order" : ""),
                    how,
                    outlier == null ? "no outliers marked"
                            : String.format(Locale.ROOT, "%d outliers (%s score above its %.3g quantile)", flagged,
                                    outlierScore.name().toLowerCase(Locale.ROOT).replace('_', '-'), quantile));
            try (FloatMatrix coords = xy) {
                MapData data = MapData.of(coords, ids, texts, segment, outlier, segs, title, note)
                        .withLegend(colours, numeric);
                return new Result(data, new Summary(n, segs.size(), flagged, tK, tO, tL, how));
            }
        } finally {
            if (own && km != null) {
                km.close();
            }
        }
    }

    /** Orders numbers by value (then as text, so "1" and "1.0" stay apart). */
    private static final java.util.Comparator<String> NUMERIC = java.util.Comparator
            .<String, java.math.BigDecimal>comparing(java.math.BigDecimal::new).thenComparing(java.util.Comparator.naturalOrder());

    /**
     * Whether every non-null name reads as a decimal number (and there is one). A name {@link java.math.BigDecimal}
     * cannot hold (its scale, the fraction digits less the exponent, beyond an int: {@code 1e9999999999}) is not a
     * number here, so {@link #NUMERIC} can compare every name it is given.
     */
    static boolean allNumbers(String[] names) {
        boolean any = false;
        for (String g : names) {
            if (g == null) {
                continue;
            }
            if (!g.matches("[-+]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][-+]?\\d+)?")) {
                return false;
            }
            try {
                new java.math.BigDecimal(g);
            } catch (NumberFormatException e) {
                return false;
            }
            any = true;
        }
        return any;
    }

    /** A layout with the earlier map's points kept and the rest placed, and how it was made. */
    private record Placed(FloatMatrix xy, String how) {}

    private Placed place(FloatMatrix vectors, Metric metric, String[] ids, Backend backend) {
        int n = Math.toIntExact(vectors.rows());
        java.util.Map<String, Integer> at = previous.positions();
        int kept = 0;
        java.util.Set<String> seen = new java.util.HashSet<>(n * 2);
        for (int i = 0; i < n; i++) {
            if (!seen.add(ids[i])) {
                throw new IllegalArgumentException("id '" + ids[i] + "' appears twice among the points: placing on an "
                        + "earlier layout needs unique ids");
            }
            if (at.containsKey(ids[i])) {
                kept++;
            }
        }
        if (kept <= neighbors) {
            throw new IllegalArgumentException(previousName + " holds " + kept + " of the points' ids; placing the "
                    + "others needs more than --neighbors = " + neighbors);
        }
        int d = vectors.cols();
        float[] ref = new float[kept * d];
        float[] refXy = new float[kept * 2];
        float[] fresh = new float[(n - kept) * d];
        int[] freshRow = new int[n - kept];
        float[] out = new float[n * 2];
        float[] row = new float[d];
        int r = 0;
        int f = 0;
        for (int i = 0; i < n; i++) {
            vectors.getRow(i, row);
            Integer p = at.get(ids[i]);
            if (p != null) {
                System.arraycopy(row, 0, ref, r * d, d);
                refXy[2 * r] = previous.x()[p];
                refXy[2 * r + 1] = previous.y()[p];
                out[2 * i] = previous.x()[p];
                out[2 * i + 1] = previous.y()[p];
                r++;
            } else {
                System.arraycopy(row, 0, fresh, f * d, d);
                freshRow[f++] = i;
            }
        }
        if (f > 0) {
            Umap umap = Umap.of().neighbors(neighbors).minDist(minDist).repulsion(repulsion).seed(seed).backend(backend);
            try (FloatMatrix refM = FloatMatrix.of(ref, d); FloatMatrix layoutM = FloatMatrix.of(refXy, 2);
                 FloatMatrix freshM = FloatMatrix.of(fresh, d);
                 Counter c = progress.start("placing", umap.transformEpochsFor(f), " epochs");
                 FloatMatrix placed = umap.listener((done, total) -> c.done(done)).transform(refM, layoutM, freshM, metric)) {
                float[] xy = placed.copyRows(0, f);
                for (int j = 0; j < f; j++) {
                    out[2 * freshRow[j]] = xy[2 * j];
                    out[2 * freshRow[j] + 1] = xy[2 * j + 1];
                }
            }
        }
        String how = String.format(Locale.ROOT, "of %s kept for %,d points, %,d placed by UMAP transform (%d neighbours, "
                + "min-dist %s, repulsion %s)", previousName, kept, f, neighbors, minDist, repulsion);
        return new Placed(FloatMatrix.of(out, 2), how);
    }

    /** The map and what it took. */
    public record Result(MapData data, Summary summary) {}

    /**
     * Writes the PNG and the HTML page (either may be null), committed together (both new or both old).
     *
     * @throws IOException naming the output that could not be written
     */
    public void write(MapData data, Path png, Path html) throws IOException {
        write(data, png, html, null);
    }

    /**
     * Writes the PNG, the HTML page and the coordinates with their keys ({@link MapCoords}; any may be null),
     * committed together.
     *
     * @throws IllegalArgumentException for a coordinates file named neither {@code .tsv} nor {@code .npy}, or an id
     *     that file cannot hold ({@link MapCoords#checkKeys}; check before {@link #build} to fail early), before
     *     anything is written
     */
    public void write(MapData data, Path png, Path html, Path coords) throws IOException {
        if (coords != null) {
            MapCoords.checkName(coords);
            MapCoords.checkKeys(data.ids(), coords);
        }
        try (OutputSet outputs = new OutputSet()) {
            writeInto(outputs, data, png, html);
            if (coords != null) {
                MapCoords.of(data).write(outputs.open(coords), MapCoords.isNpy(coords));
            }
            outputs.commit();
        }
    }

    /** Writes the PNG and the page into {@code outputs}, which the caller commits (with its other files). */
    public void writeInto(OutputSet outputs, MapData data, Path png, Path html) throws IOException {
        if (png != null) {
            MapPng.create().seed(seed).write(data, Channels.newOutputStream(outputs.open(png).channel()));
        }
        if (html != null) {
            MapHtml.create().maxPoints(htmlPoints).seed(seed).write(data, Channels.newOutputStream(outputs.open(html).channel()));
        }
    }
}
