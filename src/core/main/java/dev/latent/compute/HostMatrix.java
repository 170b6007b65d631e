package dev.latent.compute;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;

/**
 * What the host backends ({@code JavaBackend}, {@code CpuBackend}) share in a resident matrix: it reads
 * the caller's rows in place, checks every argument the same way ({@link Checks}), and leaves the
 * computation to the abstract methods. Public for the backend packages; not an API for users.
 *
 * <p>Thread-safe for concurrent searches; {@link #extend} must not race with them; {@link #close()} is
 * idempotent.
 */
public abstract class HostMatrix implements ResidentMatrix {
    protected final Backend backend;
    protected final Metric metric;
    /** The caller's rows, read in place (replaced by {@link #extend}). */
    protected volatile FloatMatrix rows;
    private volatile boolean closed;

    protected HostMatrix(Backend backend, FloatMatrix rows, Metric metric) {
        this.backend = backend;
        this.rows = rows;
        this.metric = metric;
    }

    /** Top-k over all rows ({@code subset == null}) or the given ascending rows; arguments checked. */
    protected abstract Neighbors topK(FloatMatrix queries, int count, long[] subset);

    /**
     * Top-k over a candidate list per query (CSR, checked); {@code count} results per query, padded with
     * id -1 and score NaN where a list is shorter.
     */
    protected abstract Neighbors topKLists(FloatMatrix queries, int count, long[] offsets, long[] lists);

    /**
     * Top-k over the probed inverted lists of each query (arguments checked; {@code count} results per query,
     * padded). This default builds the per-query candidate lists for {@link #topKLists}.
     */
    protected Neighbors topKGrouped(FloatMatrix queries, int count, long[] listOffsets, long[] listRows, int[] probes,
            int nprobe) {
        return ResidentMatrix.super.searchGrouped(queries, listOffsets, listRows, probes, nprobe, count);
    }

    /** Every row within {@code radius} (all rows or the subset), best first; at most {@code maxResults}. */
    protected abstract RangeHits within(FloatMatrix queries, float radius, long[] subset, long maxResults);

    /** Scores of every query against rows {@code [fromRow, toRow)} into {@code out}; arguments checked. */
    protected abstract void scores(FloatMatrix queries, long fromRow, long toRow, FloatMatrix out);

    /** Checks and norms rows {@code [from, all.rows())} of {@code all}, the new rows (throws naming a bad one). */
    protected abstract void grow(FloatMatrix all, long from);

    /** Norms (or whatever per-row terms the subclass keeps) of the listed rows of {@code all}, recomputed. */
    protected abstract void renorm(FloatMatrix all, long[] changed);

    /** Frees what the subclass holds; called once. */
    protected void release() {
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
        return rows.rows();
    }

    @Override
    public int dimension() {
        return rows.cols();
    }

    /** The rows as they are read now (for the owning backend's assign, accumulate and gram). */
    public FloatMatrix matrix() {
        checkOpen();
        return rows;
    }

    @Override
    public Neighbors search(FloatMatrix queries, ScanParams params) {
        checkOpen();
        if (params.isRange()) {
            throw new IllegalArgumentException("a radius search goes through range(), not search()");
        }
        FloatMatrix db = rows;
        int count = Checks.topKCount(queries, db.cols(), params, db.rows());
        return params.listOffsets() != null ? topKLists(queries, count, params.listOffsets(), params.listRows())
                : topK(queries, count, params.rows());
    }

    @Override
    public Neighbors searchGrouped(FloatMatrix queries, long[] listOffsets, long[] listRows, int[] probes, int nprobe,
            int k) {
        checkOpen();
        FloatMatrix db = rows;
        Checks.queries(queries, db.cols());
        Checks.k(k);
        int nlists = Checks.invertedLists(listOffsets, listRows, db.rows());
        Checks.probes(probes, nprobe, queries.rows(), nlists);
        int count = (int) Math.min(k, Checks.longestProbed(listOffsets, probes, nprobe, queries.rows()));
        Checks.resultSize(queries.rows(), count);
        if (count == 0) {
            return new Neighbors((int) queries.rows(), 0, new long[0], new float[0], metric);
        }
        return topKGrouped(queries, count, listOffsets, listRows, probes, nprobe);
    }

    @Override
    public RangeHits range(FloatMatrix queries, ScanParams params) {
        checkOpen();
        if (!params.isRange()) {
            throw new IllegalArgumentException("range() needs ScanParams.within(radius), got " + params);
        }
        Checks.queries(queries, rows.cols());
        if (params.rows() != null) {
            Checks.subset(params.rows(), rows.rows());
        }
        return within(queries, params.radius(), params.rows(), params.maxResults());
    }

    @Override
    public void distances(FloatMatrix queries, long fromRow, long toRow, FloatMatrix out) {
        checkOpen();
        Checks.queries(queries, rows.cols());
        Checks.range(fromRow, toRow, rows.rows());
        Checks.output(out, queries.rows(), toRow - fromRow);
        scores(queries, fromRow, toRow, out);
    }

    @Override
    public synchronized void extend(FloatMatrix all) {
        checkOpen();
        Checks.open(all, "rows");
        FloatMatrix now = rows;
        if (all.cols() != now.cols()) {
            throw new IllegalArgumentException("dimension mismatch: the rows have dimension " + all.cols()
                    + ", the resident matrix " + now.cols());
        }
        if (all.rows() < now.rows()) {
            throw new IllegalArgumentException("extend needs at least the " + now.rows() + " resident rows, got "
                    + all.rows());
        }
        grow(all, now.rows());
        rows = all;
    }

    @Override
    public synchronized boolean refresh(FloatMatrix all, long[] changed) {
        checkOpen();
        Checks.open(all, "rows");
        Checks.refresh(all, changed, rows.rows(), rows.cols());
        renorm(all, changed);
        rows = all;
        return true;
    }

    protected void checkOpen() {
        if (closed) {
            throw new IllegalStateException("ResidentMatrix (" + backend.name() + ") is closed");
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            release();
        }
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + rows.rows() + " x " + rows.cols() + ", " + metric
                + (closed ? ", closed" : "") + "]";
    }

    /** The host matrix behind {@code m}, which must come from {@code backend}. */
    public static HostMatrix of(ResidentMatrix m, Backend backend) {
        if (!(m instanceof HostMatrix h) || !Checks.sameKind(m.backend(), backend)) {
            throw new IllegalArgumentException("resident matrix " + m + " does not come from " + backend.name());
        }
        h.checkOpen();
        return h;
    }
}
