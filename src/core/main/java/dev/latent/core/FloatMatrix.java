package dev.latent.core;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.indexer.FloatRawIndexer;

/**
 * A dense row-major float32 matrix in native (off-heap) memory: {@code rows × cols}, row {@code r}
 * starting at element {@code r * cols}. Sizes are 64-bit, so one matrix may hold more than 2 GiB.
 *
 * <p><b>Ownership.</b> A matrix made by {@link #allocate} owns its memory and frees it exactly once,
 * on {@link #close()} (a {@link Cleaner} frees it if the owner forgets, but do not rely on that).
 * A {@link #rowsView(long, long) view} borrows its parent's memory, frees nothing, and must not be
 * used after the parent is closed. Use after close throws {@link IllegalStateException}.
 *
 * <p><b>Thread safety.</b> Any number of threads may read concurrently. Writes must not race with
 * reads or writes of the same elements; {@link #close()} must not race with any other use.
 */
public final class FloatMatrix implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();

    /** Frees the allocation once, whether from close() or from the cleaner. */
    private static final class Allocation implements Runnable {
        private final AtomicLong address;
        private final Runnable release;   // null: the memory came from Pointer.calloc

        Allocation(long address) {
            this(address, null);
        }

        Allocation(long address, Runnable release) {
            this.address = new AtomicLong(address);
            this.release = release;
        }

        long address() {
            return address.get();
        }

        @Override
        public void run() {
            long a = address.getAndSet(0);
            if (a != 0) {
                if (release != null) {
                    release.run();
                } else {
                    Pointer.free(new Pointer() { { address = a; } });
                }
            }
        }
    }

    private final long rows;
    private final int cols;
    private final Allocation allocation;   // shared with views; owner closes it
    private final FloatMatrix owningMatrix; // for a view: keeps the owner (and so its memory) reachable
    private final long offsetElements;     // first element of this matrix inside the allocation
    private final boolean owner;
    private final Cleaner.Cleanable cleanable;
    private volatile boolean closed;

    /** An owner when {@code owningMatrix} is null, else a view of {@code owningMatrix}'s memory. */
    private FloatMatrix(long rows, int cols, Allocation allocation, long offsetElements, FloatMatrix owningMatrix) {
        this.owningMatrix = owningMatrix;
        this.rows = rows;
        this.cols = cols;
        this.allocation = allocation;
        this.offsetElements = offsetElements;
        this.owner = owningMatrix == null;
        this.cleanable = owner ? CLEANER.register(this, allocation) : null;
    }

    /** Allocates a zero-filled {@code rows × cols} matrix. */
    public static FloatMatrix allocate(long rows, int cols) {
        if (rows < 0) {
            throw new IllegalArgumentException("rows must be >= 0, got " + rows);
        }
        if (cols <= 0) {
            throw new IllegalArgumentException("cols (dimension) must be > 0, got " + cols);
        }
        long elements = Math.multiplyExact(rows, (long) cols);
        long bytes = Math.max(4L, Math.multiplyExact(elements, 4L));
        Pointer p = Pointer.calloc(1, bytes);
        if (p == null || p.isNull()) {
            throw new OutOfMemoryError("cannot allocate " + bytes + " bytes of native memory for a "
                    + rows + " x " + cols + " float matrix");
        }
        return new FloatMatrix(rows, cols, new Allocation(p.address()), 0, null);
    }

    /**
     * A matrix over {@code rows × cols} floats at {@code address} that someone else allocated (a mapped file,
     * for example): readable and writable as any matrix; {@code release} runs once, at {@link #close()} or when
     * the matrix becomes unreachable, and must free that memory. The caller guarantees the memory holds that
     * many floats until then.
     */
    public static FloatMatrix wrap(long address, long rows, int cols, Runnable release) {
        if (address == 0 || rows < 0 || cols <= 0) {
            throw new IllegalArgumentException("wrap: address " + address + ", " + rows + " x " + cols);
        }
        java.util.Objects.requireNonNull(release, "release");
        return new FloatMatrix(rows, cols, new Allocation(address, release), 0, null);
    }

    /** Copies a Java array (all rows of equal length) into a new native matrix. */
    public static FloatMatrix of(float[][] data) {
        if (data.length == 0) {
            throw new IllegalArgumentException("cannot build a matrix from zero rows without a dimension");
        }
        int d = data[0].length;
        FloatMatrix m = allocate(data.length, d);
        for (int r = 0; r < data.length; r++) {
            if (data[r].length != d) {
                m.close();
                throw new IllegalArgumentException("row " + r + " has dimension " + data[r].length
                        + ", expected " + d);
            }
            m.setRow(r, data[r]);
        }
        return m;
    }

    /** Copies a flat row-major array of {@code rows * cols} floats into a new native matrix. */
    public static FloatMatrix of(float[] flat, int cols) {
        if (cols <= 0 || flat.length % cols != 0) {
            throw new IllegalArgumentException("array of length " + flat.length
                    + " is not a whole number of rows of dimension " + cols);
        }
        FloatMatrix m = allocate(flat.length / cols, cols);
        m.indexer().put(0, flat, 0, flat.length);
        return m;
    }

    public long rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** Number of float elements, {@code rows * cols}. */
    public long size() {
        return rows * cols;
    }

    /** Native address of element (0, 0). Valid until the owning matrix is closed. */
    public long address() {
        checkOpen();
        return allocation.address() + offsetElements * 4L;
    }

    /** A fresh JavaCPP pointer to element (0, 0), capacity {@link #size()}; it does not own memory. */
    public FloatPointer pointer() {
        long a = address();
        long n = size();
        return new FloatPointer(new Pointer() { { address = a; } }).capacity(n).limit(n);
    }

    private FloatRawIndexer indexer() {
        return new FloatRawIndexer(pointer());
    }

    public float get(long row, int col) {
        checkIndex(row, col);
        return indexer().get(row * cols + col);
    }

    public void set(long row, int col, float value) {
        checkIndex(row, col);
        indexer().put(row * cols + col, value);
    }

    /** Copies row {@code row} into {@code dst} (length at least {@link #cols()}). */
    public float[] getRow(long row, float[] dst) {
        checkIndex(row, 0);
        indexer().get(row * cols, dst, 0, cols);
        return dst;
    }

    /** Copies row {@code row} into a new array. */
    public float[] getRow(long row) {
        return getRow(row, new float[cols]);
    }

    /** Overwrites row {@code row} with {@code src} (length exactly {@link #cols()}). */
    public void setRow(long row, float[] src) {
        if (src.length != cols) {
            throw new IllegalArgumentException("row has dimension " + src.length + ", expected " + cols);
        }
        checkIndex(row, 0);
        indexer().put(row * cols, src, 0, cols);
    }

    /** Copies {@code count} rows starting at {@code fromRow} into a flat row-major array. */
    public float[] copyRows(long fromRow, int count) {
        if (fromRow < 0 || count < 0 || fromRow + count > rows) {
            throw new IndexOutOfBoundsException("rows [" + fromRow + ", " + (fromRow + count)
                    + ") outside a matrix of " + rows + " rows");
        }
        float[] out = new float[Math.multiplyExact(count, cols)];
        indexer().get(fromRow * cols, out, 0, out.length);
        return out;
    }

    /**
     * Overwrites {@code flat.length / cols()} rows starting at {@code fromRow} with the row-major
     * {@code flat} (a whole number of rows).
     */
    public void setRows(long fromRow, float[] flat) {
        if (flat.length % cols != 0) {
            throw new IllegalArgumentException("array of length " + flat.length
                    + " is not a whole number of rows of dimension " + cols);
        }
        long count = flat.length / cols;
        checkOpen();
        if (fromRow < 0 || fromRow + count > rows) {
            throw new IndexOutOfBoundsException("rows [" + fromRow + ", " + (fromRow + count)
                    + ") outside a matrix of " + rows + " rows");
        }
        indexer().put(fromRow * cols, flat, 0, flat.length);
    }

    /** Copies the whole matrix to the heap (fails above {@code Integer.MAX_VALUE} rows). */
    public float[][] toArray() {
        if (rows > Integer.MAX_VALUE) {
            throw new IllegalStateException("matrix of " + rows + " rows does not fit a Java array");
        }
        float[][] out = new float[(int) rows][];
        FloatRawIndexer ix = indexer();
        for (int r = 0; r < rows; r++) {
            out[r] = new float[cols];
            ix.get((long) r * cols, out[r], 0, cols);
        }
        return out;
    }

    /** A non-owning view of rows {@code [from, to)}; valid while this matrix is open. */
    public FloatMatrix rowsView(long from, long to) {
        checkOpen();
        if (from < 0 || to < from || to > rows) {
            throw new IndexOutOfBoundsException("rows [" + from + ", " + to + ") outside a matrix of "
                    + rows + " rows");
        }
        return new FloatMatrix(to - from, cols, allocation, offsetElements + from * cols,
                owner ? this : owningMatrix);
    }

    /**
     * A little-endian byte buffer over rows {@code [from, to)} (at most 2 GiB), reading and writing this
     * matrix's memory directly; valid while the matrix is open.
     */
    public ByteBuffer bytes(long from, long to) {
        return rowsView(from, to).pointer().asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** True for a matrix that owns its memory (not a view). */
    public boolean isOwner() {
        return owner;
    }

    public boolean isClosed() {
        return closed || allocation.address() == 0;
    }

    private void checkOpen() {
        if (isClosed()) {
            throw new IllegalStateException("FloatMatrix is closed");
        }
    }

    private void checkIndex(long row, int col) {
        checkOpen();
        if (row < 0 || row >= rows || col < 0 || col >= cols) {
            throw new IndexOutOfBoundsException("(" + row + ", " + col + ") outside a "
                    + rows + " x " + cols + " matrix");
        }
    }

    /** Frees the memory if this matrix owns it; a view only marks itself closed. Idempotent. */
    @Override
    public void close() {
        closed = true;
        if (owner) {
            cleanable.clean();
        }
    }

    @Override
    public String toString() {
        return "FloatMatrix[" + rows + " x " + cols + (owner ? "" : ", view") + (isClosed() ? ", closed" : "") + "]";
    }
}
