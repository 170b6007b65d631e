package dev.latent.cli;

import dev.latent.analyse.KMeans;
import dev.latent.analyse.KMeansResult;
import dev.latent.analyse.Outliers;
import dev.latent.analyse.Pca;
import dev.latent.analyse.PcaModel;
import dev.latent.analyse.Umap;
import dev.latent.analyse.UmapResult;
import dev.latent.analyse.map.MapData;
import dev.latent.analyse.map.MapHtml;
import dev.latent.analyse.map.MapPng;
import dev.latent.analyse.text.Segments;
import dev.latent.compute.Backend;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.space.OutputSet;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The map of a corpus, shared by {@code latent map} and {@code latent demo}: segments by k-means (named by
 * their terms when there are texts), outliers flagged by a score over a quantile of the corpus's own scores,
 * a 2-D layout (UMAP, or PCA), then a PNG and a self-contained HTML page committed together.
 */
final class MapJob {
    /** Layout methods. */
    enum Layout { UMAP, PCA }

    int segments = 12;
    /** A given grouping (one name per point, such as a true label) to colour by instead of k-means; null: none. */
    String[] groups;
    /** What {@link #groups} are, for the note ("folder", say). */
    String groupsName = "group";
    /** Segments already fitted by the caller (who keeps and closes it); null: fit k-means here. */
    KMeansResult fittedSegments;
    int terms = 4;
    Layout layout = Layout.UMAP;
    int neighbors = 15;
    /**
     * UMAP's minimum distance and repulsion: 0 and 8 rather than umap-learn's 0.1 and 1, which keep local
     * neighbourhoods better (trustworthiness 0.94 instead of 0.86 on the 5,000 sample glosses, above t-SNE's
     * 0.94; jmh/results/map-20261126) at the price of tighter, more separated clumps.
     */
    double minDist = 0;
    double repulsion = 8;
    long seed = 42;
    /** null: no outliers marked. */
    Outliers.Score outlierScore = Outliers.Score.LOF;
    int outlierK = 10;
    double quantile = 0.99;
    int htmlPoints = 100_000;
    boolean quiet;

    /** What was computed, for the summary. */
    record Summary(int points, int segments, int outliers, double kmeansSeconds, double outlierSeconds,
                   double layoutSeconds, String layout) {}

    /**
     * Builds the map data of {@code vectors} (rows = points) with their ids and texts (texts may be null).
     * The vectors are only read.
     */
    Result build(FloatMatrix vectors, Metric metric, String[] ids, String[] texts, String title, Backend backend) {
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
                    try (Progress p = Progress.start("segments", 26, quiet, " iterations")) {
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
                    for (Segments.Segment s : Segments.describe(km.labels(), km.distances(), k, Arrays.asList(texts), terms, 1)) {
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
                try (Progress p = Progress.start("layout", umap.epochsFor(n), quiet, " epochs");
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
    record Result(MapData data, Summary summary) {}

    /** Writes the PNG and the HTML page, committed together (both new or both old). */
    void write(MapData data, Path png, Path html) throws IOException {
        try (OutputSet outputs = new OutputSet()) {
            writeInto(outputs, data, png, html);
            outputs.commit();
        }
    }

    /** Writes the PNG and the page into {@code outputs}, which the caller commits (with its other files). */
    void writeInto(OutputSet outputs, MapData data, Path png, Path html) throws IOException {
        if (png != null) {
            MapPng.create().seed(seed).write(data, Channels.newOutputStream(outputs.open(png).channel()));
        }
        if (html != null) {
            MapHtml.create().maxPoints(htmlPoints).seed(seed).write(data, Channels.newOutputStream(outputs.open(html).channel()));
        }
    }

    static void printSummary(PrintWriter out, Summary s, Path png, Path html) {
        out.printf(Locale.ROOT, "map: %,d points, %d segments (%.2f s), %d outliers (%.2f s), layout %s (%.2f s)%n",
                s.points(), s.segments(), s.kmeansSeconds(), s.outliers(), s.outlierSeconds(), s.layout(), s.layoutSeconds());
        if (png != null) {
            out.println("  PNG:  " + png.toAbsolutePath());
        }
        if (html != null) {
            out.println("  HTML: " + html.toAbsolutePath() + "  (self-contained: open it in a browser)");
        }
    }
}
