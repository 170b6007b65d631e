package dev.latent.space;

import dev.latent.core.FloatMatrix;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
    private static final Pattern DESCR = Pattern.compile("['\"]descr['\"]\\s*:\\s*(['\"])([^'\"]*)\\1");
    private static final Pattern FORTRAN = Pattern.compile("['\"]fortran_order['\"]\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("['\"]shape['\"]\\s*:\\s*\\(([^)]*)\\)");

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
        if (headerLen > ch.size() - headerStart || headerLen > 1 << 20) {
            throw new IOException(file + ": truncated or corrupt .npy header (length " + headerLen + ")");
        }
        ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
        OffHeap.readFully(ch, hb, headerStart);
        String dict = new String(hb.array(), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        return parseHeader(dict, headerStart + headerLen, major, file);
    }

    private static Header parseHeader(String dict, long dataOffset, int major, Path file) throws IOException {
        Matcher d = DESCR.matcher(dict);
        if (!d.find()) {
            throw new IOException(file + ": unsupported dtype (structured or missing 'descr'): " + dict.trim()
                    + "; expected float32 ('<f4')");
        }
        String descr = d.group(2);
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
        Matcher f = FORTRAN.matcher(dict);
        if (!f.find()) {
            throw new IOException(file + ": .npy header has no 'fortran_order' flag: " + dict.trim());
        }
        if (f.group(1).equals("True")) {
            throw new IOException(file + ": fortran_order=True is not supported; save a C-ordered array "
                    + "(numpy.ascontiguousarray)");
        }
        Matcher s = SHAPE.matcher(dict);
        if (!s.find()) {
            throw new IOException(file + ": .npy header has no 'shape': " + dict.trim());
        }
        String[] parts = s.group(1).split(",");
        long[] dims = new long[parts.length];
        int n = 0;
        for (String p : parts) {
            String t = p.trim().replace("L", "");
            if (!t.isEmpty()) {
                try {
                    dims[n++] = Long.parseLong(t);
                } catch (NumberFormatException e) {
                    throw new IOException(file + ": bad .npy shape (" + s.group(1) + ")");
                }
            }
        }
        if (n != 2) {
            throw new IOException(file + ": expected a 2-D array (rows, dimension), got shape ("
                    + s.group(1).trim() + ")");
        }
        if (dims[0] < 0 || dims[1] <= 0 || dims[1] > Integer.MAX_VALUE || dims[0] > Long.MAX_VALUE / 8 / dims[1]) {
            throw new IOException(file + ": unusable shape (" + dims[0] + ", " + dims[1] + ")");
        }
        return new Header(dims[0], (int) dims[1], dtype, dataOffset, major);
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
            return new Writer(out, cols);
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
        private long rows;

        private Writer(AtomicOutput out, int cols) throws IOException {
            this.out = out;
            this.cols = cols;
            byte[] h = header(0, cols);
            this.headerBytes = h.length;
            out.write(ByteBuffer.wrap(h));
        }

        /** Appends all rows of {@code block} (its dimension must match). */
        public void append(FloatMatrix block) throws IOException {
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

        /** Writes the final row count into the header, forces the data to disk and renames the file into place. */
        public void commit() throws IOException {
            byte[] h = header(rows, cols);
            if (h.length != headerBytes) {
                throw new IllegalStateException("npy header length changed");
            }
            out.write(ByteBuffer.wrap(h), 0);
            out.commit();
        }

        /** Deletes the partial file unless {@link #commit()} succeeded. */
        @Override
        public void close() throws IOException {
            out.close();
        }
    }
}
