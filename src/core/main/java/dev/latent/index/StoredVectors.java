package dev.latent.index;

import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.compute.DeviceException;
import dev.latent.compute.RangeHits;
import dev.latent.compute.ResidentMatrix;
import dev.latent.compute.ScanParams;
import dev.latent.compute.Sq8;
import dev.latent.compute.ResidentCodes;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.core.SearchResult;
import dev.latent.space.VectorSet;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * What every index kind here is built on: the stored rows with their ids (a {@link VectorSet}), the metadata,
 * the read-write lock, the rows made resident on the backend and kept in line with adds and removals, and
 * the exact scan that answers a failed device search on the host.
 *
 * <p>Thread safety: the owner reads under {@link #read} and writes under {@link #write}; the methods that say
 * "caller holds a lock" must be called inside one. The backend and the resident matrix are guarded by a
 * monitor of their own, so searches under the read lock can make the rows resident.
 */
final class StoredVectors {
    private static final DeviceFallback FALLBACK = new DeviceFallback();

    private final String owner;
    private final Supplier<Backend> backendSupplier;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Object residentLock = new Object();
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final VectorSet set;

    private Backend backend;
    private ResidentMatrix resident;      // over the set's rows; null when stale
    private FloatMatrix residentView;     // the view the resident matrix reads (host backends)
    private Sq8 quantizer;                // null: no codes
    private ResidentCodes codes;          // the rows' 8-bit codes; null when stale or none
    private boolean closed;
    private long writes;                  // write-lock sections entered: a version for caches of the rows
    private volatile PayloadIndex payloads;

    /**
     * @param owner   the index class, named when a closed index is used
     * @param backend null for {@code Backends.get()} at the first use
     */
    StoredVectors(VectorSet set, Backend backend, String owner) {
        this.set = set;
        this.owner = owner;
        this.backendSupplier = backend == null ? Backends::get : () -> backend;
    }

    /** The stored rows. Caller holds a lock (the write lock to change them). */
    VectorSet set() {
        return set;
    }

    int dimension() {
        return set.dimension();
    }

    Metric metric() {
        return set.metric();
    }

    long size() {
        lock.readLock().lock();
        try {
            return closed ? 0 : set.size();
        } finally {
            lock.readLock().unlock();
        }
    }

    Backend backend() {
        synchronized (residentLock) {
            if (backend == null) {
                backend = backendSupplier.get();
            }
            return backend;
        }
    }

    // ------------------------------------------------------------------ metadata

    Map<String, String> metadata() {
        lock.readLock().lock();
        try {
            return Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        } finally {
            lock.readLock().unlock();
        }
    }

    void putMetadata(String key, String value) {
        write(() -> {
            if (value == null) {
                metadata.remove(key);
            } else {
                metadata.put(Objects.requireNonNull(key, "key"), value);
            }
            return null;
        });
    }

    /** Metadata read from a file, before the index is shared. */
    void loadMetadata(Map<String, String> loaded) {
        metadata.putAll(loaded);
    }

    /** The metadata itself. Caller holds a lock. */
    Map<String, String> metadataShared() {
        return metadata;
    }

    // ------------------------------------------------------------------ locking

    /** Runs {@code body} under the read lock on an open index. */
    <T> T read(Supplier<T> body) {
        lock.readLock().lock();
        try {
            checkOpen();
            return body.get();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Runs {@code body} under the write lock on an open index. */
    <T> T write(Supplier<T> body) {
        lock.writeLock().lock();
        try {
            checkOpen();
            writes++;
            return body.get();
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * The search parameters with their {@link SearchParams#filter()} answered as allowed ids (intersected with the
     * allowed ids given), from the payload index of the rows now, built at the first filter after a write. Caller
     * holds a lock.
     */
    SearchParams resolveFilter(SearchParams params) {
        Filter f = params.filter();
        if (f == null) {
            return params;
        }
        PayloadIndex p = payloads;
        if (p == null || p.version != writes) {
            synchronized (residentLock) {
                p = payloads;
                if (p == null || p.version != writes) {
                    p = PayloadIndex.build(set, writes);
                    payloads = p;
                }
            }
        }
        long[] ids = p.matching(f);
        long[] given = params.allowedIdsShared();
        if (given != null) {
            set.rowsOf(given);   // names allowed ids that are not stored
            long[] sorted = given.clone();
            java.util.Arrays.sort(sorted);
            ids = PayloadIndex.intersect(ids, sorted);
        }
        return params.resolved(ids);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(owner + " is closed");
        }
    }

    /**
     * Closes once, under the write lock: runs {@code alsoFree} (what the owner holds besides), then frees the
     * resident matrix and the rows. Idempotent.
     */
    void close(Runnable alsoFree) {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            try {
                alsoFree.run();
            } finally {
                invalidate();
                set.close();
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    boolean isClosed() {
        return closed;
    }

    // ------------------------------------------------------------------ the resident copy

    /**
     * After a removal (the rows told in {@code holes} received the last row): the resident copy patches the
     * rows that changed ({@link ResidentMatrix#refresh}), or is dropped and made resident again at the next
     * search when it cannot. Caller holds the write lock.
     */
    void patchResident(BitSet holes) {
        long[] changed = holes.stream().filter(r -> r < set.size()).asLongStream().toArray();
        updateResident(view -> resident.refresh(view, changed));
        updateCodes(view -> codes.refresh(view, changed));
    }

    /** After the set grew (or moved): only the new rows go to the backend. Caller holds the write lock. */
    void extendResident() {
        updateResident(view -> {
            resident.extend(view);
            return true;
        });
        updateCodes(view -> {
            if (view.rows() > codes.rows()) {
                try (FloatMatrix added = view.rowsView(codes.rows(), view.rows())) {
                    codes.append(added);
                }
            }
            return true;
        });
    }

    /** As {@link #updateResident} for the codes: on failure they are dropped and encoded again when next used. */
    private void updateCodes(Predicate<FloatMatrix> update) {
        synchronized (residentLock) {
            if (codes == null) {
                return;
            }
            boolean done;
            try (FloatMatrix view = set.rows()) {
                done = update.test(view);
            } catch (RuntimeException e) {
                done = false;
            }
            if (!done) {
                codes.close();
                codes = null;
            }
        }
    }

    /**
     * Keeps 8-bit codes of the rows ({@link Sq8}) beside the float32 ones, for {@link #approx}; null drops them.
     * Caller holds the write lock.
     */
    void quantize(Sq8 q) {
        synchronized (residentLock) {
            if (codes != null) {
                codes.close();
                codes = null;
            }
            quantizer = q;
        }
    }

    /** The metadata entry that records the codes kept beside the rows: {@code sq8}, or absent. */
    static final String ENCODING_KEY = "encoding";

    /**
     * Fits an {@link Sq8} quantizer to the stored rows (per-dimension ranges over all of them) and keeps codes
     * beside the rows from now on, recorded in the metadata so that a load does the same. Takes the write lock.
     */
    void encodeSq8() {
        write(() -> {
            try (VectorSet.Snapshot pinned = set.snapshot(); FloatMatrix rows = pinned.rows()) {
                quantize(rows.rows() == 0 ? null : Sq8.train(rows, metric()));
            }
            putMetadata(ENCODING_KEY, "sq8");
            return null;
        });
    }

    /**
     * Whether a file with this metadata keeps codes, so its float32 rows serve only the exact re-rank of a few
     * candidates per query: such rows are mapped from the file at load rather than copied into memory.
     */
    static boolean rowsOnlyRerank(Map<String, String> metadata) {
        return "sq8".equals(metadata.get(ENCODING_KEY));
    }

    /** After a load: codes again when the file's metadata records them. */
    void encodeAsRecorded() {
        if ("sq8".equals(metadataShared().get(ENCODING_KEY))) {
            encodeSq8();
        }
    }

    /** The re-rank factor of {@code params}, or {@link SearchParams#DEFAULT_RERANK} at 0. */
    static int rerank(SearchParams params) {
        return params.rerank() == 0 ? SearchParams.DEFAULT_RERANK : params.rerank();
    }

    /** The quantizer of the codes, or null. */
    Sq8 quantizer() {
        return quantizer;
    }

    /**
     * The rows' codes, encoded at the first use: on the index's backend where it scans codes (the native CPU one,
     * Java, or the GPU's device memory), else on the host backend (the native CPU one, or Java). Codes the device
     * cannot hold (a {@link DeviceException}: its memory or budget) are kept on the host instead, until they are
     * dropped (see {@link #updateCodes}). Caller holds a lock; the index is quantized.
     *
     * @param queries the queries of the search that asks, for the fallback's log
     */
    private ResidentCodes codes(long queries) {
        synchronized (residentLock) {
            if (codes == null) {
                try (FloatMatrix view = set.rows()) {
                    try {
                        codes = backend().uploadCodes(view, metric(), quantizer);
                    } catch (UnsupportedOperationException e) {
                        codes = HostBackend.INSTANCE.uploadCodes(view, metric(), quantizer);
                    } catch (DeviceException e) {
                        deviceFailed(e, queries);
                        codes = HostBackend.INSTANCE.uploadCodes(view, metric(), quantizer);
                    }
                }
            }
            return codes;
        }
    }

    /**
     * The coarse step {@code step} on the rows' codes; when the device fails it ({@link DeviceException}), the same
     * step on codes encoded on the host for this call (as {@link #scan} answers a failed exact search), whose
     * query levels may differ (63 on an AVX2 CPU): the candidates are approximate either way and the re-rank is
     * exact. Caller holds the read lock.
     */
    private Neighbors coarse(FloatMatrix queries, Function<ResidentCodes, Neighbors> step) {
        ResidentCodes c = codes(queries.rows());
        try {
            return step.apply(c);
        } catch (DeviceException e) {
            deviceFailed(e, queries.rows());
            try (FloatMatrix view = set.rows(); ResidentCodes host = HostBackend.INSTANCE.uploadCodes(view, metric(), quantizer)) {
                return step.apply(host);
            }
        }
    }

    /**
     * Approximate top-k through the codes, exact in the end: each query's best {@code rerank · k} candidates by
     * their codes (over all rows when {@code offsets} is null, else its CSR list), then those candidates scored
     * exactly on the float32 rows ({@link #scan}), ties by the lower row. A device failure of either step is
     * answered on the host. Caller holds the read lock; the set is not empty.
     */
    SearchResult approx(FloatMatrix queries, long[] offsets, long[] rows, int k, int rerank) {
        int wide = wide(k, rerank);
        ScanParams coarse = offsets == null ? ScanParams.topK(wide) : ScanParams.topK(wide).candidates(offsets, rows);
        return rescore(queries, coarse(queries, c -> c.search(queries, coarse)), k);
    }

    /**
     * {@link #approx} over the rows of each query's probed inverted lists, the coarse step scoring each list's
     * codes once for all the queries that probe it ({@link ResidentCodes#searchGrouped}); the same results as
     * {@link #approx} over the per-query lists. Caller holds the read lock; the set is not empty.
     */
    SearchResult approx(FloatMatrix queries, long[] listOffsets, long[] listRows, int[] probes, int nprobe, int k,
            int rerank) {
        int wide = wide(k, rerank);
        Neighbors first = coarse(queries, c -> c.searchGrouped(queries, listOffsets, listRows, probes, nprobe, wide));
        return rescore(queries, first, k);
    }

    private static int wide(int k, int rerank) {
        return (int) Math.min(Integer.MAX_VALUE, (long) k * rerank);
    }

    /** The exact top-k over the coarse step's candidates {@code first} (ties by the lower row). */
    private SearchResult rescore(FloatMatrix queries, Neighbors first, int k) {
        int nq = first.queries();
        long[] off = new long[nq + 1];
        long[] cand = new long[nq * first.count()];
        int at = 0;
        for (int q = 0; q < nq; q++) {
            int c = first.count(q);
            for (int r = 0; r < c; r++) {
                cand[at + r] = first.id(q, r);
            }
            Arrays.sort(cand, at, at + c);
            at += c;
            off[q + 1] = at;
        }
        if (at == 0) {
            return new Neighbors(nq, 0, new long[0], new float[0], metric());
        }
        return scan(queries, ScanParams.topK(k).candidates(off, at == cand.length ? cand : Arrays.copyOf(cand, at)));
    }

    /**
     * Brings the resident matrix in line with the set through {@code update} (given a view of the rows; false
     * when the backend cannot). When it cannot or fails (device memory, its budget), the change to the set
     * stands and the rows become resident again at the next search. Caller holds the write lock.
     */
    private void updateResident(Predicate<FloatMatrix> update) {
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

    /** The resident matrix, made resident again if a removal made it stale. Caller holds a lock. */
    ResidentMatrix resident() {
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
            if (codes != null) {
                codes.close();
                codes = null;
            }
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

    // ------------------------------------------------------------------ search

    /**
     * Exact search as {@link FlatIndex#search} describes it: top-k or range, over all rows or the allowed ids,
     * rows mapped to caller ids; a failed device search is answered on the host. Caller holds the read lock.
     */
    SearchResult exact(FloatMatrix queries, SearchParams params) {
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
        return scan(queries, scan);
    }

    /**
     * One scan of the stored rows with {@code p} (which may name candidate rows), rows mapped to caller ids;
     * when the device fails it, the same scan on the host. Caller holds the read lock; the set is not empty.
     */
    SearchResult scan(FloatMatrix queries, ScanParams p) {
        try {
            return answer(resident(), queries, p);
        } catch (DeviceException e) {
            deviceFailed(e, queries.rows());
            try (FloatMatrix rows = set.rows()) {
                return onHost(rows, metric(), m -> answer(m, queries, p));
            }
        }
    }

    /**
     * Top-k of each query over the rows of its probed inverted lists ({@link ResidentMatrix#searchGrouped}), rows
     * mapped to caller ids; when the device fails it, the same search on the host. Caller holds the read lock.
     */
    SearchResult scanGrouped(FloatMatrix queries, long[] listOffsets, long[] listRows, int[] probes, int nprobe, int k) {
        long[] map = set.idsShared();
        Function<ResidentMatrix, SearchResult> work = m -> m.searchGrouped(queries, listOffsets, listRows, probes, nprobe, k)
                .mapIds(row -> row < 0 ? row : map[(int) row]);
        try {
            return work.apply(resident());
        } catch (DeviceException e) {
            deviceFailed(e, queries.rows());
            try (FloatMatrix rows = set.rows()) {
                return onHost(rows, metric(), work);
            }
        }
    }

    /** Logs that the device failed a call of {@code rows} queries or points, which is answered on the host. */
    void deviceFailed(DeviceException e, long rows) {
        FALLBACK.log(e, backend(), rows);
    }

    /**
     * {@code work} applied to {@code rows} made resident on the host backend (native CPU, else Java), which is
     * what a device failure falls back to; the resident copy is closed afterwards.
     */
    static <T> T onHost(FloatMatrix rows, Metric metric, Function<ResidentMatrix, T> work) {
        try (ResidentMatrix host = HostBackend.INSTANCE.upload(rows, metric)) {
            return work.apply(host);
        }
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

    void checkQueries(FloatMatrix queries) {
        Objects.requireNonNull(queries, "queries");
        if (queries.cols() != dimension()) {
            throw new IllegalArgumentException("queries have dimension " + queries.cols() + ", the index has " + dimension());
        }
        if (queries.rows() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("too many queries in one call: " + queries.rows());
        }
    }

    /** No results for each query, as the search asked (top-k or range); the queries are still checked. */
    SearchResult empty(FloatMatrix queries, SearchParams params) {
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
}
