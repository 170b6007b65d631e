package dev.latent.analyse.map;

import dev.latent.space.AtomicOutput;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.Rectangle;
import java.awt.RenderingHints;
import java.awt.geom.Ellipse2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.Marker;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * A map as a PNG scatter plot, drawn with XChart without a display: one series per segment in the colours of
 * {@link Palette} (largest segment drawn first, so small ones stay visible on top), points in no segment in
 * grey underneath, outliers as black rings over everything; each segment's name (cut to {@value #NAME_CHARS}
 * characters) on the plot at its densest region, no two names overlapping ({@link Labels}); beside the plot a
 * legend headed by what the colours mean ({@link MapData#colorBy}) with each segment's label (cut to
 * {@value #LABEL_CHARS} characters) and size, in {@link MapData#legendOrder}, as many as fit the height; above it a
 * header with the title, the note, the counts and, when the points were sampled, how many are shown. The
 * axes have no ticks (the coordinates of a projection mean nothing by themselves) but one scale: a unit is as
 * long across as up.
 *
 * <pre>{@code
 * MapPng.create().size(1600, 1200).write(map, Path.of("map.png"));
 * }</pre>
 *
 * <p><b>Large maps.</b> Drawing costs time per point, so at most {@link #maxPoints} points are drawn (default
 * 200,000; a random sample with a fixed {@link #seed} that keeps every outlier, see {@link Sample}), and the
 * header says so: a million points render in about the time of 200,000.
 *
 * <p>Sets {@code java.awt.headless=true} when it loads unless the property is already set. A
 * {@code MapPng} is a mutable configuration, not thread-safe; {@link #render} and {@link #write} may be called
 * again.
 */
public final class MapPng {
    static {
        Palette.headless();
    }

    /** Most characters of a segment label in the legend. */
    static final int LABEL_CHARS = 40;
    private static final Color TEXT = new Color(0x222222);
    private static final Color MUTED = new Color(0x666666);
    private static final Color SAMPLED = new Color(0x9c3d00);
    /** Marks the legend's heading row (never drawn in this colour). */
    private static final Color HEADING = new Color(1, 2, 3);
    private static final Font NAME_FONT = new Font(Font.SANS_SERIF, Font.BOLD, 13);
    /** Most characters of a segment's name on the plot. */
    static final int NAME_CHARS = 32;
    private static final Font TITLE_FONT = new Font(Font.SANS_SERIF, Font.BOLD, 24);
    private static final Font NOTE_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 15);
    private static final Font LEGEND_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 14);
    /** Margin around the header, the plot and the legend, in pixels. */
    private static final int PAD = 16;
    /** Height of one legend line, in pixels. */
    private static final int LEGEND_ROW = 22;

    private int width = 1600;
    private int height = 1200;
    private int maxPoints = 200_000;
    private long seed = 42;
    private boolean labels = true;

    private MapPng() {
    }

    /** A PNG writer with the defaults: 1600 x 1200 pixels, at most 200,000 points, seed 42. */
    public static MapPng create() {
        return new MapPng();
    }

    /** Image size in pixels (each at least 200). */
    public MapPng size(int width, int height) {
        if (width < 200 || height < 200) {
            throw new IllegalArgumentException("a map image must be at least 200 x 200 pixels, got " + width + " x "
                    + height);
        }
        this.width = width;
        this.height = height;
        return this;
    }

    /** Most points drawn; beyond it a random sample of this size is drawn (default 200,000). */
    public MapPng maxPoints(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("maxPoints must be >= 1, got " + n);
        }
        this.maxPoints = n;
        return this;
    }

    /** Seed of the sample drawn beyond {@link #maxPoints} (default 42). */
    public MapPng seed(long seed) {
        this.seed = seed;
        return this;
    }

    /** Whether each segment's name is drawn on the plot at its densest region (default true). */
    public MapPng labels(boolean on) {
        this.labels = on;
        return this;
    }

    /** Draws the map and writes it as a PNG to {@code file}, atomically (see {@link AtomicOutput}). */
    public void write(MapData data, Path file) throws IOException {
        ByteArrayOutputStream png = new ByteArrayOutputStream(1 << 20);
        write(data, png);
        try (AtomicOutput out = AtomicOutput.open(file)) {
            out.write(ByteBuffer.wrap(png.toByteArray()));
            out.commit();
        }
    }

    /**
     * Draws the map and writes it as a PNG to {@code out} (flushed, not closed): for a file committed with
     * others, such as through an {@code OutputSet}'s channel.
     */
    public void write(MapData data, OutputStream out) throws IOException {
        BufferedImage image = render(data);
        if (!ImageIO.write(image, "png", out)) {
            throw new IOException("no PNG writer in this Java runtime");
        }
        out.flush();
    }

    /** Draws the map into a new RGB image of {@link #size}. */
    public BufferedImage render(MapData data) {
        Sample sample = Sample.of(data, maxPoints, seed);
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            int header = drawHeader(g, data, sample);
            Layers layers = Layers.of(data, sample, (height - header - 2 * PAD) / LEGEND_ROW);
            int legend = drawLegend(g, data, layers, header);
            int chartWidth = width - legend;
            double[] bounds = new double[4];
            XYChart chart = chart(data, sample, layers, chartWidth, height - header, bounds);
            Graphics2D c = (Graphics2D) g.create(0, header, chartWidth, height - header);
            try {
                chart.paint(c, chartWidth, height - header);
                if (labels && !data.segments().isEmpty() && sample.size() > 0) {
                    drawNames(c, chart, data, sample, layers, bounds);
                }
            } finally {
                c.dispose();
            }
        } finally {
            g.dispose();
        }
        return image;
    }

    /**
     * What gets drawn: the drawn points per segment, the segments largest first (drawn first, so small ones
     * end up on top; listed first in the legend), and how many of them the legend has room for.
     *
     * @param counts         drawn points per segment, index 0 for no segment, segment s at s + 1
     * @param outliers       drawn outliers
     * @param order          all segments, largest first (ties by index): the drawing order
     * @param legend         all segments in legend order ({@link MapData#legendOrder})
     * @param legendSegments how many of {@code legend} the legend lists
     */
    private record Layers(int[] counts, int outliers, List<Integer> order, List<Integer> legend, int legendSegments) {
        static Layers of(MapData data, Sample sample, int legendRows) {
            int segments = data.segments().size();
            int[] counts = new int[segments + 1];
            int outliers = 0;
            for (int i : sample.rows()) {
                counts[data.segment()[i] + 1]++;
                if (data.outlier()[i]) {
                    outliers++;
                }
            }
            List<Integer> order = new ArrayList<>();
            for (int s = 0; s < segments; s++) {
                order.add(s);
            }
            order.sort(Comparator.<Integer>comparingLong(s -> -data.segments().get(s).size())
                    .thenComparing(s -> s));
            // Rows for the heading, "no segment" and "outliers" always: they explain the colours, the grey and the
            // rings. One more row says how many segments did not fit.
            int reserved = 1 + (counts[0] > 0 ? 1 : 0) + (outliers > 0 ? 1 : 0);
            int room = Math.max(0, legendRows - 1 - reserved);
            int listed = segments <= room + 1 ? segments : room - 1;
            return new Layers(counts, outliers, order, data.legendOrder(), Math.max(0, listed));
        }
    }

    /** Title, note, counts and the sampling line; returns the height used. */
    private int drawHeader(Graphics2D g, MapData data, Sample sample) {
        int y = PAD;
        String detail = join(" · ", String.format(Locale.ROOT, "%,d points", data.size()),
                data.segments().isEmpty() ? "" : String.format(Locale.ROOT, "%,d segments", data.segments().size()),
                data.outlierCount() == 0 ? "" : String.format(Locale.ROOT, "%,d outliers", data.outlierCount()));
        if (!data.title().isEmpty()) {
            y = line(g, data.title(), TITLE_FONT, TEXT, PAD, y, width - 2 * PAD);
        }
        if (!data.note().isEmpty()) {
            y = line(g, data.note(), NOTE_FONT, MUTED, PAD, y + 2, width - 2 * PAD);
        }
        y = line(g, detail, NOTE_FONT, MUTED, PAD, y + 2, width - 2 * PAD);
        if (sample.sampled()) {
            y = line(g, sample.note(), NOTE_FONT.deriveFont(Font.BOLD), SAMPLED, PAD, y + 2, width - 2 * PAD);
        }
        return y + 6;
    }

    /**
     * The legend, in a column at the right as wide as its longest line (at most a third of the image): a
     * swatch, the label and the size of each listed segment, then "no segment" and "outliers". Returns its
     * width.
     */
    private int drawLegend(Graphics2D g, MapData data, Layers layers, int top) {
        List<String> labels = new ArrayList<>();
        List<String> sizes = new ArrayList<>();
        List<Color> colours = new ArrayList<>();
        labels.add(Strings.cut("colour: " + data.colorBy(), LABEL_CHARS));
        sizes.add("");
        colours.add(HEADING);
        for (int k = 0; k < layers.legendSegments(); k++) {
            int seg = layers.legend().get(k);
            MapData.Segment info = data.segments().get(seg);
            labels.add(Strings.cut(info.label().strip(), LABEL_CHARS));
            sizes.add(String.format(Locale.ROOT, "%,d", info.size()));
            colours.add(Palette.segment(seg));
        }
        int more = layers.order().size() - layers.legendSegments();
        if (more > 0) {
            labels.add(String.format(Locale.ROOT, "… %,d smaller segments", more));
            sizes.add("");
            colours.add(null);
        }
        if (layers.counts()[0] > 0) {
            long none = 0;
            for (int seg : data.segment()) {
                if (seg == MapData.NONE) {
                    none++;
                }
            }
            labels.add("no " + data.colorBy());
            sizes.add(String.format(Locale.ROOT, "%,d", none));
            colours.add(Palette.NONE);
        }
        if (layers.outliers() > 0) {
            labels.add("outliers");
            sizes.add(String.format(Locale.ROOT, "%,d", data.outlierCount()));
            colours.add(Palette.OUTLIER);
        }
        if (labels.size() == 1) {
            return 0;  // only the heading: nothing to explain
        }
        g.setFont(LEGEND_FONT);
        FontMetrics m = g.getFontMetrics();
        int swatch = 18;
        int gap = 12;
        int labelWidth = 0;
        int sizeWidth = 0;
        for (int k = 0; k < labels.size(); k++) {
            labelWidth = Math.max(labelWidth, m.stringWidth(labels.get(k)));
            sizeWidth = Math.max(sizeWidth, m.stringWidth(sizes.get(k)));
        }
        int inner = swatch + labelWidth + gap + sizeWidth;
        int legendWidth = Math.min(width / 3, inner + 2 * PAD + 12);
        labelWidth = legendWidth - 2 * PAD - 12 - swatch - gap - sizeWidth;
        int left = width - legendWidth + 6;
        int boxHeight = labels.size() * LEGEND_ROW + 12;
        g.setColor(new Color(0xdddddd));
        g.drawRect(left, top + PAD - 6, legendWidth - PAD - 6, boxHeight);
        int y = top + PAD;
        for (int k = 0; k < labels.size(); k++) {
            Color c = colours.get(k);
            int cy = y + LEGEND_ROW / 2;
            int sx = left + 10;
            if (c == HEADING) {
                line(g, labels.get(k), LEGEND_FONT.deriveFont(Font.BOLD), TEXT, sx, cy - m.getHeight() / 2,
                        legendWidth - 2 * PAD - 12);
                y += LEGEND_ROW;
                continue;
            }
            if (c == Palette.OUTLIER) {
                g.setColor(c);
                g.setStroke(new BasicStroke(1.6f));
                g.draw(new Ellipse2D.Double(sx, cy - 5, 10, 10));
            } else if (c != null) {
                g.setColor(c);
                g.fill(new Ellipse2D.Double(sx, cy - 5, 10, 10));
            }
            g.setColor(c == null ? MUTED : TEXT);
            line(g, labels.get(k), LEGEND_FONT, c == null ? MUTED : TEXT, sx + swatch, cy - m.getHeight() / 2,
                    labelWidth);
            g.setColor(MUTED);
            String size = sizes.get(k);
            g.drawString(size, left + legendWidth - PAD - 12 - m.stringWidth(size), cy - m.getHeight() / 2
                    + m.getAscent());
            y += LEGEND_ROW;
        }
        return legendWidth;
    }

    /** Draws one line of text, cut to {@code room} pixels, with its top at {@code top}; returns its bottom. */
    private static int line(Graphics2D g, String text, Font font, Color color, int left, int top, int room) {
        g.setFont(font);
        g.setColor(color);
        FontMetrics m = g.getFontMetrics();
        String s = text;
        if (m.stringWidth(s) > room) {
            while (!s.isEmpty() && m.stringWidth(s + "…") > room) {
                s = s.substring(0, s.offsetByCodePoints(s.length(), -1));
            }
            s += "…";
        }
        g.drawString(s, left, top + m.getAscent());
        return top + m.getHeight();
    }

    private XYChart chart(MapData data, Sample sample, Layers layers, int chartWidth, int chartHeight, double[] bounds) {
        XYChart chart = new XYChartBuilder().width(chartWidth).height(chartHeight).build();
        XYStyler st = chart.getStyler();
        st.setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        st.setChartTitleVisible(false);
        st.setLegendVisible(false);
        st.setChartBackgroundColor(Color.WHITE);
        st.setPlotBackgroundColor(Color.WHITE);
        st.setPlotBorderVisible(true);
        st.setPlotBorderColor(new Color(0xdddddd));
        st.setPlotGridLinesVisible(false);
        st.setAxisTicksVisible(false);
        st.setAxisTitlesVisible(false);
        st.setChartPadding(PAD);
        st.setPlotMargin(0);
        st.setMarkerSize(markerSize(sample.size()));
        st.setAntiAlias(true);
        equalAspect(st, data, sample, chartWidth - 2 * PAD, chartHeight - 2 * PAD, bounds);

        int alpha = alpha(sample.size());
        int[] counts = layers.counts();
        // The drawn points by segment (slot 0 for no segment) and the outliers, in one pass.
        double[][] xs = new double[counts.length + 1][];
        double[][] ys = new double[counts.length + 1][];
        for (int k = 0; k < counts.length; k++) {
            xs[k] = new double[counts[k]];
            ys[k] = new double[counts[k]];
        }
        xs[counts.length] = new double[layers.outliers()];
        ys[counts.length] = new double[layers.outliers()];
        int[] fill = new int[counts.length + 1];
        for (int i : sample.rows()) {
            int k = data.segment()[i] + 1;
            xs[k][fill[k]] = data.x()[i];
            ys[k][fill[k]++] = data.y()[i];
            if (data.outlier()[i]) {
                k = counts.length;
                xs[k][fill[k]] = data.x()[i];
                ys[k][fill[k]++] = data.y()[i];
            }
        }
        if (counts[0] > 0) {
            XYSeries s = chart.addSeries("no segment", xs[0], ys[0]);
            s.setMarker(SeriesMarkers.CIRCLE);
            s.setMarkerColor(withAlpha(Palette.NONE, alpha));
        }
        for (int seg : layers.order()) {
            if (counts[seg + 1] == 0) {
                continue;
            }
            // Series names are internal (the legend is drawn apart) but must be unique.
            XYSeries s = chart.addSeries("segment " + seg, xs[seg + 1], ys[seg + 1]);
            s.setMarker(SeriesMarkers.CIRCLE);
            s.setMarkerColor(withAlpha(Palette.segment(seg), alpha));
        }
        if (layers.outliers() > 0) {
            XYSeries s = chart.addSeries("outliers", xs[counts.length], ys[counts.length]);
            s.setMarker(new Ring(Math.max(9, markerSize(sample.size()) + 5)));
            s.setMarkerColor(Palette.OUTLIER);
        }
        if (sample.size() == 0) {
            // XChart needs a series to lay out the plot; an empty map gets an empty frame.
            XYSeries s = chart.addSeries("no points", new double[] {0}, new double[] {0});
            s.setMarker(SeriesMarkers.NONE);
        }
        return chart;
    }

    /**
     * Axis ranges with one data unit the same length across and up (a projection's distances mean the same in
     * every direction), the points centred with a small margin; {@code plotWidth} and {@code plotHeight}
     * approximate the plot area in pixels.
     */
    private static void equalAspect(XYStyler st, MapData data, Sample sample, int plotWidth, int plotHeight,
            double[] bounds) {
        if (sample.size() == 0 || plotWidth <= 0 || plotHeight <= 0) {
            return;
        }
        double minX = Double.POSITIVE_INFINITY;
        double maxX = Double.NEGATIVE_INFINITY;
        double minY = Double.POSITIVE_INFINITY;
        double maxY = Double.NEGATIVE_INFINITY;
        for (int i : sample.rows()) {
            minX = Math.min(minX, data.x()[i]);
            maxX = Math.max(maxX, data.x()[i]);
            minY = Math.min(minY, data.y()[i]);
            maxY = Math.max(maxY, data.y()[i]);
        }
        double spanX = maxX - minX;
        double spanY = maxY - minY;
        if (!(spanX > 0) && !(spanY > 0)) {
            spanX = spanY = 1;
        }
        double perPixel = 1.04 * Math.max(spanX / plotWidth, spanY / plotHeight);
        double cx = (minX + maxX) / 2;
        double cy = (minY + maxY) / 2;
        st.setXAxisMin(cx - perPixel * plotWidth / 2);
        st.setXAxisMax(cx + perPixel * plotWidth / 2);
        st.setYAxisMin(cy - perPixel * plotHeight / 2);
        st.setYAxisMax(cy + perPixel * plotHeight / 2);
        bounds[0] = cx - perPixel * plotWidth / 2;
        bounds[1] = cx + perPixel * plotWidth / 2;
        bounds[2] = cy - perPixel * plotHeight / 2;
        bounds[3] = cy + perPixel * plotHeight / 2;
    }

    /**
     * Each segment's name on the plot, at its densest region, no two overlapping ({@link Labels}): in a white box
     * edged in the segment's colour. Segments choose their spots largest first (ties by index; the drawing
     * order, {@link Layers#order}), so a large segment's name is not pushed aside by a small one's. That is the
     * legend order too unless the legend is in numeric order ({@link MapData#ordered}), which this does not follow.
     */
    private void drawNames(Graphics2D c, XYChart chart, MapData data, Sample sample, Layers layers, double[] bounds) {
        int[] rows = sample.rows();
        double[] px = new double[rows.length];
        double[] py = new double[rows.length];
        int[] seg = new int[rows.length];
        for (int k = 0; k < rows.length; k++) {
            px[k] = chart.getScreenXFromChart(data.x()[rows[k]]);
            py[k] = chart.getScreenYFromChart(data.y()[rows[k]]);
            seg[k] = data.segment()[rows[k]];
        }
        int x0 = (int) Math.ceil(chart.getScreenXFromChart(bounds[0]));
        int x1 = (int) Math.floor(chart.getScreenXFromChart(bounds[1]));
        int y0 = (int) Math.ceil(chart.getScreenYFromChart(bounds[3]));
        int y1 = (int) Math.floor(chart.getScreenYFromChart(bounds[2]));
        Rectangle plot = new Rectangle(x0 + 2, y0 + 2, Math.max(1, x1 - x0 - 4), Math.max(1, y1 - y0 - 4));
        int segments = data.segments().size();
        double[][] anchors = Labels.anchors(px, py, seg, segments, plot, 24);
        c.setFont(NAME_FONT);
        FontMetrics m = c.getFontMetrics();
        String[] names = new String[segments];
        int[] widths = new int[segments];
        for (int s = 0; s < segments; s++) {
            names[s] = Strings.cut(data.segments().get(s).label().strip(), NAME_CHARS);
            widths[s] = m.stringWidth(names[s]) + 10;
        }
        int h = m.getHeight() + 4;
        int[] order = layers.order().stream().mapToInt(Integer::intValue).toArray();
        Rectangle[] spots = Labels.place(anchors, widths, h, order, plot, 6);
        c.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        c.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        for (int s = 0; s < segments; s++) {
            Rectangle r = spots[s];
            if (r == null) {
                continue;
            }
            c.setColor(new Color(255, 255, 255, 225));
            c.fillRoundRect(r.x, r.y, r.width, r.height, 8, 8);
            c.setColor(Palette.segment(s));
            c.setStroke(new BasicStroke(2f));
            c.drawRoundRect(r.x, r.y, r.width, r.height, 8, 8);
            c.setColor(TEXT);
            c.drawString(names[s], r.x + 5, r.y + 2 + m.getAscent());
        }
    }

    /** An outlier's mark: a ring of a fixed diameter, whatever the markers' size. */
    private static final class Ring extends Marker {
        private final int diameter;
        private final BasicStroke stroke = new BasicStroke(1.6f);

        Ring(int diameter) {
            this.diameter = diameter;
        }

        @Override
        public void paint(Graphics2D g, double x, double y, int markerSize) {
            g.setStroke(stroke);
            g.draw(new Ellipse2D.Double(x - diameter / 2.0, y - diameter / 2.0, diameter, diameter));
        }
    }

    /** Marker diameter in pixels: larger when few points, never below 2. */
    private static int markerSize(int points) {
        if (points <= 2_000) {
            return 7;
        }
        if (points <= 20_000) {
            return 5;
        }
        if (points <= 100_000) {
            return 3;
        }
        return 2;
    }

    /** Marker opacity: opaque for few points, translucent for many, so dense areas read as dense. */
    private static int alpha(int points) {
        return (int) Math.round(255 * Math.max(0.35, Math.min(0.9, Math.sqrt(5_000.0 / Math.max(points, 1)))));
    }

    private static Color withAlpha(Color c, int alpha) {
        return new Color(c.getRed(), c.getGreen(), c.getBlue(), alpha);
    }

    private static String join(String sep, String... parts) {
        StringBuilder b = new StringBuilder();
        for (String p : parts) {
            if (!p.isEmpty()) {
                if (b.length() > 0) {
                    b.append(sep);
                }
                b.append(p);
            }
        }
        return b.toString();
    }
}
