package dev.latent.compute;

import dev.latent.compute.nat.CudaNative;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A database resident in CUDA device memory (rows and norm terms), made by
 * {@link CudaBackend#prepare}. Owns one native handle, freed exactly once by {@link #close()}.
 *
 * <p>Thread-safe: searches hold the read side of a lock and are serialised natively on the
 * handle's stream; {@link #close()} takes the write side, so it waits for searches in flight, and
 * any use after it throws {@link IllegalStateException} naming this class.
 */
final class CudaBackendDatabase implements PreparedDatabase {
    private final CudaBackend backend;
    private final long rows;
    private final int dimension;
    private final Metric metric;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private long handle;  // guarded by lock; 0 once closed

    CudaBackendDatabase(CudaBackend backend, long handle, long rows, int dimension, Metric metric) {
        this.backend = backend;
        this.handle = handle;
        this.rows = rows;
        this.dimension = dimension;
        this.metric = metric;
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

    @Override
    public Neighbors search(FloatMatrix queries, int k) {
        return topk(queries, k, null);
    }

    @Override
    public Neighbors search(FloatMatrix queries, int k, long[] subset) {
        Checks.k(k);
        Checks.subset(subset, rows);
        return topk(queries, k, subset);
    }

    private Neighbors topk(FloatMatrix queries, int k, long[] subset) {
        Checks.k(k);
        int q = checkQueries(queries);
        long candidates = subset == null ? rows : subset.length;
        int count = (int) Math.min(k, candidates);
        if (count > CudaNative.MAX_K) {
            throw new IllegalArgumentException("k = " + k + " is above " + CudaNative.MAX_K
                    + ", the largest k the CUDA backend supports");
        }
        long results = (long) q * count;
        if (results > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(q + " queries x " + count
                    + " results do not fit Java arrays; search in smaller batches");
        }
        long[] ids = new long[(int) results];
        float[] scores = new float[(int) results];
        if (q == 0 || count == 0) {
            return new Neighbors(q, count, ids, scores, metric);
        }
        int[] outCount = new int[1];
        lock.readLock().lock();
        try {
            long h = checkOpen();
            int code = CudaNative.topk(h, queries.pointer(), q, dimension, count, subset,
                    subset == null ? 0 : subset.length, ids, scores, outCount);
            CudaBackend.check(code, "search");
        } finally {
            lock.readLock().unlock();
        }
        if (outCount[0] != count) {
            throw new IllegalStateException("CUDA search returned " + outCount[0] + " results per query, expected "
                    + count);
        }
        return new Neighbors(q, count, ids, scores, metric);
    }

    @Override
    public void distances(FloatMatrix queries, long fromRow, long toRow, FloatMatrix out) {
        int q = checkQueries(queries);
        Checks.range(fromRow, toRow, rows);
        Checks.output(out, q, toRow - fromRow);
        if (q == 0 || toRow == fromRow) {
            return;
        }
        lock.readLock().lock();
        try {
            long h = checkOpen();
            int code = CudaNative.distances(h, queries.pointer(), q, dimension, fromRow, toRow, out.pointer());
            CudaBackend.check(code, "distances");
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Frees the device memory (exactly once); waits for searches in flight. Idempotent. */
    @Override
    public void close() {
        long h;
        lock.writeLock().lock();
        try {
            h = handle;
            handle = 0;
        } finally {
            lock.writeLock().unlock();
        }
        if (h != 0) {
            backend.forget(this);
            CudaBackend.check(CudaNative.dbFree(h), "free");
        }
    }

    @Override
    public String toString() {
        return "CudaBackendDatabase[" + rows + " x " + dimension + ", " + metric + (handle == 0 ? ", closed" : "")
                + "]";
    }

    private long checkOpen() {
        long h = handle;
        if (h == 0) {
            throw new IllegalStateException("CudaBackendDatabase is closed");
        }
        return h;
    }

    /**
     * Validates a query block like the other backends (open, dimension, every value finite, squared
     * norm finite in float32, non-zero under cosine); returns its row count.
     */
    private int checkQueries(FloatMatrix queries) {
        lock.readLock().lock();
        try {
            checkOpen();
        } finally {
            lock.readLock().unlock();
        }
        Checks.queries(queries, dimension);
        int q = (int) queries.rows();
        float[] row = new float[dimension];
        for (int i = 0; i < q; i++) {
            queries.getRow(i, row);
            float norm = 0;
            for (float v : row) {
                norm += v * v;
            }
            // NaN or ±inf values make the norm NaN or infinite; so does a squared norm over float32.
            if (!Float.isFinite(norm) || (norm == 0 && metric == Metric.COSINE)) {
                throw Checks.badRow("query", queries, i, metric);
            }
        }
        return q;
    }
}
