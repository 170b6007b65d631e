package dev.latent.compute.cuda;

import dev.latent.compute.Backend;
import dev.latent.compute.Checks;
import dev.latent.compute.RangeHits;
import dev.latent.compute.ResidentMatrix;
import dev.latent.compute.ScanParams;
import dev.latent.compute.TooManyResultsException;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.core.TokenEmbeddings;
import dev.latent.core.Vectors;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongConsumer;

/**
 * A matrix resident in CUDA device memory (rows and norm terms), made by {@link CudaBackend#upload}.
 * Owns one native handle, freed exactly once by {@link #close()}. Queries are checked against the
 * vector rule on the device, where their norms are computed.
 *
 * <p>Thread-safe: calls hold the read side of a lock and are serialised natively on the handle's
 * stream; {@link #extend} and {@link #close()} take the write side, so they wait for calls in flight,
 * and any use after close throws {@link IllegalStateException} naming this class.
 */
final class CudaMatrix implements ResidentMatrix {
    private final CudaBackend backend;
    private final int dimension;
    private final Metric metric;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private volatile long rows;
    private long capacity;  // rows the device allocation holds; guarded by lock
    private long reserved;  // bytes reserved from the backend's budget; guarded by lock
    private long handle;  // guarded by lock; 0 once closed

    CudaMatrix(CudaBackend backend, long handle, long rows, int dimension, Metric metric, long reserved) {
        this.backend = backend;
        this.handle = handle;
        this.rows = rows;
        this.capacity = rows;
        this.reserved = reserved;
        this.dimension = dimension;
        this.metric = metric;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public Metric metric() {
        return metric;
    }

    @Override
    public long rows() {
        return rows;
    }

    @Override
    public int dimension() {
        return dimension;
    }

    /** Runs {@code call} with the open handle, under the read lock. */
    void withHandle(LongConsumer call) {
        lock.readLock().lock();
        try {
            call.accept(checkOpen());
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public Neighbors search(FloatMatrix queries, ScanParams params) {
        if (params.isRange()) {
            throw new IllegalArgumentException("a radius search goes through range(), not search()");
        }
        int q = checkQueries(queries);
        long[] badQuery = new long[1];
        if (params.listOffsets() != null) {
            long longest = Checks.lists(params.listOffsets(), params.listRows(), q, rows);
            int count = (int) Math.min(params.k(), longest);
            Checks.resultSize(q, count);
            if (count > CudaNative.MAX_K) {
                return LargeKSearch.search(this, queries, q, count, rows, null, params.listOffsets(), params.listRows());
            }
            long[] ids = new long[q * count];
            float[] scores = new float[q * count];
            if (q > 0 && count > 0) {
                withHandle(h -> badQuery(CudaNative.topkLists(h, queries.pointer(), q, dimension, count,
                        params.listOffsets(), params.listRows(), ids, scores, badQuery), badQuery, queries,
                        "search over candidate lists"));
            }
            return new Neighbors(q, count, ids, scores, metric);
        }
        long[] subset = params.rows();
        if (subset != null) {
            Checks.subset(subset, rows);
        }
        long candidates = subset == null ? rows : subset.length;
        int count = (int) Math.min(params.k(), candidates);
        Checks.resultSize(q, count);
        if (count > CudaNative.MAX_K) {
            return LargeKSearch.search(this, queries, q, count, rows, subset, null, null);
        }
        long[] ids = new long[q * count];
        float[] scores = new float[q * count];
        if (q == 0 || count == 0) {
            return new Neighbors(q, count, ids, scores, metric);
        }
        int[] outCount = new int[1];
        withHandle(h -> badQuery(CudaNative.topk(h, queries.pointer(), q, dimension, count, subset,
                subset == null ? 0 : subset.length, ids, scores, outCount, badQuery), badQuery, queries, "search"));
        if (outCount[0] != count) {
            throw new dev.latent.compute.DeviceException("cuda", dev.latent.compute.DeviceException.NO_CODE, "CUDA search returned " + outCount[0] + " results per query, expected " + count);
        }
        return new Neighbors(q, count, ids, scores, metric);
    }

    /**
     * Device tokens (an IoBinding output on this device) are pooled into queries on the device and searched
     * there: the vectors never cross to the host. Host tokens, tokens on another device, and k above the
     * kernels' largest are pooled on the host.
     */
    @Override
    public Neighbors searchPooled(TokenEmbeddings tokens, int k) {
        Checks.k(k);
        if (tokens.width() != dimension) {
            throw new IllegalArgumentException("token embeddings of width " + tokens.width() + " for a resident matrix of"
                    + " dimension " + dimension);
        }
        int q = tokens.queries();
        int count = (int) Math.min(k, rows);
        if (!tokens.onDevice() || tokens.device() != backend.device() || count > CudaNative.MAX_K) {
            if (tokens.onDevice()) {
                return searchHostCopy(tokens, k);
            }
            return ResidentMatrix.super.searchPooled(tokens, k);
        }
        Checks.resultSize(q, count);
        long[] ids = new long[q * count];
        float[] scores = new float[q * count];
        int[] outCount = new int[1];
        long[] badQuery = new long[1];
        if (q > 0 && count > 0) {
            withHandle(h -> {
                int code = CudaNative.topkPooled(h, tokens.address(), tokens.mask(), q, tokens.tokens(), tokens.width(),
                        tokens.firstToken() ? CudaNative.POOL_FIRST : CudaNative.POOL_MEAN, tokens.normalize() ? 1 : 0,
                        count, ids, scores, outCount, badQuery);
                if (code == CudaNative.E_BAD_QUERY) {
                    throw new IllegalArgumentException("pooled query " + badQuery[0] + " breaks the vector rule for "
                            + metric + " (a text with no kept token pools to zero)");
                }
                CudaBackend.check(code, "search of pooled token embeddings");
            });
        }
        return new Neighbors(q, count, ids, scores, metric);
    }

    /** Device tokens copied to the host, pooled there and searched (k above the kernels' largest). */
    private Neighbors searchHostCopy(TokenEmbeddings tokens, int k) {
        long floats = (long) tokens.queries() * tokens.tokens() * tokens.width();
        try (FloatMatrix host = FloatMatrix.allocate(floats, 1); org.bytedeco.javacpp.FloatPointer p = host.pointer()) {
            CudaBackend.check(CudaNative.deviceCopy(tokens.address(), p, floats * 4, 0), "copy of token embeddings");
            TokenEmbeddings onHost = new TokenEmbeddings(p.address(), tokens.queries(), tokens.tokens(), tokens.width(),
                    tokens.mask(), tokens.firstToken(), tokens.normalize(), TokenEmbeddings.HOST);
            return ResidentMatrix.super.searchPooled(onHost, k);
        }
    }

    @Override
    public RangeHits range(FloatMatrix queries, ScanParams params) {
        if (!params.isRange()) {
            throw new IllegalArgumentException("range() needs ScanParams.within(radius), got " + params);
        }
        int q = checkQueries(queries);
        long[] subset = params.rows();
        if (subset != null) {
            Checks.subset(subset, rows);
        }
        long[] result = new long[1];
        long[] total = new long[1];
        long[] over = new long[1];
        long[] badQuery = new long[1];
        withHandle(h -> {
            int code = CudaNative.range(h, queries.pointer(), q, dimension, params.radius(), params.maxResults(), subset,
                    subset == null ? 0 : subset.length, result, total, over, badQuery);
            if (code == CudaNative.E_TOO_MANY) {
                throw new TooManyResultsException((int) over[0], params.maxResults());
            }
            badQuery(code, badQuery, queries, "range search");
        });
        return RangeHits.fetched(q, total[0], metric, () -> CudaNative.rangeFree(result[0]),
                (offsets, rows, scores) -> CudaBackend.check(CudaNative.rangeFetch(result[0], offsets, rows, scores),
                        "range fetch"));
    }

    @Override
    public void distances(FloatMatrix queries, long fromRow, long toRow, FloatMatrix out) {
        int q = checkQueries(queries);
        Checks.range(fromRow, toRow, rows);
        Checks.output(out, q, toRow - fromRow);
        if (q == 0 || toRow == fromRow) {
            return;
        }
        long[] badQuery = new long[1];
        withHandle(h -> badQuery(CudaNative.distances(h, queries.pointer(), q, dimension, fromRow, toRow,
                out.pointer(), badQuery), badQuery, queries, "distances"));
    }

    @Override
    public void extend(FloatMatrix all) {
        Checks.open(all, "rows");
        lock.writeLock().lock();
        try {
            long h = checkOpen();
            if (all.cols() != dimension) {
                throw new IllegalArgumentException("dimension mismatch: the rows have dimension " + all.cols()
                        + ", the resident matrix " + dimension);
            }
            if (all.rows() < rows) {
                throw new IllegalArgumentException("extend needs at least the " + rows + " resident rows, got "
                        + all.rows());
            }
            long added = all.rows() - rows;
            if (added == 0) {
                return;
            }
            // The native side grows its allocation by doubling (database.cu, appendRows): reserve the growth first.
            long total = all.rows();
            long newCapacity = total > capacity ? Math.max(total, 2 * capacity) : capacity;
            long growth = CudaBackend.residentBytes(newCapacity, dimension) - CudaBackend.residentBytes(capacity, dimension);
            backend.budget().reserve(growth, "appending " + added + " rows to a " + rows + " x " + dimension
                    + " matrix");
            long[] badRow = new long[1];
            int code;
            try (FloatMatrix tail = all.rowsView(rows, all.rows())) {
                code = CudaNative.dbAppend(h, tail.pointer(), added, badRow);
            } catch (RuntimeException e) {
                backend.budget().release(growth);
                throw e;
            }
            if (code == 0 || nativeGrew(h)) {
                capacity = newCapacity;     // a failed append may still have grown the allocation: keep counting it
                reserved += growth;
            } else {
                backend.budget().release(growth);
            }
            if (code == CudaNative.E_BAD_ROW) {
                throw Vectors.describe(all, metric, "database", badRow[0]);
            }
            if (code == CudaNative.E_TOO_MANY_ROWS) {
                throw new IllegalArgumentException("cannot hold " + all.rows() + " rows on the GPU: "
                        + CudaBackend.detail(code));
            }
            CudaBackend.check(code, "append");
            rows = all.rows();
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Patches the device copy after removals: only the changed rows are copied and normed again. Many changed
     * rows (more than an eighth of the rows) are cheaper as a new upload: then false.
     */
    @Override
    public boolean refresh(FloatMatrix all, long[] changed) {
        Checks.open(all, "rows");
        lock.writeLock().lock();
        try {
            long h = checkOpen();
            Checks.refresh(all, changed, rows, dimension);
            if (changed.length > Math.max(64, rows / 8)) {
                return false;
            }
            CudaBackend.check(CudaNative.dbRefresh(h, all.pointer(), changed, changed.length, all.rows()), "refresh");
            rows = all.rows();
            return true;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Whether the native allocation now holds more rows than {@link #capacity} (rows and terms, not scratch). */
    private boolean nativeGrew(long h) {
        long[] all = new long[1];
        long[] scratch = new long[1];
        if (CudaNative.dbDeviceBytes(h, all) != 0 || CudaNative.dbScratchBytes(h, scratch) != 0) {
            return true;    // unknown: count the growth rather than under-count device memory
        }
        return all[0] - scratch[0] > CudaBackend.residentBytes(capacity, dimension);
    }

    /** Turns a bad-query status into the vector rule's message naming the query; checks the rest. */
    private void badQuery(int code, long[] badQuery, FloatMatrix queries, String what) {
        if (code == CudaNative.E_BAD_QUERY) {
            throw Vectors.describe(queries, metric, "query", badQuery[0]);
        }
        CudaBackend.check(code, what);
    }

    /** Frees the device memory (exactly once); waits for calls in flight. Idempotent. */
    @Override
    public void close() {
        long h;
        long held;
        lock.writeLock().lock();
        try {
            h = handle;
            held = reserved;
            handle = 0;
            reserved = 0;
        } finally {
            lock.writeLock().unlock();
        }
        if (h != 0) {
            backend.forget(this);
            backend.budget().release(held);
            CudaBackend.check(CudaNative.dbFree(h), "free");
        }
    }

    @Override
    public String toString() {
        return "CudaMatrix[" + rows + " x " + dimension + ", " + metric + (handle == 0 ? ", closed" : "") + "]";
    }

    private long checkOpen() {
        long h = handle;
        if (h == 0) {
            throw new IllegalStateException("CudaMatrix is closed");
        }
        return h;
    }

    /** Checks the query block's shape (its values are checked on the device); returns its row count. */
    private int checkQueries(FloatMatrix queries) {
        lock.readLock().lock();
        try {
            checkOpen();
        } finally {
            lock.readLock().unlock();
        }
        Checks.queries(queries, dimension);
        return (int) queries.rows();
    }
}
