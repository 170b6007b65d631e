package dev.latent.compute;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;

/**
 * A database made ready for searching by a {@link Backend}: norms computed, and on the GPU the rows
 * resident in device memory across calls. Row indices in results are positions in the database.
 *
 * <p>Thread-safe for concurrent searches. {@link #close()} frees what it holds (device memory,
 * norms) exactly once and must not race with searches; use after close throws
 * {@link IllegalStateException}.
 */
public interface PreparedDatabase extends AutoCloseable {
    Metric metric();

    long rows();

    int dimension();

    /**
     * Exact top-k for every row of {@code queries}. Returns {@code min(k, rows())} results per query,
     * best first, ties by lower row index.
     *
     * @throws IllegalArgumentException for k ≤ 0, a dimension mismatch, or (cosine) a zero query
     */
    Neighbors search(FloatMatrix queries, int k);

    /**
     * Exact top-k restricted to the given database rows ({@code rows} strictly ascending, each in
     * {@code [0, rows())}). Returns {@code min(k, rows.length)} results per query; result ids are
     * database row indices.
     */
    Neighbors search(FloatMatrix queries, int k, long[] rows);

    /**
     * Scores of every query against database rows {@code [fromRow, toRow)}, written to {@code out}
     * ({@code Q × (toRow - fromRow)}, row-major).
     */
    void distances(FloatMatrix queries, long fromRow, long toRow, FloatMatrix out);

    @Override
    void close();
}
