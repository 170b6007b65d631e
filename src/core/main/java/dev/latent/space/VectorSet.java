package dev.latent.space;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Vectors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import org.bytedeco.javacpp.Pointer;

/**
 * Vectors with caller ids: rows of one dimension in off-heap storage (more than 2 GiB allowed, up to
 * 2<sup>29</sup> rows), a 64-bit id per row and the map from id to row. Every row meets the vector rule
 * ({@link Vectors}) for the set's metric.
 *
 * <p><b>Failure-atomic.</b> {@link #add} checks the whole batch (dimension, the vector rule, unique ids)
 * and allocates everything that can fail before it changes anything, so a failed add leaves the set
 * exactly as it was; {@link #remove} checks every id first. Removal moves the last row into the hole, so
 * row order is not insertion order. Storage grows by half when full, or once with {@link #reserve}.
 *
 * <p><b>Snapshots.</b> {@link #snapshot()} pins the rows and ids as they are, in O(1): the set and the
 * snapshot share storage, and the first removal of a pinned row (which would move the last row into its
 * hole) first copies the set to fresh storage, once per snapshot. Adds write past the pinned rows, and
 * growth copies nothing extra. So a slow reader of a snapshot (a save to disk) never holds up writers,
 * and writers never change what it reads.
 *
 * <p>Not thread-safe: the index that owns a set serialises writers against readers. A {@link Snapshot}
 * may be read and closed from any thread. {@link #close()} lets go of the storage (idempotent; it is freed
 * when the last open snapshot closes too); use after close throws {@link IllegalStateException}.
 */
public final class VectorSet implements AutoCloseable {
    /** Largest number of vectors one set holds (row numbers are ints; the id map caps at 2^29). */
    public static final long MAX_VECTORS = 1L << 29;

    private final int dimension;
    private final Metric metric;
    private Shared block;                 // holds storage, shared with snapshots
    private FloatMatrix storage;          // block.rows: capacity rows × dimension; rows [0, size) are live
    private long[] rowIds;                // row → caller id, length ≥ size
    private IdMap idToRow;
    private RecordStore records = RecordStore.empty();
    private int size;
    private boolean closed;

    /** An empty set. */
    public VectorSet(int dimension, Metric metric) {
        if (dimension <= 0) {
            throw new IllegalArgumentException("dimension must be > 0, got " + dimension);
        }
        this.dimension = dimension;
        this.metric = Objects.requireNonNull(metric, "metric");
        this.block = new Shared(FloatMatrix.allocate(0, dimension));
        this.storage = block.rows;
        this.rowIds = new long[0];
        this.idToRow = new IdMap(16);
    }

    /**
     * A set that takes ownership of {@code vectors} as its storage, with {@code ids} in row order (checked:
     * as many as rows, unique, every row meeting the vector rule, each failure named with
     * {@code source}). On error the caller still owns {@code vectors}.
     *
     * @param source named in messages (a file, for example)
     */
    public static VectorSet adopt(long[] ids, FloatMatrix vectors, Metric metric, String source) {
        return adopt(ids, vectors, metric, RecordStore.empty(), source);
    }

    /**
     * As {@link #adopt(long[], FloatMatrix, Metric, String)}, with the records of those ids (a file's records
     * section, whose keys the store has checked).
     */
    public static VectorSet adopt(long[] ids, FloatMatrix vectors, Metric metric, RecordStore records, String source) {
        if (vectors.rows() != ids.length) {
            throw new IllegalArgumentException(source + ": " + ids.length + " ids for " + vectors.rows() + " vectors");
        }
        if (vectors.rows() > MAX_VECTORS) {
            throw new IllegalArgumentException(source + ": " + vectors.rows() + " rows; a set holds at most " + MAX_VECTORS);
        }
        try {
            Vectors.check(vectors, metric, null, 0);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": stored vector " + e.getMessage(), e);
        }
        IdMap map = new IdMap(ids.length);
        for (int i = 0; i < ids.length; i++) {
            if (map.containsKey(ids[i])) {
                throw new IllegalArgumentException(source + ": duplicate id " + ids[i] + " (rows " + map.get(ids[i])
                        + " and " + i + ")");
            }
            map.put(ids[i], i);
        }
        VectorSet s = new VectorSet(vectors.cols(), metric);
        s.replaceStorage(vectors);
        s.rowIds = ids;
        s.idToRow = map;
        s.records = Objects.requireNonNull(records, "records");
        s.size = ids.length;
        return s;
    }

    public int dimension() {
        return dimension;
    }

    public Metric metric() {
        return metric;
    }

    /** Number of vectors. */
    public int size() {
        checkOpen();
        return size;
    }

    /** Rows the storage holds before it must grow. */
    public long capacity() {
        checkOpen();
        return storage.rows();
    }

    /**
     * The live rows {@code [0, size())} as a view of the storage: valid until the next change of the set
     * (which may move the storage) and while the set is open; the caller closes the view.
     */
    public FloatMatrix rows() {
        checkOpen();
        return storage.rowsView(0, size);
    }

    public boolean contains(long id) {
        checkOpen();
        return idToRow.containsKey(id);
    }

    /** The row of {@code id}, or -1. */
    public int rowOf(long id) {
        checkOpen();
        return idToRow.get(id);
    }

    /**
     * The rows of {@code ids}, ascending, repeats once.
     *
     * @throws IllegalArgumentException naming the ids not stored
     */
    public long[] rowsOf(long[] ids) {
        checkOpen();
        long[] rows = new long[ids.length];
        List<Long> unknown = new ArrayList<>();
        for (int i = 0; i < ids.length; i++) {
            int row = idToRow.get(ids[i]);
            if (row < 0) {
                unknown.add(ids[i]);
            }
            rows[i] = row;
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("filter names id" + (unknown.size() > 1 ? "s " : " ")
                    + shortList(unknown) + " not in the index");
        }
        Arrays.sort(rows);
        int n = 0;
        for (int i = 0; i < rows.length; i++) {
            if (n == 0 || rows[i] != rows[n - 1]) {
                rows[n++] = rows[i];
            }
        }
        return Arrays.copyOf(rows, n);
    }

    /** The id of row {@code row}. */
    public long idOf(long row) {
        checkOpen();
        if (row < 0 || row >= size) {
            throw new IndexOutOfBoundsException("row " + row + " outside [0, " + size + ")");
        }
        return rowIds[(int) row];
    }

    /** The ids in row order (a copy). */
    public long[] ids() {
        checkOpen();
        return Arrays.copyOf(rowIds, size);
    }

    /** The ids in row order, shared: valid until the next change of the set; do not modify. */
    public long[] idsShared() {
        checkOpen();
        return rowIds;
    }

    /** A copy of the vector stored under {@code id}. */
    public float[] vector(long id) {
        checkOpen();
        int row = idToRow.get(id);
        if (row < 0) {
            throw new IllegalArgumentException("unknown id " + id);
        }
        return storage.getRow(row);
    }

    /**
     * Makes room for {@code rows} vectors in all, so that adds up to that size allocate no storage and
     * copy no stored rows. Does nothing when the room is there. Changes no content.
     */
    public void reserve(long rows) {
        checkOpen();
        if (rows > MAX_VECTORS) {
            throw new IllegalArgumentException("cannot reserve " + rows + " vectors; the limit is " + MAX_VECTORS);
        }
        if (rows <= storage.rows()) {
            return;
        }
        FloatMatrix target = FloatMatrix.allocate(rows, dimension);
        long[] newIds;
        try {
            newIds = Arrays.copyOf(rowIds, (int) rows);
            idToRow.ensureCapacity((int) (rows - size));
        } catch (RuntimeException | OutOfMemoryError e) {
            target.close();
            throw e;
        }
        copyRows(storage, 0, target, 0, size);
        replaceStorage(target);
        rowIds = newIds;
    }

    /**
     * Adds {@code vectors.rows()} vectors with the given ids. The whole batch is checked first; on any
     * error nothing changes. The vectors are copied (the caller keeps ownership of {@code vectors}).
     *
     * @return true when the storage moved (views from {@link #rows()} are then stale)
     * @throws IllegalArgumentException for a count or dimension mismatch, a row that breaks the vector
     *     rule (named), or an id repeated in the batch or already stored (named)
     */
    public boolean add(long[] ids, FloatMatrix vectors) {
        return add(ids, vectors, null);
    }

    /**
     * As {@link #add(long[], FloatMatrix)}, each vector with its {@link Record} ({@code records} null, or one per
     * id, an element null for none). Keys are checked with the rest before anything changes.
     *
     * @throws IllegalArgumentException also for a key repeated in the batch or held by a stored vector (both named)
     */
    public boolean add(long[] ids, FloatMatrix vectors, List<Record> records) {
        Objects.requireNonNull(ids, "ids");
        Objects.requireNonNull(vectors, "vectors");
        checkOpen();
        if (vectors.rows() != ids.length) {
            throw new IllegalArgumentException(ids.length + " ids for " + vectors.rows() + " vectors");
        }
        if (ids.length == 0) {
            return false;
        }
        if (vectors.cols() != dimension) {
            throw new IllegalArgumentException("vectors have dimension " + vectors.cols() + ", the index has " + dimension);
        }
        Vectors.check(vectors, metric, null, 0);
        checkNewIds(ids);
        checkNewKeys(ids, records);
        long newSize = (long) size + ids.length;
        if (newSize > MAX_VECTORS) {
            throw new IllegalArgumentException("index would hold " + newSize + " vectors; the limit is " + MAX_VECTORS);
        }
        // Allocate everything that can fail before changing any state. The add writes rows [size, newSize):
        // no open snapshot reads them, since size >= pinnedRows (a removal of a pinned row copies first).
        FloatMatrix target = storage;
        if (newSize > storage.rows()) {
            long cap = Math.min(MAX_VECTORS, Math.max(newSize, Math.max(1024, storage.rows() + storage.rows() / 2)));
            target = FloatMatrix.allocate(cap, dimension);
        }
        long[] newIds;
        try {
            newIds = rowIds.length >= newSize ? rowIds : Arrays.copyOf(rowIds, (int) target.rows());
            idToRow.ensureCapacity(ids.length);
        } catch (RuntimeException | OutOfMemoryError e) {
            if (target != storage) {
                target.close();
            }
            throw e;
        }
        boolean moved = target != storage;
        if (moved) {
            copyRows(storage, 0, target, 0, size);
            replaceStorage(target);
        }
        copyRows(vectors, 0, storage, size, ids.length);
        System.arraycopy(ids, 0, newIds, size, ids.length);
        rowIds = newIds;
        for (int i = 0; i < ids.length; i++) {
            idToRow.put(ids[i], size + i);
        }
        size = (int) newSize;
        if (records != null || this.records.hasRecords()) {
            for (int i = 0; i < ids.length; i++) {
                this.records.put(ids[i], records == null ? null : records.get(i));
            }
        }
        return moved;
    }

    private void checkNewKeys(long[] ids, List<Record> batch) {
        if (batch == null) {
            return;
        }
        if (batch.size() != ids.length) {
            throw new IllegalArgumentException(batch.size() + " records for " + ids.length + " ids");
        }
        java.util.HashMap<String, Integer> seen = new java.util.HashMap<>();
        for (int i = 0; i < batch.size(); i++) {
            Record r = batch.get(i);
            if (r == null) {
                continue;
            }
            Integer before = seen.put(r.key(), i);
            if (before != null) {
                throw new IllegalArgumentException("duplicate key '" + r.key() + "' in the batch (items " + before
                        + " and " + i + ")");
            }
            java.util.OptionalLong holder = records.idOf(r.key(), idToRow::containsKey);
            if (holder.isPresent()) {
                throw new IllegalArgumentException("key '" + r.key() + "' is already in the index (id " + holder.getAsLong()
                        + "); remove it first, or upsert to replace it");
            }
        }
    }

    /** The record of {@code id}, or null when it has none. */
    public Record record(long id) {
        checkOpen();
        return idToRow.containsKey(id) ? records.get(id) : null;
    }

    /** The id of the stored vector whose record has {@code key}, if any. */
    public java.util.OptionalLong idOfKey(String key) {
        checkOpen();
        return records.idOf(key, idToRow::containsKey);
    }

    /** Whether any vector may have a record (see {@link RecordStore#hasRecords()}). */
    public boolean hasRecords() {
        checkOpen();
        return records.hasRecords();
    }

    /** Heap held to find the records mapped from a file, in bytes. */
    public long recordHeapBytes() {
        checkOpen();
        return records.baseHeapBytes();
    }

    private void checkNewIds(long[] ids) {
        long[] sorted = ids.clone();
        Arrays.sort(sorted);
        for (int i = 1; i < sorted.length; i++) {
            if (sorted[i] == sorted[i - 1]) {
                throw new IllegalArgumentException("duplicate id " + sorted[i] + " in the batch");
            }
        }
        for (long id : ids) {
            if (idToRow.containsKey(id)) {
                throw new IllegalArgumentException("id " + id + " is already in the index");
            }
        }
    }

    /**
     * Removes the vectors with the given ids (repeats are ignored). All ids are checked first: if any is
     * unknown, nothing is removed and the error names the unknown ids.
     *
     * @return the number of vectors removed
     */
    public int remove(long... ids) {
        return remove(ids, row -> { });
    }

    /**
     * As {@link #remove(long...)}, telling {@code moved} each row that receives the last row (a hole filled),
     * in the order it happens; the rows whose content changed are those told that are below {@link #size()}
     * afterwards (a resident copy patches just those).
     */
    public int remove(long[] ids, java.util.function.IntConsumer moved) {
        Objects.requireNonNull(ids, "ids");
        checkOpen();
        List<Long> unknown = new ArrayList<>();
        for (long id : ids) {
            if (!idToRow.containsKey(id)) {
                unknown.add(id);
            }
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("unknown id" + (unknown.size() > 1 ? "s " : " ") + shortList(unknown)
                    + "; nothing removed");
        }
        int pinned = block.pinnedRows();
        for (long id : ids) {
            if (idToRow.get(id) < pinned) {
                copyOnWrite(); // a removal moves rows into holes a snapshot still reads (if this fails, nothing changed)
                break;
            }
        }
        int removed = 0;
        for (long id : ids) {
            int row = idToRow.remove(id);
            if (row < 0) {
                continue;   // repeated in the argument list
            }
            records.remove(id);
            int last = size - 1;
            if (row != last) {
                copyRows(storage, last, storage, row, 1);
                long movedId = rowIds[last];
                rowIds[row] = movedId;
                idToRow.put(movedId, row);
                moved.accept(row);
            }
            size--;
            removed++;
        }
        return removed;
    }

    /**
     * Pins the rows and ids as they are now, in O(1); see the class comment. The caller closes the
     * snapshot, which may outlive the set.
     */
    public Snapshot snapshot() {
        checkOpen();
        block.pin(size);
        return new Snapshot(this, block, rowIds, size, records.freeze());
    }

    /**
     * The rows and ids of a set at one moment: immutable, readable from any thread until {@link #close()}
     * (idempotent, thread-safe), which lets go of the pinned storage.
     */
    public static final class Snapshot implements AutoCloseable {
        private final int dimension;
        private final Metric metric;
        private final Shared block;
        private final long[] ids;
        private final int size;
        private final RecordStore records;
        private final AtomicBoolean closed = new AtomicBoolean();

        private Snapshot(VectorSet set, Shared block, long[] ids, int size, RecordStore records) {
            this.dimension = set.dimension;
            this.metric = set.metric;
            this.block = block;
            this.ids = ids;
            this.size = size;
            this.records = records;
        }

        /** The records of the pinned rows (a frozen view: look them up by the ids of {@link #idsShared()}). */
        public RecordStore records() {
            check();
            return records;
        }

        public int dimension() {
            return dimension;
        }

        public Metric metric() {
            return metric;
        }

        public int size() {
            return size;
        }

        /** The pinned rows as a view, valid while the snapshot is open; the caller closes the view. */
        public FloatMatrix rows() {
            check();
            return block.rows.rowsView(0, size);
        }

        /** The id of each pinned row, shared: read {@code [0, size())} only and do not modify. */
        public long[] idsShared() {
            check();
            return ids;
        }

        private void check() {
            if (closed.get()) {
                throw new IllegalStateException("snapshot is closed");
            }
        }

        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                block.unpin();
            }
        }
    }

    /**
     * Storage shared by the set and its open snapshots: freed when the set has let go and no snapshot pins
     * it. Thread-safe (snapshots close on any thread).
     */
    private static final class Shared {
        final FloatMatrix rows;
        private boolean ownerHolds = true;
        private int pins;
        private int pinnedRows;  // rows [0, pinnedRows) are read by an open snapshot

        Shared(FloatMatrix rows) {
            this.rows = rows;
        }

        synchronized void pin(int size) {
            pins++;
            pinnedRows = Math.max(pinnedRows, size);
        }

        synchronized int pinnedRows() {
            return pinnedRows;
        }

        synchronized void unpin() {
            if (--pins == 0) {
                pinnedRows = 0;
                if (!ownerHolds) {
                    rows.close();
                }
            }
        }

        synchronized void release() {
            ownerHolds = false;
            if (pins == 0) {
                rows.close();
            }
        }
    }

    /** Makes {@code target} the storage, letting go of the old one (freed now unless a snapshot pins it). */
    private void replaceStorage(FloatMatrix target) {
        block.release();
        block = new Shared(target);
        storage = target;
    }

    /** Copies rows and ids to fresh storage so that pinned ones are never overwritten. */
    private void copyOnWrite() {
        long[] ids = rowIds.clone();
        FloatMatrix target = FloatMatrix.allocate(storage.rows(), dimension);
        copyRows(storage, 0, target, 0, size);
        rowIds = ids;
        replaceStorage(target);
    }

    /** A short rendering of a list of ids for messages. */
    public static String shortList(List<Long> ids) {
        if (ids.size() <= 10) {
            return ids.toString();
        }
        return ids.subList(0, 10) + " and " + (ids.size() - 10) + " more";
    }

    private static void copyRows(FloatMatrix src, long srcRow, FloatMatrix dst, long dstRow, long rows) {
        if (rows == 0) {
            return;
        }
        long bytes = rows * src.cols() * 4L;
        try (FloatMatrix to = dst.rowsView(dstRow, dstRow + rows); FloatMatrix from = src.rowsView(srcRow, srcRow + rows)) {
            Pointer.memcpy(to.pointer(), from.pointer(), bytes);
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("VectorSet is closed");
        }
    }

    /** Frees the storage. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            block.release();
            rowIds = new long[0];
            idToRow = new IdMap(16);
            records = RecordStore.empty();
            size = 0;
        }
    }

    @Override
    public String toString() {
        return "VectorSet[" + size + " x " + dimension + ", " + metric + (closed ? ", closed" : "") + "]";
    }
}
