package dev.latent.compute;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;

/**
 * What the host backends ({@link JavaBackend}, {@link CpuBackend}) share in a prepared database: it reads
 * the caller's matrix in place, checks every argument the same way, and leaves the computation to
 * {@link #topK} and {@link #scores}. Thread-safe for concurrent searches; {@link #close()} is idempotent.
 */
abstract class HostDatabase implements PreparedDatabase {
    protected final FloatMatrix db;
    protected final Metric metric;
    private final String backend;
    private volatile boolean closed;

    HostDatabase(FloatMatrix db, Metric metric, String backend) {
        this.db = db;
        this.metric = metric;
        this.backend = backend;
    }

    /** Top-k of every query over all rows ({@code subset == null}) or the given rows; arguments checked. */
    protected abstract Neighbors topK(FloatMatrix queries, int count, long[] subset);

    /** Scores of every query against rows {@code [fromRow, toRow)} into {@code out}; arguments checked. */
    protected abstract void scores(FloatMatrix queries, long fromRow, long toRow, FloatMatrix out);

    /** Frees what the subclass holds; called once. */
    protected void release() {
    }

    @Override
    public Metric metric() {
        return metric;
    }

    @Override
    public long rows() {
        return db.rows();
    }

    @Override
    public int dimension() {
        return db.cols();
    }

    @Override
    public Neighbors search(FloatMatrix queries, int k) {
        checkOpen();
        Checks.k(k);
        return run(queries, k, null);
    }

    @Override
    public Neighbors search(FloatMatrix queries, int k, long[] rows) {
        checkOpen();
        Checks.k(k);
        Checks.subset(rows, db.rows());
        return run(queries, k, rows);
    }

    private Neighbors run(FloatMatrix queries, int k, long[] subset) {
        Checks.queries(queries, db.cols());
        long candidates = subset == null ? db.rows() : subset.length;
        int count = (int) Math.min(k, candidates);
        if (queries.rows() * count > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("queries x k = " + (queries.rows() * count)
                    + " results do not fit one result set; search in smaller batches");
        }
        return topK(queries, count, subset);
    }

    @Override
    public void distances(FloatMatrix queries, long fromRow, long toRow, FloatMatrix out) {
        checkOpen();
        Checks.queries(queries, db.cols());
        Checks.range(fromRow, toRow, db.rows());
        Checks.output(out, queries.rows(), toRow - fromRow);
        scores(queries, fromRow, toRow, out);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("PreparedDatabase (" + backend + ") is closed");
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            release();
        }
    }
}
