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
        if (subset == null) {
            throw new IllegalArgumentException("rows must not be null (use search(queries, k) for all rows)");
        }
        for (int i = 0; i < subset.length; i++) {
            if (subset[i] < 0 || subset[i] >= rows) {
                throw new IllegalArgumentException("rows[" + i + "] = " + subset[i] + " is outside [0, " + rows + ")");
            }
            if (i > 0 && subset[i] <= subset[i - 1]) {
                throw new IllegalArgumentException("rows must be strictly ascending: rows[" + (i - 1) + "] = "
                        + subset[i - 1] + ", rows[" + i + "] = " + subset[i]);
            }
        }
        return topk(queries, k, subset);
    }

    private Neighbors topk(FloatMatrix queries, int k, long[] subset) {
        if (k <= 0) {
            throw new IllegalArgumentException("k must be >= 1, got " + k);
        }
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
        if (fromRow < 0 || toRow < fromRow || toRow > rows) {
            throw new IllegalArgumentException("rows [" + fromRow + ", " + toRow + ") outside a database of "
                    + rows + " rows");
        }
        if (out == null || out.isClosed()) {
            throw new IllegalArgumentException("out must be an open matrix");
        }
        if (out.rows() != q || out.cols() != toRow - fromRow) {
            throw new IllegalArgumentException("out is " + out.rows() + " x " + out.cols() + ", expected "
                    + q + " x " + (toRow - fromRow));
        }
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

    /** Validates a query block (open, dimension, finite, non-zero under cosine); returns its row count. */
    private int checkQueries(FloatMatrix queries) {
        if (queries == null) {
            throw new IllegalArgumentException("queries must not be null");
        }
        lock.readLock().lock();
        try {
            checkOpen();
        } finally {
            lock.readLock().unlock();
        }
        if (queries.isClosed()) {
            throw new IllegalArgumentException("queries matrix is closed");
        }
        if (queries.cols() != dimension) {
            throw new IllegalArgumentException("query dimension " + queries.cols()
                    + " does not match the database dimension " + dimension);
        }
        if (queries.rows() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("too many queries in one call: " + queries.rows());
        }
        int q = (int) queries.rows();
        float[] row = new float[dimension];
        for (int i = 0; i < q; i++) {
            queries.getRow(i, row);
            double norm = 0;
            for (int c = 0; c < dimension; c++) {
                float v = row[c];
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException("query " + i + " has a non-finite value (" + v
                            + ") at dimension " + c);
                }
                norm += (double) v * v;
            }
            if (metric == Metric.COSINE && norm == 0) {
                throw new IllegalArgumentException("query " + i
                        + " is a zero vector; cosine similarity needs non-zero queries");
            }
        }
        return q;
    }
}
