package dev.latent.analyse.map;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.CharacterEscapes;
import com.fasterxml.jackson.core.io.SerializedString;
import dev.latent.space.AtomicOutput;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A map as one self-contained HTML page: the points on a canvas, coloured by segment (the colours of
 * {@link Palette}), outliers ringed in black, a legend of the segments (label and size; a click highlights a
 * segment; headed by what the colours mean, {@link MapData#colorBy}, and in the given order when
 * {@link MapData#ordered}), the id and text of the nearest point under the mouse (looked up in a uniform grid, so
 * it stays fast for a hundred thousand points), a search box that highlights the points whose text or id has a
 * word starting with the query ("river" finds "rivers", not "driver") and counts them, a lasso (shift-drag) that
 * selects points and offers their ids as a download ({@code selection.txt}, one a line), and pan and zoom with the
 * mouse. The page needs no network: the script is inline,
 * plain JavaScript with no library, and uses no web fonts.
 *
 * <pre>{@code
 * MapHtml.create().maxPoints(100_000).write(map, Path.of("map.html"));
 * }</pre>
 *
 * <p><b>Data.</b> Embedded as JSON in a {@code <script type="application/json">} element: coordinates
 * quantised to integers 0 to {@value #GRID} on one scale for both axes (the aspect ratio is kept), texts cut to
 * {@link #textChars} characters (default 300). Every {@code <}, {@code >} and {@code &} in the JSON is written
 * as a {@code \\u} escape, so no id or text can close the element or open markup; the page puts ids and texts
 * on screen only as text, never as markup.
 *
 * <p><b>Large maps.</b> A browser stays responsive up to about a hundred thousand points; beyond
 * {@link #maxPoints} (default 100,000) a random sample with a fixed {@link #seed} that keeps every outlier is
 * embedded (see {@link Sample}), and the page says "showing N of M points (random sample)". The legend keeps
 * the segment sizes of the whole map.
 *
 * <p><b>For tests.</b> After each drawing the page sets {@code document.body.dataset.drawn} to the number of
 * points drawn in view, after a search {@code dataset.matches} to the number of matches, after a selection
 * {@code dataset.selected} to the number selected, and {@code dataset.names} to the segment names it placed on the plot
 * ({@code segment:x,y,width,height} in screen pixels, separated by semicolons; each name sits at its segment's
 * densest region, the largest segment first, never over another); {@code window.latentMap.toScreen(x, y)} gives the position in
 * the plot of a point in the map's own coordinates.
 *
 * <p>A {@code MapHtml} is a mutable configuration, not thread-safe; {@link #write} may be called again.
 */
public final class MapHtml {
    /** Largest quantised coordinate. */
    static final int GRID = 65535;
    /** Cells per side of the grid in which each segment's densest region is looked for (about the PNG's 24 pixels). */
    static final int ANCHOR_CELLS = 40;
    private static final String TEMPLATE = "map.html";
    private static final String TITLE_SLOT = "{{TITLE}}";
    private static final String DATA_SLOT = "{{DATA}}";
    private static final JsonFactory JSON = JsonFactory.builder().build();

    private int maxPoints = 100_000;
    private int textChars = 300;
    private long seed = 42;

    private MapHtml() {
    }

    /** An HTML writer with the defaults: at most 100,000 points, texts cut to 300 characters, seed 42. */
    public static MapHtml create() {
        return new MapHtml();
    }

    /** Most points embedded; beyond it a random sample of this size is embedded (default 100,000). */
    public MapHtml maxPoints(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("maxPoints must be >= 1, got " + n);
        }
        this.maxPoints = n;
        return this;
    }

    /** Most characters (code points) kept of each text, an ellipsis marking a cut (default 300). */
    public MapHtml textChars(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("textChars must be >= 1, got " + n);
        }
        this.textChars = n;
        return this;
    }

    /** Seed of the sample drawn beyond {@link #maxPoints} (default 42). */
    public MapHtml seed(long seed) {
        this.seed = seed;
        return this;
    }

    /** Writes the page to {@code file} (UTF-8), atomically (see {@link AtomicOutput}). */
    public void write(MapData data, Path file) throws IOException {
        try (AtomicOutput out = AtomicOutput.open(file)) {
            // The channel must stay open until the commit: the stream over it is flushed, never closed.
            write(data, Channels.newOutputStream(out.channel()));
            out.commit();
        }
    }

    /**
     * Writes the page to {@code out} in UTF-8 (flushed, not closed): for a file committed with others, such as
     * through an {@code OutputSet}'s channel.
     */
    public void write(MapData data, OutputStream out) throws IOException {
        String template = template();
        int title = template.indexOf(TITLE_SLOT);
        int slot = template.indexOf(DATA_SLOT);
        if (title < 0 || slot < title) {
            throw new IllegalStateException(TEMPLATE + " in the jar lacks its " + TITLE_SLOT + " or " + DATA_SLOT
                    + " slot");
        }
        Sample sample = Sample.of(data, maxPoints, seed);
        Writer w = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), 1 << 16);
        w.write(template, 0, title);
        w.write(Strings.escapeHtml(data.title().isEmpty() ? "Map" : data.title()));
        w.write(template, title + TITLE_SLOT.length(), slot - title - TITLE_SLOT.length());
        writeJson(data, sample, w);
        w.write(template, slot + DATA_SLOT.length(), template.length() - slot - DATA_SLOT.length());
        w.flush();
    }

    /** The page's data (see the class comment) as JSON safe inside a script element. */
    void writeJson(MapData data, Sample sample, Writer w) throws IOException {
        int[] rows = sample.rows();
        float[] x = data.x();
        float[] y = data.y();
        float minX = Float.POSITIVE_INFINITY;
        float minY = Float.POSITIVE_INFINITY;
        float maxX = Float.NEGATIVE_INFINITY;
        float maxY = Float.NEGATIVE_INFINITY;
        for (int i : rows) {
            minX = Math.min(minX, x[i]);
            maxX = Math.max(maxX, x[i]);
            minY = Math.min(minY, y[i]);
            maxY = Math.max(maxY, y[i]);
        }
        // One scale for both axes keeps the shape of the projection; in double, as max - min of floats can
        // overflow a float.
        double extent = Math.max((double) maxX - minX, (double) maxY - minY);
        double scale = extent > 0 ? GRID / extent : 0;

        JsonGenerator g = JSON.createGenerator(w);
        g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
        g.setCharacterEscapes(ScriptSafe.INSTANCE);
        g.writeStartObject();
        g.writeStringField("title", data.title());
        g.writeStringField("note", data.note());
        g.writeStringField("sampleNote", sample.note());
        g.writeBooleanField("sampled", sample.sampled());
        g.writeNumberField("total", data.size());
        g.writeNumberField("outlierCount", data.outlierCount());
        long none = 0;
        for (int s : data.segment()) {
            if (s == MapData.NONE) {
                none++;
            }
        }
        g.writeNumberField("noneSize", none);
        g.writeStringField("colorBy", data.colorBy());
        g.writeBooleanField("ordered", data.ordered());
        // The map's coordinates of quantised 0 and the units per map unit, to place points given in map units.
        g.writeArrayFieldStart("origin");
        g.writeNumber(rows.length == 0 ? 0 : minX);
        g.writeNumber(rows.length == 0 ? 0 : minY);
        g.writeEndArray();
        g.writeNumberField("unit", scale);
        g.writeStringField("noneColor", Palette.hex(Palette.NONE));
        // Where each segment's name goes: its densest region among the embedded points (as on the PNG), in map units
        // (quantised, y up); the page places the names around these anchors without overlaps at every zoom.
        double[] qx = new double[rows.length];
        double[] qy = new double[rows.length];
        int[] qs = new int[rows.length];
        for (int k = 0; k < rows.length; k++) {
            qx[k] = Math.round((x[rows[k]] - (double) minX) * scale);
            qy[k] = Math.round((y[rows[k]] - (double) minY) * scale);
            qs[k] = data.segment()[rows[k]];
        }
        double[][] anchors = Labels.anchors(qx, qy, qs, data.segments().size(),
                new java.awt.Rectangle(0, 0, GRID + 1, GRID + 1), GRID / ANCHOR_CELLS);
        g.writeArrayFieldStart("segments");
        for (int s = 0; s < data.segments().size(); s++) {
            MapData.Segment seg = data.segments().get(s);
            g.writeStartObject();
            g.writeStringField("label", seg.label());
            g.writeNumberField("size", seg.size());
            g.writeStringField("color", Palette.hex(Palette.segment(s)));
            if (anchors[s] != null) {
                g.writeArrayFieldStart("anchor");
                g.writeNumber((int) Math.round(anchors[s][0]));
                g.writeNumber((int) Math.round(anchors[s][1]));
                g.writeEndArray();
            }
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeArrayFieldStart("x");
        for (int i : rows) {
            g.writeNumber((int) Math.round((x[i] - (double) minX) * scale));
        }
        g.writeEndArray();
        g.writeArrayFieldStart("y");
        for (int i : rows) {
            g.writeNumber((int) Math.round((y[i] - (double) minY) * scale));
        }
        g.writeEndArray();
        g.writeArrayFieldStart("s");
        for (int i : rows) {
            g.writeNumber(data.segment()[i]);
        }
        g.writeEndArray();
        // Outliers as positions in the embedded arrays: they are few.
        g.writeArrayFieldStart("o");
        for (int k = 0; k < rows.length; k++) {
            if (data.outlier()[rows[k]]) {
                g.writeNumber(k);
            }
        }
        g.writeEndArray();
        g.writeArrayFieldStart("id");
        for (int i : rows) {
            g.writeString(data.ids()[i]);
        }
        g.writeEndArray();
        if (data.images() != null) {
            g.writeArrayFieldStart("img");
            for (int i : rows) {
                if (data.images()[i] == null) {
                    g.writeNull();
                } else {
                    g.writeString(data.images()[i]);
                }
            }
            g.writeEndArray();
        }
        if (data.texts() != null) {
            g.writeArrayFieldStart("t");
            for (int i : rows) {
                String t = data.texts()[i];
                if (t == null) {
                    g.writeNull();
                } else {
                    g.writeString(Strings.cut(t, textChars));
                }
            }
            g.writeEndArray();
        }
        g.writeEndObject();
        g.flush();
    }

    private static String template() throws IOException {
        try (InputStream in = MapHtml.class.getResourceAsStream(TEMPLATE)) {
            if (in == null) {
                throw new IllegalStateException(TEMPLATE + " is missing beside " + MapHtml.class.getName()
                        + " in the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /**
     * JSON escapes for text inside an HTML script element: {@code <}, {@code >} and {@code &} as {@code \\u}
     * escapes (so {@code </script>} and {@code <!--} cannot occur), and the line and paragraph separators
     * U+2028 and U+2029, which older JavaScript parsers take for line ends.
     */
    private static final class ScriptSafe extends CharacterEscapes {
        static final ScriptSafe INSTANCE = new ScriptSafe();
        private static final SerializedString LS = new SerializedString("\\u2028");
        private static final SerializedString PS = new SerializedString("\\u2029");
        private final int[] ascii;

        private ScriptSafe() {
            ascii = standardAsciiEscapesForJSON();
            ascii['<'] = ESCAPE_STANDARD;
            ascii['>'] = ESCAPE_STANDARD;
            ascii['&'] = ESCAPE_STANDARD;
        }

        @Override
        public int[] getEscapeCodesForAscii() {
            return ascii;
        }

        @Override
        public SerializableString getEscapeSequence(int ch) {
            return ch == 0x2028 ? LS : ch == 0x2029 ? PS : null;
        }
    }
}
