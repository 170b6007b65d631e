package dev.latent.space;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.compute.PreparedDatabase;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;
import java.util.zip.CRC32C;
import org.bytedeco.javacpp.Pointer;

/**
 * An exact (brute-force) vector index: float32 vectors of one dimension in off-heap memory, each
 * with a caller-supplied 64-bit id, searched under one {@link Metric} through a compute
 * {@link Backend}.
 *
 * <p><b>Storage.</b> Rows live in one off-heap {@link FloatMatrix} that grows by reallocation, so
 * an index may hold more than 2 GiB (up to 2<sup>29</sup> vectors). Removal moves the last row into
 * the hole, so row order is not insertion order. Ids are unique.
 *
 * <p><b>Searching.</b> The backend (default {@code Backends.get()}, resolved at the first search)
 * prepares the stored rows once; the prepared database is cached and prepared again after any
 * change. Results carry caller ids.
 *
 * <p><b>Validation.</b> {@link #add} checks the whole batch before it changes anything (dimension,
 * finite components, non-zero vectors under cosine, unique ids), so a failed add leaves the index
 * exactly as it was.
 *
 * <p><b>Thread safety.</b> Any number of threads may search, save or read concurrently; {@link #add},
 * {@link #remove} and {@link #close()} are exclusive (a {@link ReadWriteLock}). Use after close
 * throws {@link IllegalStateException}.
 *
 * <p><b>File format</b> (little-endian, see README "File format"): magic {@code LATENTIX}, version,
 * flags, dimension, metric code, count, metadata length, UTF-8 JSON metadata padded to 64 bytes,
 * vectors, ids, CRC32C of everything before it.
 */
public final class FlatIndex implements AutoCloseable {
    /** Version written by {@link #save}; {@link #load} reads only this version. */
    public static final int FILE_VERSION = 1;
    /** First eight bytes of an index file. */
    static final byte[] MAGIC = "LATENTIX".getBytes(StandardCharsets.US_ASCII);
    static final int HEADER_BYTES = 40;
    /** Largest number of vectors one index holds (row numbers are ints; the id map caps at 2^29). */
    public static final long MAX_VECTORS = 1L << 29;
    /** Bytes of scores held at once by a range search. */
    private static final long RANGE_TILE_BYTES = 64L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final int dimension;
    private final Metric metric;
    private final Supplier<Backend> backendSupplier;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Object prepareLock = new Object();
    private final Map<String, String> metadata = new LinkedHashMap<>();
    /** Largest metadata block written or read (a larger header field means a corrupt file). */
    static final int MAX_METADATA_BYTES = 16 << 20;

    private Backend backend;
    private FloatMatrix storage;          // capacity rows × dimension; rows [0, size) are live
    private long[] rowIds;                // row → caller id, length ≥ size
    private IdMap idToRow;
    private int size;
    private PreparedDatabase prepared;    // over rows [0, size); null when stale
    private FloatMatrix preparedView;
    private boolean closed;

    /** An empty index searched through {@code Backends.get()}. */
    public FlatIndex(int dimension, Metric metric) {
        this(dimension, metric, (Backend) null);
    }

    /** An empty index searched through {@code backend} (null: {@code Backends.get()} at the first search). */
    public FlatIndex(int dimension, Metric metric, Backend backend) {
        this(dimension, metric, backend == null ? FlatIndex::defaultBackend : () -> backend);
    }

    private FlatIndex(int dimension, Metric metric, Supplier<Backend> backendSupplier) {
        if (dimension <= 0) {
            throw new IllegalArgumentException("dimension must be > 0, got " + dimension);
        }
        this.dimension = dimension;
        this.metric = Objects.requireNonNull(metric, "metric");
        this.backendSupplier = backendSupplier;
        this.storage = FloatMatrix.allocate(0, dimension);
        this.rowIds = new long[0];
        this.idToRow = new IdMap(16);
    }

    /** The process-wide backend, chosen once (see {@link Backends#get()}). */
    static Backend defaultBackend() {
        return Backends.get();
    }

    public int dimension() {
        return dimension;
    }

    public Metric metric() {
        return metric;
    }

    /** Number of stored vectors. */
    public long size() {
        lock.readLock().lock();
        try {
            return size;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Rows the storage holds before it must grow (see {@link #reserve}). */
    public long capacity() {
        lock.readLock().lock();
        try {
            return storage.rows();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The backend that searches this index (resolving the default if needed). */
    public Backend backend() {
        synchronized (prepareLock) {
            if (backend == null) {
                backend = backendSupplier.get();
            }
            return backend;
        }
    }

    /** A copy of the metadata (written to and read from the index file as a JSON object of strings). */
    public Map<String, String> metadata() {
        lock.readLock().lock();
        try {
            return Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Sets one metadata entry (for example {@code model}); a null value removes it. */
    public void putMetadata(String key, String value) {
        lock.writeLock().lock();
        try {
            checkOpen();
            if (value == null) {
                metadata.remove(key);
            } else {
                metadata.put(Objects.requireNonNull(key, "key"), value);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    public boolean contains(long id) {
        lock.readLock().lock();
        try {
            checkOpen();
            return idToRow.containsKey(id);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The stored ids in row order (a copy). */
    public long[] ids() {
        lock.readLock().lock();
        try {
            checkOpen();
            return Arrays.copyOf(rowIds, size);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** A copy of the vector stored under {@code id}. */
    public float[] vector(long id) {
        lock.readLock().lock();
        try {
            checkOpen();
            int row = idToRow.get(id);
            if (row < 0) {
                throw new IllegalArgumentException("unknown id " + id);
            }
            return storage.getRow(row);
        } finally {
            lock.readLock().unlock();
        }
    }

    // ------------------------------------------------------------------ mutation

    /**
     * Adds {@code vectors.rows()} vectors with the given ids. The whole batch is checked first; on
     * any error nothing changes. The vectors are copied (the caller keeps ownership of {@code vectors}).
     *
     * @throws IllegalArgumentException for a count or dimension mismatch, a NaN or infinite
     *     component (naming row and column), a zero vector under cosine (naming the row), or an id
     *     repeated in the batch or already stored (naming the id)
     */
    public void add(long[] ids, FloatMatrix vectors) {
        Objects.requireNonNull(ids, "ids");
        Objects.requireNonNull(vectors, "vectors");
        lock.writeLock().lock();
        try {
            checkOpen();
            if (vectors.rows() != ids.length) {
                throw new IllegalArgumentException(ids.length + " ids for " + vectors.rows() + " vectors");
            }
            if (ids.length == 0) {
                return;
            }
            validateVectors(vectors, dimension, metric, 0);
            validateNewIds(ids);
            long newSize = (long) size + ids.length;
            if (newSize > MAX_VECTORS) {
                throw new IllegalArgumentException("index would hold " + newSize + " vectors; the limit is " + MAX_VECTORS);
            }
            // Allocate everything that can fail before changing any state.
            FloatMatrix target = storage;
            if (newSize > storage.rows()) {
                long cap = Math.min(MAX_VECTORS, Math.max(newSize, Math.max(1024, storage.rows() + storage.rows() / 2)));
                target = FloatMatrix.allocate(cap, dimension);
            }
            long[] newIds = rowIds.length >= newSize ? rowIds : Arrays.copyOf(rowIds, (int) target.rows());
            try {
                idToRow.ensureCapacity(ids.length);
            } catch (RuntimeException | OutOfMemoryError e) {
                if (target != storage) {
                    target.close();
                }
                throw e;
            }
            invalidate();
            if (target != storage) {
                copyRows(storage, 0, target, 0, size);
                storage.close();
                storage = target;
            }
            copyRows(vectors, 0, storage, size, ids.length);
            System.arraycopy(ids, 0, newIds, size, ids.length);
            rowIds = newIds;
            for (int i = 0; i < ids.length; i++) {
                idToRow.put(ids[i], size + i);
            }
            size = (int) newSize;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Makes room for {@code rows} vectors in all, so that adds up to that size allocate no storage and
     * copy no stored rows (without it, storage grows by half each time it fills, copying what it holds).
     * Does nothing when the index already has the room. Changes no content.
     */
    public void reserve(long rows) {
        lock.writeLock().lock();
        try {
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
            invalidate();
            copyRows(storage, 0, target, 0, size);
            storage.close();
            storage = target;
            rowIds = newIds;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Convenience: adds one vector. */
    public void add(long id, float[] vector) {
        Objects.requireNonNull(vector, "vector");
        if (vector.length != dimension) {
            throw new IllegalArgumentException("vector has dimension " + vector.length + ", index has " + dimension);
        }
        try (FloatMatrix m = FloatMatrix.of(vector, dimension)) {
            add(new long[] {id}, m);
        }
    }

    private void validateNewIds(long[] ids) {
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
     * Checks dimension, finiteness and (cosine) non-zero rows. {@code rowOffset} is added to row
     * numbers in messages.
     */
    static void validateVectors(FloatMatrix v, int dimension, Metric metric, long rowOffset) {
        if (v.cols() != dimension) {
            throw new IllegalArgumentException("vectors have dimension " + v.cols() + ", the index has " + dimension);
        }
        long step = OffHeap.rowsPerChunk(dimension);
        for (long r0 = 0; r0 < v.rows(); r0 += step) {
            long r1 = Math.min(v.rows(), r0 + step);
            FloatBuffer fb = OffHeap.bytes(v, r0, r1).asFloatBuffer();
            for (long r = r0; r < r1; r++) {
                double norm = 0;
                for (int c = 0; c < dimension; c++) {
                    float x = fb.get();
                    if (!Float.isFinite(x)) {
                        throw new IllegalArgumentException("row " + (r + rowOffset) + ", column " + c
                                + " is " + x + "; vectors must be finite");
                    }
                    norm += (double) x * x;
                }
                // The kernels keep squared norms in float32: reject what they would reject later, so
                // that nothing stored can make every search fail.
                if (norm > Float.MAX_VALUE) {
                    throw new IllegalArgumentException("row " + (r + rowOffset)
                            + " has a squared norm of " + norm + ", beyond float32 range; scale the vectors down");
                }
                if (metric == Metric.COSINE && norm < Float.MIN_NORMAL) {
                    throw new IllegalArgumentException("row " + (r + rowOffset) + (norm == 0
                            ? " is a zero vector; cosine similarity needs non-zero vectors"
                            : " is too close to zero (squared norm " + norm + ") for cosine similarity in float32"));
                }
            }
        }
    }

    private static void copyRows(FloatMatrix src, long srcRow, FloatMatrix dst, long dstRow, long rows) {
        if (rows == 0) {
            return;
        }
        long bytes = rows * src.cols() * 4L;
        Pointer.memcpy(dst.rowsView(dstRow, dstRow + rows).pointer(), src.rowsView(srcRow, srcRow + rows).pointer(), bytes);
    }

    /**
     * Removes the vectors with the given ids (repeats are ignored). All ids are checked first: if
     * any is unknown, nothing is removed and the error names the unknown ids.
     *
     * @return the number of vectors removed
     */
    public int remove(long... ids) {
        Objects.requireNonNull(ids, "ids");
        lock.writeLock().lock();
        try {
            checkOpen();
            List<Long> unknown = new ArrayList<>();
            for (long id : ids) {
                if (!idToRow.containsKey(id)) {
                    unknown.add(id);
                }
            }
            if (!unknown.isEmpty()) {
                throw new IllegalArgumentException("unknown id" + (unknown.size() > 1 ? "s " : " ")
                        + shortList(unknown) + "; nothing removed");
            }
            invalidate();
            int removed = 0;
            for (long id : ids) {
                int row = idToRow.remove(id);
                if (row < 0) {
                    continue;   // repeated in the argument list
                }
                int last = size - 1;
                if (row != last) {
                    copyRows(storage, last, storage, row, 1);
                    long moved = rowIds[last];
                    rowIds[row] = moved;
                    idToRow.put(moved, row);
                }
                size--;
                removed++;
            }
            return removed;
        } finally {
            lock.writeLock().unlock();
        }
    }

    private static String shortList(List<Long> ids) {
        if (ids.size() <= 10) {
            return ids.toString();
        }
        return ids.subList(0, 10) + " and " + (ids.size() - 10) + " more";
    }

    // ------------------------------------------------------------------ search

    /**
     * Exact top-k for each row of {@code queries}: {@code min(k, size())} results per query, best
     * first, ties by the lower row, as caller ids.
     *
     * @throws IllegalArgumentException for k ≤ 0, a dimension mismatch, a non-finite query
     *     component or (cosine) a zero query
     */
    public Neighbors search(FloatMatrix queries, int k) {
        checkK(k);
        lock.readLock().lock();
        try {
            checkOpen();
            checkQueries(queries);
            if (size == 0 || queries.rows() == 0) {
                return empty(queries);
            }
            final long[] map = rowIds;
            return prepared().search(queries, k).mapIds(row -> map[(int) row]);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Exact top-k for one query vector. */
    public Neighbors search(float[] query, int k) {
        Objects.requireNonNull(query, "query");
        if (query.length != dimension) {
            throw new IllegalArgumentException("query has dimension " + query.length + ", the index has " + dimension);
        }
        try (FloatMatrix q = FloatMatrix.of(query, dimension)) {
            return search(q, k);
        }
    }

    /**
     * Exact top-k restricted to the vectors whose ids are in {@code allowedIds} (repeats ignored):
     * {@code min(k, distinct allowed ids)} results per query.
     *
     * @throws IllegalArgumentException if an allowed id is not in the index (naming it), or as
     *     {@link #search(FloatMatrix, int)}
     */
    public Neighbors search(FloatMatrix queries, int k, long[] allowedIds) {
        checkK(k);
        Objects.requireNonNull(allowedIds, "allowedIds");
        lock.readLock().lock();
        try {
            checkOpen();
            checkQueries(queries);
            long[] rows = new long[allowedIds.length];
            List<Long> unknown = new ArrayList<>();
            for (int i = 0; i < allowedIds.length; i++) {
                int row = idToRow.get(allowedIds[i]);
                if (row < 0) {
                    unknown.add(allowedIds[i]);
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
            if (n == 0 || queries.rows() == 0) {
                return empty(queries);
            }
            final long[] map = rowIds;
            return prepared().search(queries, k, Arrays.copyOf(rows, n)).mapIds(row -> map[(int) row]);
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Every stored vector within {@code radius} of each query: score ≥ radius for inner product and
     * cosine, squared distance ≤ radius for L2. Results per query are best first, ties by the lower
     * row. Scores are computed in bounded tiles (about 64 MiB), whatever the index size; the results
     * themselves are held in memory (see {@link #rangeSearch(FloatMatrix, float, long)} to bound them).
     */
    public RangeResults rangeSearch(FloatMatrix queries, float radius) {
        return rangeSearch(queries, radius, Long.MAX_VALUE);
    }

    /**
     * As {@link #rangeSearch(FloatMatrix, float)}, holding at most {@code maxResults} results over all
     * queries of the call.
     *
     * @throws TooManyResultsException as soon as more than {@code maxResults} vectors are within the
     *     radius (before the memory for them is taken)
     */
    public RangeResults rangeSearch(FloatMatrix queries, float radius, long maxResults) {
        if (Float.isNaN(radius)) {
            throw new IllegalArgumentException("radius is NaN");
        }
        if (maxResults < 0) {
            throw new IllegalArgumentException("maxResults must be >= 0, got " + maxResults);
        }
        lock.readLock().lock();
        try {
            checkOpen();
            checkQueries(queries);
            int nq = Math.toIntExact(queries.rows());
            long[][] outIds = new long[nq][];
            float[][] outScores = new float[nq][];
            if (size == 0) {
                for (int q = 0; q < nq; q++) {
                    outIds[q] = new long[0];
                    outScores[q] = new float[0];
                }
                return new RangeResults(outIds, outScores, metric);
            }
            PreparedDatabase db = prepared();
            int queryBlock = Math.min(nq, 256);
            long tileRows = Math.max(1, Math.min(size, RANGE_TILE_BYTES / (4L * Math.max(1, queryBlock))));
            boolean higher = metric.higherIsNearer();
            long total = 0;
            for (int q0 = 0; q0 < nq; q0 += queryBlock) {
                int q1 = Math.min(nq, q0 + queryBlock);
                int qn = q1 - q0;
                HitList[] hits = new HitList[qn];
                for (int i = 0; i < qn; i++) {
                    hits[i] = new HitList();
                }
                FloatMatrix qv = queries.rowsView(q0, q1);
                FloatMatrix tile = FloatMatrix.allocate(qn, (int) tileRows);
                try {
                    for (long r0 = 0; r0 < size; r0 += tileRows) {
                        long r1 = Math.min(size, r0 + tileRows);
                        int w = (int) (r1 - r0);
                        FloatMatrix out = w == tileRows ? tile : FloatMatrix.allocate(qn, w);
                        try {
                            db.distances(qv, r0, r1, out);
                            FloatBuffer fb = OffHeap.bytes(out, 0, qn).asFloatBuffer();
                            for (int i = 0; i < qn; i++) {
                                int base = i * w;
                                for (int j = 0; j < w; j++) {
                                    float s = fb.get(base + j);
                                    if (higher ? s >= radius : s <= radius) {
                                        if (++total > maxResults) {
                                            throw new TooManyResultsException(q0 + i, maxResults);
                                        }
                                        hits[i].add(r0 + j, s, higher);
                                    }
                                }
                            }
                        } finally {
                            if (out != tile) {
                                out.close();
                            }
                        }
                    }
                } finally {
                    tile.close();
                }
                for (int i = 0; i < qn; i++) {
                    hits[i].sortAndMap(higher, rowIds);
                    outIds[q0 + i] = hits[i].ids;
                    outScores[q0 + i] = hits[i].scores;
                }
            }
            return new RangeResults(outIds, outScores, metric);
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Growable hit list of one query of a range search: each hit is one long, its order key (the score,
     * negated when higher is nearer, as order-preserving int bits, then the row), so sorting best first
     * with ties to the lower row is a primitive sort: 8 bytes per hit and no boxing.
     */
    private static final class HitList {
        long[] keys = new long[16];
        int n;
        long[] ids;
        float[] scores;

        void add(long row, float score, boolean higher) {
            if (n == keys.length) {
                keys = Arrays.copyOf(keys, n * 2);
            }
            int bits = Float.floatToIntBits(higher ? -score : score);
            bits ^= (bits >> 31) & 0x7fffffff;   // order-preserving: float order becomes signed int order
            keys[n++] = ((long) bits << 32) | row;
        }

        /** Sorts best first (ties: lower row), then maps rows to caller ids. */
        void sortAndMap(boolean higher, long[] rowIds) {
            Arrays.sort(keys, 0, n);
            ids = new long[n];
            scores = new float[n];
            for (int i = 0; i < n; i++) {
                int bits = (int) (keys[i] >> 32);
                bits ^= (bits >> 31) & 0x7fffffff;
                float s = Float.intBitsToFloat(bits);
                ids[i] = rowIds[(int) (keys[i] & 0xffffffffL)];
                scores[i] = higher ? -s : s;
            }
            keys = null;
        }
    }

    private static void checkK(int k) {
        if (k <= 0) {
            throw new IllegalArgumentException("k must be >= 1, got " + k);
        }
    }

    private void checkQueries(FloatMatrix queries) {
        Objects.requireNonNull(queries, "queries");
        if (queries.cols() != dimension) {
            throw new IllegalArgumentException("queries have dimension " + queries.cols() + ", the index has " + dimension);
        }
        if (queries.rows() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("too many queries in one call: " + queries.rows());
        }
        try {
            validateVectors(queries, dimension, metric, 0);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("query " + e.getMessage(), e);
        }
    }

    private Neighbors empty(FloatMatrix queries) {
        return new Neighbors((int) queries.rows(), 0, new long[0], new float[0], metric);
    }

    /** The cached prepared database, preparing it if a mutation made it stale. Caller holds a lock. */
    private PreparedDatabase prepared() {
        synchronized (prepareLock) {
            if (prepared == null) {
                Backend b = backend();
                FloatMatrix view = storage.rowsView(0, size);
                prepared = b.prepare(view, metric);
                preparedView = view;
            }
            return prepared;
        }
    }

    /** Drops the prepared database. Caller holds the write lock. */
    private void invalidate() {
        synchronized (prepareLock) {
            if (prepared != null) {
                prepared.close();
                prepared = null;
            }
            if (preparedView != null) {
                preparedView.close();
                preparedView = null;
            }
        }
    }

    // ------------------------------------------------------------------ files

    /**
     * Writes the index atomically: a temporary file in the same directory, forced to disk, then
     * renamed onto {@code file}. Readers see the old file or the complete new one.
     */
    public void save(Path file) throws IOException {
        try (AtomicOutput out = AtomicOutput.open(file)) {
            writeTo(out);
            out.commit();
        }
    }

    /**
     * Writes the whole index file into {@code out} (for example an output of an {@link OutputSet} that
     * commits it together with other files); the caller commits.
     */
    public void writeTo(AtomicOutput out) throws IOException {
        lock.readLock().lock();
        try {
            checkOpen();
            byte[] meta = metadataJson();
            if (meta.length > MAX_METADATA_BYTES) {
                throw new IllegalStateException("index metadata is " + meta.length + " bytes; at most "
                        + MAX_METADATA_BYTES + " can be saved");
            }
            long vectorsOffset = vectorsOffset(meta.length);
            CRC32C crc = new CRC32C();
            FileChannel ch = out.channel();
            ch.position(0);
            ch.truncate(0);
            ByteBuffer head = ByteBuffer.allocate((int) vectorsOffset).order(ByteOrder.LITTLE_ENDIAN);
            head.put(MAGIC).putInt(FILE_VERSION).putInt(0).putInt(dimension).putInt(metric.code())
                    .putLong(size).putInt(meta.length).putInt(0).put(meta);
            head.position(0);
            crc.update(head.duplicate());
            out.write(head);
            OffHeap.writeFrom(ch, storage, 0, size, crc);
            int idChunk = 1 << 20;
            ByteBuffer idb = ByteBuffer.allocate(8 * Math.min(idChunk, Math.max(1, size))).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < size; i += idChunk) {
                int end = Math.min(size, i + idChunk);
                idb.clear();
                idb.asLongBuffer().put(rowIds, i, end - i);
                idb.limit(8 * (end - i));
                crc.update(idb.duplicate());
                out.write(idb);
            }
            ByteBuffer foot = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            foot.putInt((int) crc.getValue()).flip();
            out.write(foot);
        } finally {
            lock.readLock().unlock();
        }
    }

    private byte[] metadataJson() throws IOException {
        ObjectNode node = JSON.createObjectNode();
        metadata.forEach(node::put);
        return JSON.writeValueAsBytes(node);
    }

    /** Metadata starts at byte 40; vectors start at the next multiple of 64 after it. */
    static long vectorsOffset(int metadataBytes) {
        return (HEADER_BYTES + (long) metadataBytes + 63) / 64 * 64;
    }

    /** Loads an index file, searched through {@code Backends.get()}. */
    public static FlatIndex load(Path file) throws IOException {
        return load(file, null);
    }

    /**
     * Loads an index file written by {@link #save}, checking magic, version, sizes against the file
     * length and the CRC32C checksum.
     *
     * @param backend the backend to search with, or null for {@code Backends.get()}
     * @throws IOException naming the problem: not an index file, another version, truncated, corrupt
     */
    public static FlatIndex load(Path file, Backend backend) throws IOException {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file.toString(), null, "no such file");
        }
        try (ch) {
            long length = ch.size();
            if (length < HEADER_BYTES + 4) {
                throw new IOException(file + ": not a Latent index file (only " + length + " bytes)");
            }
            ByteBuffer head = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            OffHeap.readFully(ch, head, 0);
            byte[] magic = new byte[8];
            head.get(0, magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new IOException(file + ": not a Latent index file (bad magic)");
            }
            int version = head.getInt(8);
            if (version != FILE_VERSION) {
                throw new IOException(file + ": index file version " + version + ", this build reads " + FILE_VERSION);
            }
            int flags = head.getInt(12);
            int dimension = head.getInt(16);
            int metricCode = head.getInt(20);
            long count = head.getLong(24);
            long metaLen = head.getInt(32) & 0xffffffffL;
            if (dimension <= 0 || count < 0 || count > MAX_VECTORS || metaLen > length
                    || metaLen > MAX_METADATA_BYTES) {
                throw new IOException(file + ": corrupt index header (dimension " + dimension + ", count " + count
                        + ", metadata " + metaLen + " bytes)");
            }
            long vectorsOffset = vectorsOffset((int) metaLen);
            long expected = vectorsOffset + count * dimension * 4L + count * 8L + 4L;
            if (length < expected) {
                throw new IOException(file + ": truncated index file: the header describes " + count
                        + " vectors of dimension " + dimension + " (" + expected + " bytes), the file has " + length + " bytes");
            }
            if (length > expected) {
                throw new IOException(file + ": corrupt index file: " + length + " bytes, the header implies " + expected);
            }
            CRC32C crc = new CRC32C();
            ByteBuffer pre = ByteBuffer.allocate((int) vectorsOffset);
            OffHeap.readFully(ch, pre, 0);
            pre.flip();
            crc.update(pre.duplicate());
            byte[] meta = new byte[(int) metaLen];
            pre.get(HEADER_BYTES, meta);

            FloatMatrix vectors = FloatMatrix.allocate(count, dimension);
            try {
                long pos = OffHeap.readInto(ch, vectorsOffset, vectors, crc);
                long[] ids = new long[(int) count];
                int idChunk = 1 << 20;
                ByteBuffer idb = ByteBuffer.allocate(8 * (int) Math.min(idChunk, Math.max(1, count))).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < count; i += idChunk) {
                    int end = (int) Math.min(count, i + (long) idChunk);
                    idb.clear().limit(8 * (end - i));
                    pos = OffHeap.readFully(ch, idb, pos);
                    idb.flip();
                    crc.update(idb.duplicate());
                    idb.asLongBuffer().get(ids, i, end - i);
                }
                ByteBuffer foot = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
                OffHeap.readFully(ch, foot, pos);
                int stored = foot.getInt(0);
                if (stored != (int) crc.getValue()) {
                    throw new IOException(file + ": corrupt index file: checksum mismatch (stored CRC32C "
                            + Integer.toHexString(stored) + ", computed " + Long.toHexString(crc.getValue()) + ")");
                }
                if (flags != 0) {
                    throw new IOException(file + ": index file uses flags 0x" + Integer.toHexString(flags)
                            + " that this build does not know");
                }
                int reserved = head.getInt(36);
                if (reserved != 0) {
                    throw new IOException(file + ": corrupt index header: the reserved field at byte 36 is "
                            + reserved + ", it must be 0");
                }
                Metric metric;
                try {
                    metric = Metric.fromCode(metricCode);
                } catch (IllegalArgumentException e) {
                    throw new IOException(file + ": index file has unknown metric code " + metricCode);
                }
                try {
                    validateVectors(vectors, dimension, metric, 0);
                } catch (IllegalArgumentException e) {
                    // Checked here, not at the first search: a file that cannot be searched is not loaded.
                    throw new IOException(file + ": stored vector " + e.getMessage());
                }
                FlatIndex index = new FlatIndex(dimension, metric, backend);
                try {
                    index.adopt(ids, vectors, file.toString());
                    index.readMetadata(meta, file);
                } catch (IOException | RuntimeException e) {
                    index.close();
                    throw e;
                }
                return index;
            } catch (IOException | RuntimeException e) {
                vectors.close();
                throw e;
            }
        }
    }

    private void readMetadata(byte[] meta, Path file) throws IOException {
        if (meta.length == 0) {
            return;
        }
        JsonNode node;
        try {
            node = JSON.readTree(meta);
        } catch (IOException e) {
            throw new IOException(file + ": index metadata is not valid JSON: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            throw new IOException(file + ": index metadata is not a JSON object");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            metadata.put(e.getKey(), e.getValue().isTextual() ? e.getValue().asText() : e.getValue().toString());
        }
    }

    /**
     * Takes ownership of {@code vectors} as the storage of this empty index. On error the caller
     * still owns {@code vectors}.
     */
    private void adopt(long[] ids, FloatMatrix vectors, String source) {
        if (vectors.rows() != ids.length) {
            throw new IllegalArgumentException(ids.length + " ids for " + vectors.rows() + " vectors");
        }
        IdMap map = new IdMap(ids.length);
        for (int i = 0; i < ids.length; i++) {
            if (map.containsKey(ids[i])) {
                throw new IllegalArgumentException(source + ": duplicate id " + ids[i] + " (rows "
                        + map.get(ids[i]) + " and " + i + ")");
            }
            map.put(ids[i], i);
        }
        storage.close();
        storage = vectors;
        rowIds = ids;
        idToRow = map;
        size = ids.length;
    }

    /** Builds an index from a {@code .npy} matrix with ids 0, 1, 2, … and the default backend. */
    public static FlatIndex fromNpy(Path npy, Metric metric) throws IOException {
        return fromNpy(npy, null, metric, null);
    }

    /**
     * Builds an index from a {@code .npy} matrix (float32 or float64) with the given ids (null:
     * 0, 1, 2, …), checking every row as {@link #add} does.
     */
    public static FlatIndex fromNpy(Path npy, long[] ids, Metric metric, Backend backend) throws IOException {
        FloatMatrix m = Npy.read(npy);
        try {
            if (m.rows() > MAX_VECTORS) {
                throw new IllegalArgumentException(npy + ": " + m.rows() + " rows; an index holds at most " + MAX_VECTORS);
            }
            long[] rowIds = ids;
            if (rowIds == null) {
                rowIds = new long[(int) m.rows()];
                for (int i = 0; i < rowIds.length; i++) {
                    rowIds[i] = i;
                }
            } else if (rowIds.length != m.rows()) {
                throw new IllegalArgumentException(npy + " has " + m.rows() + " rows but " + rowIds.length + " ids were given");
            }
            try {
                validateVectors(m, m.cols(), metric, 0);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(npy + ": " + e.getMessage(), e);
            }
            FlatIndex index = new FlatIndex(m.cols(), metric, backend);
            try {
                index.adopt(rowIds, m, npy.toString());
            } catch (RuntimeException e) {
                index.close();
                throw e;
            }
            return index;
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** Writes the stored vectors, in row order (the order of {@link #ids()}), as a float32 {@code .npy} file. */
    public void exportNpy(Path npy) throws IOException {
        lock.readLock().lock();
        try {
            checkOpen();
            try (Npy.Writer w = Npy.writer(npy, dimension)) {
                if (size > 0) {
                    w.append(storage.rowsView(0, size));
                }
                w.commit();
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    // ------------------------------------------------------------------ lifecycle

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("FlatIndex is closed");
        }
    }

    /** Frees the vectors and the prepared database. The backend is not closed (it may be shared). Idempotent. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            invalidate();
            storage.close();
            rowIds = new long[0];
            idToRow = new IdMap(16);
            size = 0;
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public String toString() {
        return "FlatIndex[" + size + " x " + dimension + ", " + metric + "]";
    }
}
