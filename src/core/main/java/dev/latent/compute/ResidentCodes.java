package dev.latent.compute;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;

/**
 * Rows held by a {@link Backend} as 8-bit codes of an {@link Sq8} quantiser ({@link Backend#uploadCodes}):
 * a quarter of the memory of float32 rows, searched approximately by integer kernels. Row indices in
 * results are positions in this set. The codes are the backend's own copy: the float rows they came from
 * may be closed or changed afterwards.
 *
 * <p>Scores are approximations of the metric's (see {@link Sq8}); an index that needs exact results keeps
 * the float rows too and re-ranks a few times k candidates from here with
 * {@link ResidentMatrix#search(FloatMatrix, ScanParams)} over per-query candidate lists.
 *
 * <p>Thread-safe: searches run concurrently; {@link #append}, {@link #refresh} and {@link #close()} wait for
 * searches in flight and hold new ones back while they run. {@link #close()} frees the codes exactly once;
 * use after close throws {@link IllegalStateException}.
 */
public interface ResidentCodes extends AutoCloseable {
    /** The backend that holds the codes. */
    Backend backend();

    Metric metric();

    /** The quantiser the rows were encoded with. */
    Sq8 quantizer();

    long rows();

    int dimension();

    /** Memory held for the codes and the per-row terms, in bytes (with room kept for appends). */
    long bytes();

    /**
     * Q, the largest magnitude of a quantised query component in this backend's searches now (see
     * {@link Sq8}): 127 or 63 on the native CPU backend depending on its kernel level, 127 on the Java
     * reference by default. Scores depend on it.
     */
    int queryLevels();

    /**
     * Approximate top-k of every row of {@code queries} under {@link #metric()}, over all rows or a
     * candidate list per query ({@link ScanParams#candidates}: padded with id -1 and score NaN where a list
     * is shorter), best first, ties by the lower row.
     *
     * @throws IllegalArgumentException for a dimension mismatch, a query that breaks the vector rule (named),
     *     bad candidate lists, a shared row set or a range search (not offered over codes)
     */
    Neighbors search(FloatMatrix queries, ScanParams params);

    /**
     * Approximate top-k of each query over the rows of its probed inverted lists, the same results as
     * {@link #search(FloatMatrix, ScanParams)} over the per-query candidate lists (the union of each query's
     * lists, ascending), bit for bit. Lists and probes as in {@link ResidentMatrix#searchGrouped}. This
     * default builds the per-query lists and calls {@link #search(FloatMatrix, ScanParams)}; a backend may
     * score each list once for all the queries that probe it.
     *
     * @throws IllegalArgumentException for bad lists or probes, or as {@link #search(FloatMatrix, ScanParams)}
     */
    default Neighbors searchGrouped(FloatMatrix queries, long[] listOffsets, long[] listRows, int[] probes, int nprobe,
            int k) {
        return search(queries, Checks.probedSearch(listOffsets, listRows, rows(), probes, nprobe, queries.rows(), k));
    }

    /** Top-k over all rows: {@code search(queries, ScanParams.topK(k))}. */
    default Neighbors search(FloatMatrix queries, int k) {
        return search(queries, ScanParams.topK(k));
    }

    /**
     * Encodes {@code newRows} and appends them as rows {@link #rows()} onwards.
     *
     * @throws IllegalArgumentException for another dimension or a row that breaks the vector rule (named by
     *     its position in this set; nothing is appended)
     */
    void append(FloatMatrix newRows);

    /**
     * Brings the codes in line with {@code all} after rows were removed by moving later rows into the holes
     * (as {@link ResidentMatrix#refresh} does): {@code all} has at most {@link #rows()} rows, the rows listed
     * in {@code changed} (ascending) are encoded again and the set is cut to {@code all.rows()} rows. Returns
     * true. On an exception (a changed row that breaks the vector rule) the codes are undefined and the
     * caller drops them.
     */
    boolean refresh(FloatMatrix all, long[] changed);

    @Override
    void close();
}
