package dev.latent.space.format;

import dev.latent.core.FloatMatrix;
import dev.latent.space.AtomicOutput;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads and writes numpy {@code .npy} files holding 2-D float matrices.
 *
 * <p><b>Read:</b> format versions 1.0, 2.0 and 3.0; dtypes {@code <f4} (copied as is), {@code >f4}
 * (byte-swapped) and {@code <f8}/{@code >f8} (converted to float32); C order only. Anything else
 * (Fortran order, integer or structured dtypes, 1-D or 3-D shapes) is rejected with a message naming
 * the dtype, flag or shape. Data of any size is read in chunks into an off-heap {@link FloatMatrix},
 * so files over 2 GiB work.
 *
 * <p><b>Write:</b> little-endian float32, C order, version 1.0 (2.0 only if a header ever needed it).
 * Writes are atomic: the data goes to a temporary file in the same directory which is forced to
 * disk and renamed onto the target only when complete, so a failure half-way leaves no
 * complete-looking file. {@link Writer} streams blocks of rows and fixes the row count in the header
 * when it commits.
 *
 * <p>Stateless and thread-safe; a {@link Writer} is for one thread.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** Longest header numpy reads without being told to trust the file ({@code max_header_size}). */
    static final int MAX_HEADER_BYTES = 10000;

    private Npy() {
    }

    /** What an {@code .npy} header says: shape, dtype and where the data starts. */
    public record Header(long rows, int cols, String dtype, long dataOffset, int majorVersion) {
        /** Bytes per element of the stored dtype. */
        public int elementBytes() {
            return dtype.endsWith("8") ? 8 : 4;
        }
    }

    /** Reads and checks the header of {@code file} without reading the data. */
    public static Header readHeader(Path file) throws IOException {
        try (FileChannel ch = openRead(file)) {
            return readHeader(ch, file);
        }
    }

    /** Reads a whole {@code .npy} file into a new off-heap matrix (owned by the caller). */
    public static FloatMatrix read(Path file) throws IOException {
        try (FileChannel ch = openRead(file)) {
            Header h = readHeader(ch, file);
            long need = h.dataOffset() + h.rows() * h.cols() * (long) h.elementBytes();
            if (ch.size() < need) {
                throw new IOException(file + ": truncated .npy file: shape (" + h.rows() + ", " + h.cols()
                        + ") of " + h.dtype() + " needs " + need + " bytes, the file has " + ch.size());
            }
            FloatMatrix m = FloatMatrix.allocate(h.rows(), h.cols());
            try {
                if (h.dtype().equals("<f4")) {
                    OffHeap.readInto(ch, h.dataOffset(), m, null);
                } else {
                    readConverted(ch, h, m);
                }
            } catch (IOException | RuntimeException e) {
                m.close();
                throw e;
            }
            return m;
        }
    }

    /** Byte-swaps or narrows big-endian float32 and float64 data chunk by chunk. */
    private static void readConverted(FileChannel ch, Header h, FloatMatrix m) throws IOException {
        ByteOrder order = h.dtype().charAt(0) == '>' ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        boolean f8 = h.elementBytes() == 8;
        long step = OffHeap.rowsPerChunk(h.cols());
        long pos = h.dataOffset();
        for (long r = 0; r < h.rows(); r += step) {
            long end = Math.min(h.rows(), r + step);
            int n = (int) ((end - r) * h.cols());
            ByteBuffer in = ByteBuffer.allocate(n * h.elementBytes()).order(order);
            pos = OffHeap.readFully(ch, in, pos);
            in.flip();
            ByteBuffer out = OffHeap.bytes(m, r, end);
            if (f8) {
                for (int i = 0; i < n; i++) {
                    out.putFloat((float) in.getDouble());
                }
            } else {
                for (int i = 0; i < n; i++) {
                    out.putFloat(in.getFloat());
                }
            }
        }
    }

    private static FileChannel openRead(Path file) throws IOException {
        try {
            return FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file.toString(), null, "no such file");
        }
    }

    private static Header readHeader(FileChannel ch, Path file) throws IOException {
        ByteBuffer pre = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN);
        try {
            OffHeap.readFully(ch, pre, 0);
        } catch (EOFException e) {
            throw new IOException(file + ": not an .npy file (shorter than an .npy header)");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (pre.get(i) != MAGIC[i]) {
                throw new IOException(file + ": not an .npy file (magic \\x93NUMPY missing)");
            }
        }
        int major = pre.get(6) & 0xff;
        int minor = pre.get(7) & 0xff;
        long headerLen;
        long headerStart;
        if (major == 1) {
            headerLen = pre.getShort(8) & 0xffff;
            headerStart = 10;
        } else if (major == 2 || major == 3) {
            ByteBuffer len = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            try {
                OffHeap.readFully(ch, len, 8);
            } catch (EOFException e) {
                throw new IOException(file + ": truncated .npy file (ends inside the header)");
            }
            headerLen = len.getInt(0) & 0xffffffffL;
            headerStart = 12;
        } else {
            throw new IOException(file + ": .npy format version " + major + "." + minor
                    + " is not supported (this build reads 1.0, 2.0 and 3.0)");
        }
        if (headerLen > ch.size() - headerStart) {
            throw new IOException(file + ": truncated or corrupt .npy header (length " + headerLen + ")");
        }
        if (headerLen > MAX_HEADER_BYTES) {
            throw new IOException(file + ": .npy header of " + headerLen + " bytes; numpy refuses headers over "
                    + MAX_HEADER_BYTES + " bytes, and so does this reader");
        }
        ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
        OffHeap.readFully(ch, hb, headerStart);
        String dict = new String(hb.array(), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        return parseHeader(dict, headerStart + headerLen, major, file);
    }

    private static Header parseHeader(String dict, long dataOffset, int major, Path file) throws IOException {
        Map<String, Object> h;
        try {
            h = new HeaderParser(dict).parse();
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": .npy header is not the Python dict literal numpy writes (" + e.getMessage()
                    + "): " + shorten(dict.trim()));
        }
        if (!h.keySet().equals(Set.of("descr", "fortran_order", "shape"))) {
            throw new IOException(file + ": .npy header must hold exactly the keys 'descr', 'fortran_order' and "
                    + "'shape' (as numpy requires), got " + h.keySet());
        }
        if (!(h.get("descr") instanceof String descr)) {
            throw new IOException(file + ": unsupported dtype (structured or not a string): " + h.get("descr")
                    + "; expected float32 ('<f4')");
        }
        String dtype;
        switch (descr) {
            case "<f4": case "=f4": case "f4": dtype = "<f4"; break;
            case ">f4": dtype = ">f4"; break;
            case "<f8": case "=f8": case "f8": dtype = "<f8"; break;
            case ">f8": dtype = ">f8"; break;
            default:
                throw new IOException(file + ": unsupported dtype '" + descr
                        + "'; expected float32 ('<f4' or '>f4') or float64 ('<f8' or '>f8')");
        }
        if (!(h.get("fortran_order") instanceof Boolean fortran)) {
            throw new IOException(file + ": .npy header's 'fortran_order' is not True or False: " + h.get("fortran_order"));
        }
        if (fortran) {
            throw new IOException(file + ": fortran_order=True is not supported; save a C-ordered array "
                    + "(numpy.ascontiguousarray)");
        }
        if (!(h.get("shape") instanceof List<?> shape)) {
            throw new IOException(file + ": .npy header's 'shape' is not a tuple: " + h.get("shape"));
        }
        if (shape.size() != 2) {
            throw new IOException(file + ": expected a 2-D array (rows, dimension), got shape " + tuple(shape));
        }
        long rows = (Long) shape.get(0);
        long cols = (Long) shape.get(1);
        if (rows < 0 || cols <= 0 || cols > Integer.MAX_VALUE || rows > Long.MAX_VALUE / 8 / cols) {
            throw new IOException(file + ": unusable shape (" + rows + ", " + cols + ")");
        }
        return new Header(rows, (int) cols, dtype, dataOffset, major);
    }

    private static String tuple(List<?> shape) {
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < shape.size(); i++) {
            b.append(i > 0 ? ", " : "").append(shape.get(i));
        }
        return b.append(shape.size() == 1 ? ",)" : ")").toString();
    }

    private static String shorten(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "...";
    }

    /**
     * The header grammar numpy's reader accepts ({@code ast.literal_eval} of a dict): a dict of quoted
     * string keys to values that are quoted strings, {@code True}/{@code False}, or tuples of integers
     * (an {@code L} suffix allowed, as Python 2 wrote them), with optional trailing commas, then only
     * spaces and the final newline. Anything else (an unclosed brace, a bare word, trailing text, a
     * float in the shape) is rejected, as numpy rejects it.
     */
    private static final class HeaderParser {
        private final String s;
        private int i;

        HeaderParser(String s) {
            this.s = s;
        }

        Map<String, Object> parse() {
            skipSpace();
            expect('{');
            Map<String, Object> out = new LinkedHashMap<>();
            skipSpace();
            while (peek() != '}') {
                String key = string();
                skipSpace();
                expect(':');
                skipSpace();
                out.put(key, value());
                skipSpace();
                if (peek() == ',') {
                    i++;
                    skipSpace();
                } else if (peek() != '}') {
                    throw new IllegalArgumentException("expected ',' or '}' at character " + (i + 1));
                }
            }
            i++;
            while (i < s.length()) {
                char c = s.charAt(i++);
                if (c != ' ' && c != '\n' && c != '\t' && c != '\r' && c != '\0') {
                    throw new IllegalArgumentException("text after the closing brace at character " + i);
                }
            }
            return out;
        }

        private Object value() {
            char c = peek();
            if (c == '\'' || c == '"') {
                return string();
            }
            if (c == '(') {
                return tuple();
            }
            if (s.startsWith("True", i)) {
                i += 4;
                return Boolean.TRUE;
            }
            if (s.startsWith("False", i)) {
                i += 5;
                return Boolean.FALSE;
            }
            if (c == '[') {
                throw new IllegalArgumentException("a list value (structured dtype)");
            }
            throw new IllegalArgumentException("unexpected '" + c + "' at character " + (i + 1));
        }

        private List<Long> tuple() {
            expect('(');
            List<Long> items = new ArrayList<>();
            skipSpace();
            boolean comma = false;
            while (peek() != ')') {
                items.add(integer());
                skipSpace();
                comma = false;
                if (peek() == ',') {
                    i++;
                    comma = true;
                    skipSpace();
                } else if (peek() != ')') {
                    throw new IllegalArgumentException("expected ',' or ')' in the shape at character " + (i + 1));
                }
            }
            i++;
            if (items.size() == 1 && !comma) {
                // (5) is a parenthesised int in Python, not a tuple.
                throw new IllegalArgumentException("shape (" + items.get(0) + ") is not a tuple");
            }
            return items;
        }

        private long integer() {
            int start = i;
            if (peek() == '-' || peek() == '+') {
                i++;
            }
            // ASCII digits only: Python's integer literals (and so numpy's header reader) take no other digits.
            while (i < s.length() && isAsciiDigit(s.charAt(i))) {
                i++;
            }
            if (i == start || !isAsciiDigit(s.charAt(i - 1))) {
                throw new IllegalArgumentException("expected an integer at character " + (start + 1));
            }
            long v;
            try {
                v = Long.parseLong(s.substring(start, i));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("integer " + s.substring(start, i) + " out of range");
            }
            if (i < s.length() && (s.charAt(i) == 'L' || s.charAt(i) == 'l')) {
                i++;
            }
            return v;
        }

        private static boolean isAsciiDigit(char c) {
            return c >= '0' && c <= '9';
        }

        private String string() {
            char q = peek();
            if (q != '\'' && q != '"') {
                throw new IllegalArgumentException("expected a quoted string at character " + (i + 1));
            }
            int end = s.indexOf(q, i + 1);
            if (end < 0) {
                throw new IllegalArgumentException("unterminated string at character " + (i + 1));
            }
            String v = s.substring(i + 1, end);
            if (v.indexOf('\\') >= 0) {
                throw new IllegalArgumentException("escape sequences in a header string");
            }
            i = end + 1;
            return v;
        }

        private void skipSpace() {
            while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t' || s.charAt(i) == '\n'
                    || s.charAt(i) == '\r')) {
                i++;
            }
        }

        private char peek() {
            if (i >= s.length()) {
                throw new IllegalArgumentException("the header ends early");
            }
            return s.charAt(i);
        }

        private void expect(char c) {
            if (peek() != c) {
                throw new IllegalArgumentException("expected '" + c + "' at character " + (i + 1));
            }
            i++;
        }
    }

    /** Writes {@code m} atomically as a little-endian float32 {@code .npy} file. */
    public static void write(Path file, FloatMatrix m) throws IOException {
        try (Writer w = writer(file, m.cols())) {
            w.append(m);
            w.commit();
        }
    }

    /** Starts a streaming, atomic write of a float32 matrix with {@code cols} columns. */
    public static Writer writer(Path file, int cols) throws IOException {
        if (cols <= 0) {
            throw new IllegalArgumentException("dimension must be > 0, got " + cols);
        }
        AtomicOutput out = AtomicOutput.open(file);
        try {
            return new Writer(out, cols, true);
        } catch (IOException | RuntimeException e) {
            try {
                out.close();   // not committed: deletes the temporary file
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /**
     * Starts a streaming write of a float32 matrix into {@code out}, an output of an {@link dev.latent.space.OutputSet}
     * that commits it with the command's other outputs: call {@link Writer#finish()} when done.
     */
    public static Writer writer(AtomicOutput out, int cols) throws IOException {
        if (cols <= 0) {
            throw new IllegalArgumentException("dimension must be > 0, got " + cols);
        }
        return new Writer(out, cols, false);
    }

    /**
     * Builds a header for {@code rows × cols} whose length does not depend on {@code rows}: the
     * padding is sized for the largest possible row count, so the header can be rewritten in place
     * once the final count is known.
     */
    static byte[] header(long rows, int cols) {
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + rows + ", " + cols + "), }";
        String widest = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + Long.MAX_VALUE + ", " + cols + "), }";
        int pre = 10;
        int total = pre + widest.length() + 1;
        total = (total + 63) / 64 * 64;
        int hlen = total - pre;
        StringBuilder sb = new StringBuilder(dict);
        while (sb.length() < hlen - 1) {
            sb.append(' ');
        }
        sb.append('\n');
        ByteBuffer bb = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
        bb.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) hlen);
        bb.put(sb.toString().getBytes(StandardCharsets.ISO_8859_1));
        return bb.array();
    }

    /**
     * Streams rows into an {@code .npy} file. Call {@link #append} any number of times, then
     * {@link #commit()}; closing without a commit deletes the partial file. Not thread-safe.
     */
    public static final class Writer implements AutoCloseable {
        private final AtomicOutput out;
        private final int cols;
        private final int headerBytes;
        private final boolean owned;
        private long rows;
        private boolean finished;

        private Writer(AtomicOutput out, int cols, boolean owned) throws IOException {
            this.out = out;
            this.cols = cols;
            this.owned = owned;
            byte[] h = header(0, cols);
            this.headerBytes = h.length;
            out.write(ByteBuffer.wrap(h));
        }

        /** Appends all rows of {@code block} (its dimension must match). */
        public void append(FloatMatrix block) throws IOException {
            if (finished) {
                throw new IllegalStateException("Npy.Writer already finished");
            }
            if (block.cols() != cols) {
                throw new IllegalArgumentException("block has dimension " + block.cols() + ", expected " + cols);
            }
            OffHeap.writeFrom(out.channel(), block, 0, block.rows(), null);
            rows += block.rows();
        }

        /** Rows appended so far. */
        public long rows() {
            return rows;
        }

        /** Writes the final row count into the header; the file is then complete (not yet committed). */
        public void finish() throws IOException {
            if (finished) {
                return;
            }
            byte[] h = header(rows, cols);
            if (h.length != headerBytes) {
                throw new IllegalStateException("npy header length changed");
            }
            out.write(ByteBuffer.wrap(h), 0);
            finished = true;
        }

        /**
         * Finishes the file, forces it to disk and renames it into place (a writer opened on a path; one
         * opened on an {@link dev.latent.space.OutputSet}'s output is committed by the set).
         */
        public void commit() throws IOException {
            if (!owned) {
                throw new IllegalStateException("this writer's output belongs to an OutputSet: finish() it and commit the set");
            }
            finish();
            out.commit();
        }

        /** Deletes the partial file unless it was committed (a writer opened on a path). */
        @Override
        public void close() throws IOException {
            if (owned) {
                out.close();
            }
        }
    }
}
