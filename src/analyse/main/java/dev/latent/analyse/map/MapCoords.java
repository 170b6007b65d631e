package dev.latent.analyse.map;

import dev.latent.space.AtomicOutput;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A map's 2-D coordinates with the key of each point, as a file another tool (or a later map, see
 * {@code latent map --place-on}) can read. Two formats, chosen by the file name:
 *
 * <ul>
 *   <li><b>{@code .tsv}</b>: a header line {@code key<TAB>x<TAB>y}, then one line per point in the map's order;
 *       coordinates in the shortest decimal form that reads back to the same float. Keys must hold no tab and no
 *       line break (record keys never do).</li>
 *   <li><b>{@code .npy}</b>: a NumPy structured array of n records {@code (key '<U w', x '<f4', y '<f4')}, w the
 *       longest key in code points: {@code a = numpy.load(f); a['key'], a['x'], a['y']}, no pickle. Keys must not
 *       end in a NUL character.</li>
 * </ul>
 *
 * In both, every key must be present and not empty ({@link #checkKeys}).
 *
 * Stateless. Files are written atomically ({@link AtomicOutput}).
 *
 * @param keys one key per point, unique
 * @param x    first coordinate of each point
 * @param y    second coordinate of each point
 */
public record MapCoords(String[] keys, float[] x, float[] y) {
    private static final Pattern NPY_HEADER = Pattern.compile(
            "\\{'descr': \\[\\('key', '<U(\\d+)'\\), \\('x', '<f4'\\), \\('y', '<f4'\\)\\], "
                    + "'fortran_order': False, 'shape': \\((\\d+),\\), \\}\\s*");

    public MapCoords {
        Objects.requireNonNull(keys, "keys");
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(y, "y");
        if (x.length != keys.length || y.length != keys.length) {
            throw new IllegalArgumentException("coordinates need one key, x and y per point: " + keys.length
                    + " keys, " + x.length + " x, " + y.length + " y");
        }
    }

    /** The coordinates of a map: its ids and points. */
    public static MapCoords of(MapData map) {
        return new MapCoords(map.ids(), map.x(), map.y());
    }

    /** Number of points. */
    public int size() {
        return keys.length;
    }

    /** Each key's position. */
    public Map<String, Integer> positions() {
        Map<String, Integer> at = new HashMap<>(keys.length * 2);
        for (int i = 0; i < keys.length; i++) {
            at.put(keys[i], i);
        }
        return at;
    }

    /** Whether {@code file} is written and read as {@code .npy} (else {@code .tsv}). */
    static boolean isNpy(Path file) {
        return file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".npy");
    }

    /**
     * The formats' names: a file that ends in neither {@code .tsv} nor {@code .npy} is refused.
     *
     * @throws IllegalArgumentException naming the file
     */
    public static void checkName(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (!name.endsWith(".tsv") && !name.endsWith(".npy")) {
            throw new IllegalArgumentException("coordinates file " + file + " must end in .tsv or .npy");
        }
    }

    /** Writes to {@code file} atomically, in the format its name says. */
    public void write(Path file) throws IOException {
        checkName(file);
        try (AtomicOutput out = AtomicOutput.open(file)) {
            write(out, isNpy(file));
            out.commit();
        }
    }

    /**
     * Whether {@code keys} can be written to the coordinates file {@code file} and read back: every key present and
     * not empty; in a {@code .tsv} file no tab and no line break (the format's separators); in a {@code .npy} file no
     * NUL character at the end (NumPy's strings drop trailing NULs). Callers check before computing what they
     * write.
     *
     * @throws IllegalArgumentException naming the first point whose key cannot be written, and why
     */
    public static void checkKeys(String[] keys, Path file) {
        checkKeys(keys, isNpy(file));
    }

    private static void checkKeys(String[] keys, boolean npy) {
        for (int i = 0; i < keys.length; i++) {
            String k = keys[i];
            String problem = k == null ? "no key"
                    : k.isEmpty() ? "an empty key"
                    : npy ? (k.endsWith("\0") ? "a key ending in a NUL character, which .npy drops" : null)
                    : k.indexOf('\t') >= 0 || k.indexOf('\n') >= 0 || k.indexOf('\r') >= 0
                            ? "a key with a tab or line break, the separators of .tsv" : null;
            if (problem != null) {
                String shown = k == null || k.isEmpty() ? "" : " ('" + Strings.cut(k, 60).replace("\t", "\\t")
                        .replace("\n", "\\n").replace("\r", "\\r").replace("\0", "\\0") + "')";
                throw new IllegalArgumentException("point " + i + shown + " has " + problem
                        + ": it cannot be written to a " + (npy ? ".npy" : ".tsv") + " coordinates file");
            }
        }
    }

    /**
     * Writes into {@code out} (not committed: the caller commits, with its other outputs).
     *
     * @throws IllegalArgumentException for a key the format cannot hold ({@link #checkKeys}), before writing
     */
    public void write(AtomicOutput out, boolean npy) throws IOException {
        checkKeys(keys, npy);
        if (npy) {
            writeNpy(out);
            return;
        }
        Writer w = new BufferedWriter(Channels.newWriter(out.channel(), StandardCharsets.UTF_8), 1 << 16);
        w.write("key\tx\ty\n");
        for (int i = 0; i < keys.length; i++) {
            w.write(keys[i]);
            w.write('\t');
            w.write(Float.toString(x[i]));
            w.write('\t');
            w.write(Float.toString(y[i]));
            w.write('\n');
        }
        w.flush();
    }

    private void writeNpy(AtomicOutput out) throws IOException {
        int width = 1;
        for (String k : keys) {
            width = Math.max(width, k.codePointCount(0, k.length()));
        }
        String dict = "{'descr': [('key', '<U" + width + "'), ('x', '<f4'), ('y', '<f4')], 'fortran_order': False, "
                + "'shape': (" + keys.length + ",), }";
        // Magic, version 1.0, header length; the whole header padded with spaces to a multiple of 64, then '\n'.
        int version = 10 + dict.length() + 1 > 65535 ? 2 : 1;
        int prefix = version == 1 ? 10 : 12;
        int total = (prefix + dict.length() + 1 + 63) / 64 * 64;
        StringBuilder h = new StringBuilder(dict);
        while (prefix + h.length() + 1 < total) {
            h.append(' ');
        }
        h.append('\n');
        byte[] header = h.toString().getBytes(StandardCharsets.US_ASCII);
        ByteBuffer head = ByteBuffer.allocate(prefix + header.length).order(ByteOrder.LITTLE_ENDIAN);
        head.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) version).put((byte) 0);
        if (version == 1) {
            head.putShort((short) header.length);
        } else {
            head.putInt(header.length);
        }
        head.put(header).flip();
        out.write(head);
        int record = 4 * width + 8;
        int per = Math.max(1, (1 << 16) / record);
        ByteBuffer buf = ByteBuffer.allocate(per * record).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < keys.length; i++) {
            if (buf.remaining() < record) {
                buf.flip();
                out.write(buf);
                buf.clear();
            }
            int start = buf.position();
            keys[i].codePoints().forEach(buf::putInt);
            buf.position(start + 4 * width);
            buf.putFloat(x[i]).putFloat(y[i]);
        }
        buf.flip();
        out.write(buf);
    }

    /**
     * Reads a file {@link #write} wrote ({@code .tsv} or {@code .npy}, by its name).
     *
     * @throws IOException naming the file and the line or the part that is wrong: a header that is not ours,
     *                     a line without three fields, a coordinate that is not a finite number, a repeated key
     */
    public static MapCoords read(Path file) throws IOException {
        checkName(file);
        MapCoords c = isNpy(file) ? readNpy(file) : readTsv(file);
        Map<String, Integer> seen = new HashMap<>(c.size() * 2);
        for (int i = 0; i < c.size(); i++) {
            Integer before = seen.put(c.keys[i], i);
            if (before != null) {
                throw new IOException(file + ": key '" + c.keys[i] + "' appears twice (points " + before + " and "
                        + i + ")");
            }
            if (!Float.isFinite(c.x[i]) || !Float.isFinite(c.y[i])) {
                throw new IOException(file + ": point " + i + " ('" + c.keys[i] + "') has a coordinate that is not "
                        + "finite");
            }
        }
        return c;
    }

    private static MapCoords readTsv(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        if (lines.isEmpty() || !lines.get(0).equals("key\tx\ty")) {
            throw new IOException(file + ": the first line must be the header key<TAB>x<TAB>y");
        }
        int n = lines.size() - 1;
        while (n > 0 && lines.get(n).isEmpty()) {
            n--;  // a blank line at the end
        }
        String[] keys = new String[n];
        float[] x = new float[n];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            String line = lines.get(i + 1);
            String[] f = line.split("\t", -1);
            if (f.length != 3 || f[0].isEmpty()) {
                throw new IOException(file + ":" + (i + 2) + ": expected key<TAB>x<TAB>y, got " + f.length
                        + " fields");
            }
            keys[i] = f[0];
            try {
                x[i] = Float.parseFloat(f[1]);
                y[i] = Float.parseFloat(f[2]);
            } catch (NumberFormatException e) {
                throw new IOException(file + ":" + (i + 2) + ": a coordinate is not a number: " + line);
            }
        }
        return new MapCoords(keys, x, y);
    }

    private static MapCoords readNpy(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        if (all.length < 10 || (all[0] & 0xff) != 0x93
                || !new String(all, 1, 5, StandardCharsets.US_ASCII).equals("NUMPY")) {
            throw new IOException(file + " is not an .npy file");
        }
        int version = all[6];
        int headerLength = version == 1 ? Short.toUnsignedInt(b.getShort(8)) : b.getInt(8);
        int prefix = version == 1 ? 10 : 12;
        if (prefix + (long) headerLength > all.length) {
            throw new IOException(file + ": the .npy header runs past the end of the file");
        }
        String header = new String(all, prefix, headerLength, StandardCharsets.US_ASCII);
        Matcher m = NPY_HEADER.matcher(header);
        if (!m.matches()) {
            throw new IOException(file + " is not a coordinates file (a structured array of key, x, y as "
                    + "'latent map --coords' writes); its header: " + header.strip());
        }
        int width = Integer.parseInt(m.group(1));
        int n = Integer.parseInt(m.group(2));
        int record = 4 * width + 8;
        long need = prefix + (long) headerLength + (long) n * record;
        if (need != all.length) {
            throw new IOException(file + " has " + all.length + " bytes, its header promises " + need);
        }
        String[] keys = new String[n];
        float[] x = new float[n];
        float[] y = new float[n];
        int[] cps = new int[width];
        b.position(prefix + headerLength);
        for (int i = 0; i < n; i++) {
            int len = 0;
            for (int c = 0; c < width; c++) {
                cps[c] = b.getInt();
                if (cps[c] != 0) {
                    len = c + 1;
                }
            }
            keys[i] = new String(cps, 0, len);
            x[i] = b.getFloat();
            y[i] = b.getFloat();
        }
        return new MapCoords(keys, x, y);
    }
}
