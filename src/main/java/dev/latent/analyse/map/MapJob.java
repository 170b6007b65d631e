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
    private Outliers.Score outlierScore = Outliers.Score.LOF;
    private int outlierK = 10;
    private double quantile = 0.99;
    private int htmlPoints = 100_000;
    private StageProgress progress = StageProgress.NONE;

    /** A job with the defaults: 12 k-means segments, UMAP, LOF outliers above the 0.99 quantile, seed 42. */
    public MapJob() {
    }

    /** K-means segments to colour by (default 12; at most the points; 0: none). */
    public MapJob segments(int k) {
        this.segments = k;
        return this;
    }

    /**
     * Colours by a given grouping instead of k-means: one name per point ({@code names}, kept, not copied) and
     * what the names are ({@code what}, for the note: "folder", "label"); null names: k-means again.
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

    /** The seed of k-means, UMAP and the sampling of large maps (default 42). */
    public MapJob seed(long s) {
        this.seed = s;
        return this;
    }

    /** The outlier score (default LOF), or null to mark no outliers. */
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
        int[] segment = null;
        List<MapData.Segment> segs = new ArrayList<>();
        double tK = 0;
        double tO = 0;
        KMeansResult km = fittedSegments;
        boolean own = km == null;
        try {
            if (groups != null) {
                if (groups.length != n) {
                    throw new IllegalArgumentException(groups.length + " group names for " + n + " points");
                }
                java.util.TreeMap<String, Integer> index = new java.util.TreeMap<>();
                for (String g : groups) {
                    index.putIfAbsent(g, 0);
                }
                int c = 0;
                for (var e : index.entrySet()) {
                    e.setValue(c++);
                }
                segment = new int[n];
                long[] sizes = new long[index.size()];
                for (int i = 0; i < n; i++) {
                    segment[i] = index.get(groups[i]);
                    sizes[segment[i]]++;
                }
                for (var e : index.entrySet()) {
                    segs.add(new MapData.Segment(groupsName + " " + e.getKey(), sizes[e.getValue()]));
                }
            } else if (km != null || segments > 0) {
                long t0 = System.nanoTime();
                if (km == null) {
                    try (Counter p = progress.start("segments", 26, " iterations")) {
                        km = KMeans.of(Math.min(segments, n)).seed(seed).backend(backend)
                                .listener((it, inertia, s) -> p.done(Math.min(26, it + 1))).fit(vectors, metric);
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
            if (layout == Layout.PCA || n <= neighbors + 1) {
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
            String note = String.format(Locale.ROOT, "layout %s; %s; %s", how,
                    segs.isEmpty() ? "no segments" : groups != null ? "coloured by " + groupsName + " (" + segs.size() + ")"
                            : segs.size() + " k-means segments",
                    outlier == null ? "no outliers marked"
                            : String.format(Locale.ROOT, "%d outliers (%s score above its %.3g quantile)", flagged,
                                    outlierScore.name().toLowerCase(Locale.ROOT).replace('_', '-'), quantile));
            try (FloatMatrix coords = xy) {
                MapData data = MapData.of(coords, ids, texts, segment, outlier, segs, title, note);
                return new Result(data, new Summary(n, segs.size(), flagged, tK, tO, tL, how));
            }
        } finally {
            if (own && km != null) {
                km.close();
            }
        }
    }

    /** The map and what it took. */
    public record Result(MapData data, Summary summary) {}

    /**
     * Writes the PNG and the HTML page (either may be null), committed together (both new or both old).
     *
     * @throws IOException naming the output that could not be written
     */
    public void write(MapData data, Path png, Path html) throws IOException {
        try (OutputSet outputs = new OutputSet()) {
            writeInto(outputs, data, png, html);
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
