package dev.latent.index;

import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.compute.RangeHits;
import dev.latent.compute.ResidentMatrix;
import dev.latent.compute.Checks;
import dev.latent.compute.DeviceException;
import dev.latent.compute.ScanParams;
import dev.latent.compute.TooManyResultsException;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.core.SearchResult;
import dev.latent.core.TokenEmbeddings;
import dev.latent.space.AtomicOutput;
import dev.latent.space.VectorSet;
import dev.latent.space.format.IndexFile;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * An exact (brute-force) vector index: a {@link VectorSet} (float32 rows with 64-bit caller ids, in
 * off-heap memory, more than 2 GiB allowed) searched under one {@link Metric} through a compute
 * {@link Backend}.
 *
 * <p><b>Searching.</b> The backend (default {@code Backends.get()}, resolved at the first search) makes
 * the stored rows resident once ({@link ResidentMatrix}); adds extend it with only the new rows (on a
 * GPU only they cross the bus), and removals patch just the rows they moved ({@link ResidentMatrix#refresh};
 * a backend that cannot, or many moved rows on a GPU, make the rows resident again at the next search). Results carry caller
 * ids. Queries are checked against the vector rule by the backend, where their norms are computed.
 *
 * <p><b>Validation.</b> {@link #add} checks the whole batch before it changes anything (see
 * {@link VectorSet#add}), so a failed add leaves the index exactly as it was.
 *
 * <p><b>Thread safety.</b> Any number of threads may search, save or read concurrently; {@link #add},
 * {@link #remove} and {@link #close()} are exclusive (a {@link ReadWriteLock}). A save or export holds the
 * lock only to pin a {@link #snapshot()} (O(1)) and writes without it, so adds, removes and searches go
 * on during a long save, and the file holds the index as it was when the save began. Use after close
 * throws {@link IllegalStateException}.
 *
 * <p><b>File format</b>: see {@link IndexFile}.
 */
public final class FlatIndex implements VectorIndex, DeviceTokenSearch {
    private static final DeviceFallback FALLBACK = new DeviceFallback();
    /** Largest number of vectors one index holds. */
    public static final long MAX_VECTORS = VectorSet.MAX_VECTORS;

    private final Supplier<Backend> backendSupplier;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Object residentLock = new Object();
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final VectorSet set;

    private Backend backend;
    private ResidentMatrix resident;      // over the set's rows; null when stale
    private FloatMatrix residentView;     // the view the resident matrix reads (host backends)
    private boolean closed;

    /** An empty index searched through {@code Backends.get()}. */
    public FlatIndex(int dimension, Metric metric) {
        this(dimension, metric, (Backend) null);
    }

    /** An empty index searched through {@code backend} (null: {@code Backends.get()} at the first search). */
    public FlatIndex(int dimension, Metric metric, Backend backend) {
        this(new VectorSet(dimension, metric), backend);
    }

    private FlatIndex(VectorSet set, Backend backend) {
        this.set = set;
        this.backendSupplier = backend == null ? Backends::get : () -> backend;
    }

    @Override
    public int dimension() {
        return set.dimension();
    }

    @Override
    public Metric metric() {
        return set.metric();
    }

    @Override
    public long size() {
        lock.readLock().lock();
        try {
            return closed ? 0 : set.size();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Rows the storage holds before it must grow (see {@link #reserve}). */
    public long capacity() {
        return read(() -> set.capacity());
    }

    @Override
    public Backend backend() {
        synchronized (residentLock) {
            if (backend == null) {
                backend = backendSupplier.get();
            }
            return backend;
        }
    }

    @Override
    public Map<String, String> metadata() {
        lock.readLock().lock();
        try {
            return Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
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

    @Override
    public boolean contains(long id) {
        return read(() -> set.contains(id));
    }

    @Override
    public long[] ids() {
        return read(() -> set.ids());
    }

    @Override
    public float[] vector(long id) {
        return read(() -> set.vector(id));
    }

    // ------------------------------------------------------------------ mutation

    /**
     * Adds {@code vectors.rows()} vectors with the given ids. The whole batch is checked first; on any
     * error nothing changes. The vectors are copied (the caller keeps ownership of {@code vectors}).
     *
     * @throws IllegalArgumentException for a count or dimension mismatch, a row that breaks the vector
     *     rule (named), or an id repeated in the batch or already stored (named)
     */
    @Override
    public void add(long[] ids, FloatMatrix vectors) {
        lock.writeLock().lock();
        try {
            checkOpen();
            set.add(ids, vectors);
            extendResident();
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Makes room for {@code rows} vectors in all, so that adds up to that size allocate no storage and copy
     * no stored rows. Changes no content.
     */
    public void reserve(long rows) {
        lock.writeLock().lock();
        try {
            checkOpen();
            if (rows > set.capacity()) {
                set.reserve(rows);
                extendResident();
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public int remove(long... ids) {
        lock.writeLock().lock();
        try {
            checkOpen();
            java.util.BitSet holes = new java.util.BitSet();
            int removed = set.remove(ids, holes::set);
            if (removed > 0) {
                patchResident(holes);
            }
            return removed;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * After a removal: the resident copy patches the rows that changed ({@link ResidentMatrix#refresh}), or is
     * dropped and made resident again at the next search when it cannot. Caller holds the write lock.
     */
    private void patchResident(java.util.BitSet holes) {
        long[] changed = holes.stream().filter(r -> r < set.size()).asLongStream().toArray();
        updateResident(view -> resident.refresh(view, changed));
    }

    /** After the set grew (or moved): only the new rows go to the backend. Caller holds the write lock. */
    private void extendResident() {
        updateResident(view -> {
            resident.extend(view);
            return true;
        });
    }

    /**
     * Brings the resident matrix in line with the set through {@code update} (given a view of the rows; false
     * when the backend cannot). When it cannot or fails (device memory, its budget), the change to the set
     * stands and the rows become resident again at the next search. Caller holds the write lock.
     */
    private void updateResident(java.util.function.Predicate<FloatMatrix> update) {
        synchronized (residentLock) {
            if (resident == null) {
                return;
            }
            FloatMatrix view = set.rows();
            boolean done;
            try {
                done = update.test(view);
            } catch (RuntimeException e) {
                done = false;
            }
            if (!done) {
                view.close();
                invalidate();
                return;
            }
            if (residentView != null) {
                residentView.close();
            }
            residentView = view;
        }
    }

    // ------------------------------------------------------------------ search

    @Override
    public String kind() {
        return "flat";
    }

    /**
     * Exact search: the top-k ({@code min(k, candidates)} results per query, best first, ties by the lower row)
     * or every vector within a radius, over all vectors or the allowed ids (repeats ignored); {@code nprobe}
     * and {@code rerank} do not apply to an exact index and are ignored. Results carry caller ids.
     *
     * <p>When the index searches on a GPU and the device fails the call (a CUDA error, device memory
     * exhausted or past its budget: a {@link DeviceException}), the same call is answered on the host over
     * the stored rows, equal to the device's answer up to float rounding; the first such fallback is logged
     * as a warning with its cause, later ones at FINE.
     *
     * @throws IllegalArgumentException for a dimension mismatch, a query that breaks the vector rule, or an
     *     allowed id not in the index (named)
     * @throws TooManyResultsException when a range search passes {@link SearchParams#maxResults}
     */
    @Override
    public SearchResult search(FloatMatrix queries, SearchParams params) {
        Objects.requireNonNull(params, "params");
        return read(() -> {
            checkQueries(queries);
            ScanParams scan = params.scan();
            if (params.filtered()) {
                long[] rows = set.rowsOf(params.allowedIdsShared());
                if (rows.length == 0) {
                    return empty(queries, params);
                }
                scan = scan.rows(rows);
            }
            if (set.size() == 0 || queries.rows() == 0) {
                return empty(queries, params);
            }
            final ScanParams p = scan;
            try {
                return answer(resident(), queries, p);
            } catch (DeviceException e) {
                FALLBACK.log(e, backend(), queries.rows());
                try (FloatMatrix rows = set.rows(); ResidentMatrix host = HostBackend.INSTANCE.upload(rows, metric())) {
                    return answer(host, queries, p);
                }
            }
        });
    }

    /** One search on {@code m} over the stored rows, rows mapped to caller ids. Caller holds the read lock. */
    private SearchResult answer(ResidentMatrix m, FloatMatrix queries, ScanParams p) {
        long[] map = set.idsShared();
        if (!p.isRange()) {
            return m.search(queries, p).mapIds(row -> row < 0 ? row : map[(int) row]);
        }
        RangeHits hits = m.range(queries, p);
        int nq = Math.toIntExact(queries.rows());
        long[][] outIds = new long[nq][];
        float[][] outScores = new float[nq][];
        for (int q = 0; q < nq; q++) {
            int a = (int) hits.offset(q);
            int c = hits.count(q);
            outIds[q] = new long[c];
            outScores[q] = Arrays.copyOfRange(hits.scores(), a, a + c);
            for (int i = 0; i < c; i++) {
                outIds[q][i] = map[(int) hits.rows()[a + i]];
            }
        }
        return new RangeResults(outIds, outScores, metric());
    }

    /**
     * Exact top-k for the vectors pooled from {@code tokens} (see {@link DeviceTokenSearch}): on a CUDA
     * backend, tokens in device memory (an encoder's IoBinding output) are pooled and searched on the device.
     * A device failure is thrown ({@link DeviceException}), not answered on the host: the tokens may live on
     * the device, and the caller holds the way to pool them on the host.
     */
    @Override
    public Neighbors searchPooled(TokenEmbeddings tokens, int k) {
        Checks.k(k);
        Objects.requireNonNull(tokens, "tokens");
        if (tokens.width() != dimension()) {
            throw new IllegalArgumentException("token embeddings have width " + tokens.width() + ", the index has "
                    + dimension());
        }
        return read(() -> {
            if (set.size() == 0 || tokens.queries() == 0) {
                return new Neighbors(tokens.queries(), 0, new long[0], new float[0], metric());
            }
            final long[] map = set.idsShared();
            return resident().searchPooled(tokens, k).mapIds(row -> row < 0 ? row : map[(int) row]);
        });
    }

    /** Whether {@link #searchPooled} reads token embeddings in device memory: the backend reads device tokens. */
    @Override
    public boolean searchesDeviceTokens() {
        return backend().readsDeviceTokens();
    }

    /** The host backend of the fallback, opened once for the process (it holds no device memory). */
    private static final class HostBackend {
        static final Backend INSTANCE = open();

        private static Backend open() {
            try {
                return Backends.cpu();
            } catch (dev.latent.compute.BackendUnavailableException e) {
                return Backends.java();
            }
        }
    }

    private void checkQueries(FloatMatrix queries) {
        Objects.requireNonNull(queries, "queries");
        if (queries.cols() != dimension()) {
            throw new IllegalArgumentException("queries have dimension " + queries.cols() + ", the index has " + dimension());
        }
        if (queries.rows() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("too many queries in one call: " + queries.rows());
        }
    }

    private SearchResult empty(FloatMatrix queries, SearchParams params) {
        // The queries are still checked, as a search would check them.
        dev.latent.core.Vectors.check(queries, metric(), "query", 0);
        int nq = (int) queries.rows();
        if (!params.isRange()) {
            return new Neighbors(nq, 0, new long[0], new float[0], metric());
        }
        long[][] ids = new long[nq][0];
        float[][] scores = new float[nq][0];
        return new RangeResults(ids, scores, metric());
    }

    /** The resident matrix, made resident again if a removal made it stale. Caller holds a lock. */
    private ResidentMatrix resident() {
        synchronized (residentLock) {
            if (resident == null) {
                Backend b = backend();
                FloatMatrix view = set.rows();
                try {
                    resident = b.upload(view, metric());
                } catch (RuntimeException e) {
                    view.close();
                    throw e;
                }
                residentView = view;
            }
            return resident;
        }
    }

    /** Drops the resident matrix. Caller holds the write lock. */
    private void invalidate() {
        synchronized (residentLock) {
            if (resident != null) {
                resident.close();
                resident = null;
            }
            if (residentView != null) {
                residentView.close();
                residentView = null;
            }
        }
    }

    // ------------------------------------------------------------------ files

    @Override
    public void writeTo(AtomicOutput out) throws IOException {
        // The lock is held only to pin the rows (O(1)); the write itself holds no lock.
        Map<String, String> meta = new LinkedHashMap<>();
        try (VectorSet.Snapshot snapshot = read(() -> {
            meta.putAll(metadata);
            return set.snapshot();
        })) {
            IndexFile.write(snapshot, meta, out);
        }
    }

    /** Loads an index file, searched through {@code Backends.get()}. */
    public static FlatIndex load(Path file) throws IOException {
        return load(file, null);
    }

    /**
     * Loads an index file (version 1 or 2; see {@link IndexFile#read}).
     *
     * @param backend the backend to search with, or null for {@code Backends.get()}
     * @throws IOException naming the problem: not an index file, another version, truncated, corrupt
     */
    public static FlatIndex load(Path file, Backend backend) throws IOException {
        IndexFile.Contents c = IndexFile.read(file);
        FlatIndex index = new FlatIndex(c.vectors(), backend);
        index.metadata.putAll(c.metadata());
        return index;
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
            return new FlatIndex(VectorSet.adopt(rowIds, m, metric, npy.toString()), backend);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** Writes the stored vectors, in row order (the order of {@link #ids()}), as a float32 {@code .npy} file. */
    public void exportNpy(Path npy) throws IOException {
        try (VectorSet.Snapshot snapshot = snapshot();
             Npy.Writer w = Npy.writer(npy, dimension()); FloatMatrix rows = snapshot.rows()) {
            if (rows.rows() > 0) {
                w.append(rows);
            }
            w.commit();
        }
    }

    /**
     * Pins the stored rows and ids as they are now (O(1) under the lock; see {@link VectorSet#snapshot()}).
     * Adds and removes go on meanwhile without changing what the snapshot holds. The caller closes it.
     */
    @Override
    public VectorSet.Snapshot snapshot() {
        return read(() -> set.snapshot());
    }

    // ------------------------------------------------------------------ lifecycle

    /** Runs {@code body} under the read lock on an open index. */
    private <T> T read(Supplier<T> body) {
        lock.readLock().lock();
        try {
            checkOpen();
            return body.get();
        } finally {
            lock.readLock().unlock();
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("FlatIndex is closed");
        }
    }

    /** Frees the vectors and the resident matrix. The backend is not closed (it may be shared). Idempotent. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            invalidate();
            set.close();
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public String toString() {
        return "FlatIndex[" + (closed ? 0 : set.size()) + " x " + dimension() + ", " + metric() + "]";
    }
}
