package dev.latent.analyse.map;

import dev.latent.core.FloatMatrix;
import java.util.List;
import java.util.Objects;

/**
 * What a map of a corpus shows: n points placed in two dimensions (by UMAP, PCA or any projection; the axes
 * carry no meaning), each with an id, an optional text, the segment it belongs to and whether it is an
 * outlier; and per segment a label a person can read (its top terms, such as {@code "fish, shark, marine"})
 * and its size.
 *
 * <p>The arrays are held as given, not copied (a map may have a million points): the caller must not change
 * them while a {@link MapPng} or {@link MapHtml} is writing. Optional parts may be passed as {@code null}:
 * {@code texts} (no texts; single entries may be {@code null} as well), {@code segment} (every point
 * unassigned), {@code outlier} (no outliers), {@code segments} (none), {@code title} and {@code note} (empty).
 *
 * @param x        first coordinate of each point
 * @param y        second coordinate of each point (finite, like {@code x})
 * @param ids      id of each point (not null)
 * @param texts    text of each point, or null where there is none
 * @param segment  segment of each point: an index into {@code segments}, or {@value #NONE} for none
 * @param outlier  whether each point is an outlier
 * @param segments the segments' labels and sizes; the size is the caller's (for instance in the whole corpus)
 *                 and is shown as given
 * @param title    headline of the map
 * @param note     a line under the title (how the map was made, for instance)
 * @param images   a thumbnail per point for the HTML page's hover, as a {@code data:image/png;base64,} URI, or
 *                 null (none; single entries may be null as well)
 * @param colorBy  what the colours mean, the legend's heading ("k-means segment", "field label"); null or empty:
 *                 "segment"
 * @param ordered  whether the legends list the segments in their given order (numeric labels 0, 1, 2, ...)
 *                 rather than largest first
 */
public record MapData(float[] x, float[] y, String[] ids, String[] texts, int[] segment, boolean[] outlier,
        List<Segment> segments, String title, String note, String[] images, String colorBy, boolean ordered) {
    /** The data-URI form thumbnails must have (nothing else can reach the page). */
    private static final java.util.regex.Pattern PNG_URI = java.util.regex.Pattern.compile("data:image/png;base64,[A-Za-z0-9+/]*={0,2}");

    /** A map without thumbnails. */
    public MapData(float[] x, float[] y, String[] ids, String[] texts, int[] segment, boolean[] outlier,
            List<Segment> segments, String title, String note) {
        this(x, y, ids, texts, segment, outlier, segments, title, note, null);
    }

    /** A map whose colours are segments, listed largest first. */
    public MapData(float[] x, float[] y, String[] ids, String[] texts, int[] segment, boolean[] outlier,
            List<Segment> segments, String title, String note, String[] images) {
        this(x, y, ids, texts, segment, outlier, segments, title, note, images, null, false);
    }

    /** The segment index of a point in no segment. */
    public static final int NONE = -1;

    /**
     * One segment.
     *
     * @param label what the segment is about, such as its most distinctive terms
     * @param size  its number of members
     */
    public record Segment(String label, long size) {
        public Segment {
            Objects.requireNonNull(label, "label");
            if (size < 0) {
                throw new IllegalArgumentException("segment size must be >= 0, got " + size);
            }
        }
    }

    /** Checks the lengths, the coordinates (finite) and the segment indices, naming the first bad row. */
    public MapData {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(y, "y");
        Objects.requireNonNull(ids, "ids");
        int n = x.length;
        segments = segments == null ? List.of() : List.copyOf(segments);
        segment = segment == null ? filled(n) : segment;
        outlier = outlier == null ? new boolean[n] : outlier;
        title = title == null ? "" : title;
        note = note == null ? "" : note;
        colorBy = colorBy == null || colorBy.isBlank() ? "segment" : colorBy;
        if (y.length != n || ids.length != n || segment.length != n || outlier.length != n
                || (texts != null && texts.length != n) || (images != null && images.length != n)) {
            throw new IllegalArgumentException("a map needs one of each per point: " + n + " x, " + y.length + " y, "
                    + ids.length + " ids, " + (texts == null ? "no" : texts.length) + " texts, " + segment.length
                    + " segments, " + outlier.length + " outlier flags");
        }
        for (int i = 0; i < n; i++) {
            if (!Float.isFinite(x[i]) || !Float.isFinite(y[i])) {
                throw new IllegalArgumentException("point " + i + " has a coordinate that is not finite: (" + x[i]
                        + ", " + y[i] + ")");
            }
            if (ids[i] == null) {
                throw new IllegalArgumentException("point " + i + " has no id");
            }
            if (images != null && images[i] != null && !PNG_URI.matcher(images[i]).matches()) {
                throw new IllegalArgumentException("point " + i + ": a thumbnail must be a data:image/png;base64 URI");
            }
            if (segment[i] < NONE || segment[i] >= segments.size()) {
                throw new IllegalArgumentException("point " + i + " is in segment " + segment[i] + ", but there are "
                        + segments.size() + " segments (use " + NONE + " for none)");
            }
        }
    }

    /**
     * A map from an n x 2 matrix of coordinates (copied; the matrix stays the caller's).
     *
     * @see #MapData
     */
    public static MapData of(FloatMatrix xy, String[] ids, String[] texts, int[] segment, boolean[] outlier,
            List<Segment> segments, String title, String note) {
        if (xy.cols() != 2) {
            throw new IllegalArgumentException("a map needs 2 coordinates per point, got " + xy.cols() + " columns");
        }
        if (xy.rows() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("too many points for a map: " + xy.rows());
        }
        int n = (int) xy.rows();
        float[] x = new float[n];
        float[] y = new float[n];
        float[] row = new float[2];
        for (int i = 0; i < n; i++) {
            xy.getRow(i, row);
            x[i] = row[0];
            y[i] = row[1];
        }
        return new MapData(x, y, ids, texts, segment, outlier, segments, title, note, null);
    }

    /** The same map with thumbnails (see {@link #images()}). */
    public MapData withImages(String[] thumbnails) {
        return new MapData(x, y, ids, texts, segment, outlier, segments, title, note, thumbnails, colorBy, ordered);
    }

    /** The same map with the colours' meaning and the legend order given (see {@link #colorBy}, {@link #ordered}). */
    public MapData withLegend(String colorBy, boolean ordered) {
        return new MapData(x, y, ids, texts, segment, outlier, segments, title, note, images, colorBy, ordered);
    }

    /**
     * The segments in legend order: as given when {@link #ordered}, else largest first (ties by index).
     */
    public List<Integer> legendOrder() {
        List<Integer> order = new java.util.ArrayList<>();
        for (int s = 0; s < segments.size(); s++) {
            order.add(s);
        }
        if (!ordered) {
            order.sort(java.util.Comparator.<Integer>comparingLong(s -> -segments.get(s).size()).thenComparing(s -> s));
        }
        return order;
    }

    /** Number of points. */
    public int size() {
        return x.length;
    }

    /** The text of point {@code i}, or null. */
    public String text(int i) {
        return texts == null ? null : texts[i];
    }

    /** Number of outliers. */
    public int outlierCount() {
        int c = 0;
        for (boolean o : outlier) {
            if (o) {
                c++;
            }
        }
        return c;
    }

    private static int[] filled(int n) {
        int[] a = new int[n];
        java.util.Arrays.fill(a, NONE);
        return a;
    }
}
