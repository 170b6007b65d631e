package dev.latent.compute;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.core.Vectors;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * What the backends share in a set of 8-bit codes: the argument checks (one wording for every backend), the
 * vector rule checked on the host, the row count, the lock that lets searches run together while appends,
 * refreshes and close run alone, and close-once; the storage and the search are the subclass's (host memory
 * for the Java and native CPU backends, device memory for CUDA's {@code CudaCodes}). Public for the backend
 * packages; not an API for users.
 */
public abstract class HostCodes implements ResidentCodes {
    /** Largest dimension whose integer sums the kernels hold exactly ({@code d * 255 * 127 < 2^31}). */
    public static final int MAX_DIMENSION = 65536;

    protected final Backend backend;
    protected final Metric metric;
    protected final Sq8 quantizer;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private volatile long rows;
    private boolean closed;

    protected HostCodes(Backend backend, Metric metric, Sq8 quantizer) {
        this.backend = backend;
        this.metric = metric;
        this.quantizer = quantizer;
    }

    /** Checks the arguments of {@link Backend#uploadCodes}. */
    public static void checkUpload(FloatMatrix rows, Metric metric, Sq8 quantizer) {
        Checks.upload(rows, metric);
        if (quantizer == null) {
            throw new IllegalArgumentException("quantizer must not be null");
        }
        if (quantizer.dimension() != rows.cols()) {
            throw new IllegalArgumentException("dimension mismatch: the quantizer has dimension " + quantizer.dimension()
                    + ", the rows " + rows.cols());
        }
        if (quantizer.metric() != metric) {
            throw new IllegalArgumentException("the quantizer was trained for " + quantizer.metric() + ", not " + metric);
        }
        if (rows.cols() > MAX_DIMENSION) {
            throw new IllegalArgumentException("8-bit codes take dimensions up to " + MAX_DIMENSION + ", got "
                    + rows.cols());
        }
    }

    /** {@code codes} (new, empty) with {@code rows} appended; closed again if that fails. */
    public static <T extends HostCodes> T filled(T codes, FloatMatrix rows) {
        try {
            codes.append(rows);
            return codes;
        } catch (RuntimeException | Error e) {
            codes.close();
            throw e;
        }
    }

    /**
     * Top-{@code count} of the (checked) queries over all {@code rows} rows ({@code offsets == null}) or the
     * (checked) CSR lists, padded with id -1 and score NaN.
     */
    protected abstract Neighbors topK(FloatMatrix queries, long rows, int count, long[] offsets, long[] lists);

    /**
     * Encodes {@code newRows} as rows {@code [from, from + newRows.rows())}, growing the storage; throws
     * naming the first row (numbered from {@code from}) that breaks the vector rule, with nothing appended.
     */
    protected abstract void add(FloatMatrix newRows, long from);

    /** Encodes the listed rows of {@code all} again in place. */
    protected abstract void patch(FloatMatrix all, long[] changed);

    /** Bytes held now. */
    protected abstract long heldBytes();

    /** Frees the storage; called once. */
    protected abstract void release();

    /** The error for a row of {@code newRows} found breaking the vector rule, named by its position in the set. */
    protected IllegalArgumentException badRow(FloatMatrix newRows, long local, long from) {
        try {
            Vectors.check(newRows.rowsView(local, local + 1), metric, "database", from + local);
        } catch (IllegalArgumentException e) {
            return e;
        }
        return new IllegalArgumentException("database row " + (from + local) + " breaks the vector rule");
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
    public Sq8 quantizer() {
        return quantizer;
    }

    @Override
    public int dimension() {
        return quantizer.dimension();
    }

    @Override
    public long rows() {
        return rows;
    }

    @Override
    public long bytes() {
        lock.readLock().lock();
        try {
            checkOpen();
            return heldBytes();
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public Neighbors search(FloatMatrix queries, ScanParams params) {
        if (params.isRange()) {
            throw new IllegalArgumentException("8-bit codes answer top-k searches, not range searches");
        }
        if (params.rows() != null) {
            throw new IllegalArgumentException("8-bit codes are searched over all rows or per-query candidate lists"
                    + " (ScanParams.candidates), not a shared row set");
        }
        lock.readLock().lock();
        try {
            checkOpen();
            int count = Checks.topKCount(queries, dimension(), params, rows);
            Vectors.check(queries, metric, "query", 0);
            return topK(queries, rows, count, params.listOffsets(), params.listRows());
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public Neighbors searchGrouped(FloatMatrix queries, long[] listOffsets, long[] listRows, int[] probes, int nprobe,
            int k) {
        lock.readLock().lock();
        try {
            checkOpen();
            Checks.queries(queries, dimension());
            Checks.k(k);
            int nlists = Checks.invertedLists(listOffsets, listRows, rows);
            Checks.probes(probes, nprobe, queries.rows(), nlists);
            int count = (int) Math.min(k, Checks.longestProbed(listOffsets, probes, nprobe, queries.rows()));
            Checks.resultSize(queries.rows(), count);
            Vectors.check(queries, metric, "query", 0);
            return topKGrouped(queries, rows, count, listOffsets, listRows, probes, nprobe);
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Top-k over the probed inverted lists of each query (arguments checked; {@code count} results per query,
     * padded). This default builds the per-query candidate lists for {@link #topK}.
     */
    protected Neighbors topKGrouped(FloatMatrix queries, long rows, int count, long[] listOffsets, long[] listRows,
            int[] probes, int nprobe) {
        long[][] csr = Checks.probedCandidates(listOffsets, listRows, probes, nprobe, Math.toIntExact(queries.rows()));
        return topK(queries, rows, count, csr[0], csr[1]);
    }

    @Override
    public void append(FloatMatrix newRows) {
        lock.writeLock().lock();
        try {
            checkOpen();
            Checks.open(newRows, "rows");
            if (newRows.cols() != dimension()) {
                throw new IllegalArgumentException("dimension mismatch: the rows have dimension " + newRows.cols()
                        + ", the codes " + dimension());
            }
            if (newRows.rows() > 0) {
                add(newRows, rows);
                rows += newRows.rows();
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public boolean refresh(FloatMatrix all, long[] changed) {
        lock.writeLock().lock();
        try {
            checkOpen();
            Checks.open(all, "rows");
            Checks.refresh(all, changed, rows, dimension());
            patch(all, changed);
            rows = all.rows();
            return true;
        } finally {
            lock.writeLock().unlock();
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("ResidentCodes (" + backend.name() + ") is closed");
        }
    }

    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (!closed) {
                closed = true;
                release();
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + rows + " x " + dimension() + ", " + metric + ", 8-bit"
                + (closed ? ", closed" : "") + "]";
    }
}
