package dev.latent.index;

import dev.latent.compute.Backend;
import dev.latent.compute.Checks;
import dev.latent.compute.DeviceException;
import dev.latent.compute.ResidentMatrix;
import dev.latent.compute.TooManyResultsException;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.core.SearchResult;
import dev.latent.core.TokenEmbeddings;
import dev.latent.space.AtomicOutput;
import dev.latent.space.VectorSet;
import dev.latent.space.format.IndexFile;
import dev.latent.space.format.IndexHeader;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReadWriteLock;

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
public final class FlatIndex extends StoredIndex implements DeviceTokenSearch {
    /** Largest number of vectors one index holds. */
    public static final long MAX_VECTORS = VectorSet.MAX_VECTORS;


    /** An empty index searched through {@code Backends.get()}. */
    public FlatIndex(int dimension, Metric metric) {
        this(dimension, metric, (Backend) null);
    }

    /** An empty index searched through {@code backend} (null: {@code Backends.get()} at the first search). */
    public FlatIndex(int dimension, Metric metric, Backend backend) {
        this(new VectorSet(dimension, metric), backend);
    }

    private FlatIndex(VectorSet set, Backend backend) {
        super(set, backend, "FlatIndex");
    }




    /** Rows the storage holds before it must grow (see {@link #reserve}). */
    public long capacity() {
        return store.read(() -> set.capacity());
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
    public void add(long[] ids, FloatMatrix vectors, java.util.List<dev.latent.space.Record> records) {
        store.write(() -> {
            set.add(ids, vectors, records);
            store.extendResident();
            return null;
        });
    }

    /**
     * Makes room for {@code rows} vectors in all, so that adds up to that size allocate no storage and copy
     * no stored rows. Changes no content.
     */
    public void reserve(long rows) {
        store.write(() -> {
            if (rows > set.capacity()) {
                set.reserve(rows);
                store.extendResident();
            }
            return null;
        });
    }

    @Override
    public int remove(long... ids) {
        return store.write(() -> {
            java.util.BitSet holes = new java.util.BitSet();
            int removed = set.remove(ids, holes::set);
            if (removed > 0) {
                store.patchResident(holes);
            }
            return removed;
        });
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
    public SearchResult search(FloatMatrix queries, SearchParams asked) {
        Objects.requireNonNull(asked, "params");
        return store.read(() -> {
            SearchParams params = store.resolveFilter(asked);
            if (store.quantizer() == null || params.isRange() || params.filtered()) {
                return store.exact(queries, params);
            }
            store.checkQueries(queries);
            if (set.size() == 0 || queries.rows() == 0) {
                return store.empty(queries, params);
            }
            return store.approx(queries, null, null, params.k(), StoredVectors.rerank(params));
        });
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
        return store.read(() -> {
            if (set.size() == 0 || tokens.queries() == 0) {
                return new Neighbors(tokens.queries(), 0, new long[0], new float[0], metric());
            }
            final long[] map = set.idsShared();
            return store.resident().searchPooled(tokens, k).mapIds(row -> row < 0 ? row : map[(int) row]);
        });
    }

    /** Whether {@link #searchPooled} reads token embeddings in device memory: the backend reads device tokens. */
    @Override
    public boolean searchesDeviceTokens() {
        return backend().readsDeviceTokens();
    }

    // ------------------------------------------------------------------ files

    @Override
    public void writeTo(AtomicOutput out) throws IOException {
        // The lock is held only to pin the rows (O(1)); the write itself holds no lock.
        Map<String, String> meta = new LinkedHashMap<>();
        try (VectorSet.Snapshot snapshot = store.read(() -> {
            meta.putAll(store.metadataShared());
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
     * Loads a flat index file (version 1 or 2; see {@link IndexFile#read}).
     *
     * @param backend the backend to search with, or null for {@code Backends.get()}
     * @throws IOException naming the problem: not an index file, another version, another kind of index
     *     (naming both kinds), truncated, corrupt
     */
    public static FlatIndex load(Path file, Backend backend) throws IOException {
        IndexFile.Contents c = IndexFile.read(file, IndexHeader.KIND_FLAT, StoredVectors::rowsOnlyRerank);
        FlatIndex index = new FlatIndex(c.vectors(), backend);
        index.store.loadMetadata(c.metadata());
        index.store.encodeAsRecorded();
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
     * Writes the stored vectors as {@link #exportNpy(Path)} does, and beside them, in {@code ids}, one line per row:
     * the row's record key, or its id where it has no record (as {@code latent embed} writes its ids file). Both
     * files appear together, or neither changes.
     *
     * @throws IOException also for a key that cannot stand on one line (none can hold a line break: keys have no
     *     control characters)
     */
    public void exportNpy(Path npy, Path ids) throws IOException {
        try (VectorSet.Snapshot snapshot = snapshot(); FloatMatrix rows = snapshot.rows();
             dev.latent.space.OutputSet out = new dev.latent.space.OutputSet()) {
            Npy.Writer w = Npy.writer(out.open(npy), dimension());
            if (rows.rows() > 0) {
                w.append(rows);
            }
            w.finish();
            StringBuilder lines = new StringBuilder();
            long[] rowIds = snapshot.idsShared();
            for (int i = 0; i < snapshot.size(); i++) {
                String key = snapshot.records().key(rowIds[i]);
                lines.append(key != null ? key : Long.toString(rowIds[i])).append('\n');
            }
            out.open(ids).write(java.nio.ByteBuffer.wrap(lines.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            out.commit();
        }
    }




    // ------------------------------------------------------------------ lifecycle

    /** Frees the vectors and the resident matrix. The backend is not closed (it may be shared). Idempotent. */
    @Override
    public void close() {
        store.close(() -> { });
    }

    @Override
    public String toString() {
        return "FlatIndex[" + (store.isClosed() ? 0 : set.size()) + " x " + dimension() + ", " + metric() + "]";
    }
}
