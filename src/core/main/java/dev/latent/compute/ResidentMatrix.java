package dev.latent.compute;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.core.TokenEmbeddings;

/**
 * Rows made ready by a {@link Backend} for many calls: norms computed for a {@link #metric()}, and on a
 * GPU held in device memory, so a database answers many query batches and a set of points serves
 * every iteration of a clustering without being copied again. Row indices in results are positions in
 * this matrix.
 *
 * <p>Thread-safe for concurrent searches. {@link #extend} and {@link #close()} must not race with
 * other calls; {@link #close()} frees what the matrix holds (device memory, norms) exactly once, and
 * use after close throws {@link IllegalStateException}.
 */
public interface ResidentMatrix extends AutoCloseable {
    /** The backend that made this matrix. */
    Backend backend();

    Metric metric();

    long rows();

    int dimension();

    /**
     * Exact top-k of every row of {@code queries} under {@link #metric()}, with the candidates the
     * parameters allow (all rows, one row subset, or a list per query); see {@link ScanParams}.
     *
     * @throws IllegalArgumentException for a dimension mismatch, a query that breaks the vector rule
     *     (named), bad candidate lists, or parameters without a k
     */
    Neighbors search(FloatMatrix queries, ScanParams params);

    /**
     * Top-k of every query over the rows of the inverted lists it probes, as {@link #search(FloatMatrix, ScanParams)}
     * with each query's candidates the ascending union of its probed lists (so the same results, scores up to
     * float rounding). List {@code l} holds rows {@code listRows[listOffsets[l] .. listOffsets[l + 1])}, strictly
     * ascending; query {@code i} probes the {@code nprobe} distinct lists
     * {@code probes[i * nprobe .. (i + 1) * nprobe)}. Each query holds {@code min(k, candidates)} results (the
     * most rows any query probes), padded with id -1 and score NaN. This default builds the per-query lists and
     * calls {@link #search(FloatMatrix, ScanParams)}; a backend may score each list once for all the queries
     * that probe it.
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
     * Exact top-k over all rows for the vectors pooled from {@code tokens}, as {@link #search(FloatMatrix, int)}
     * on them. Host tokens are pooled here ({@link TokenEmbeddings#poolOnHost()}); a backend on a device
     * overrides this to pool device tokens where they are.
     *
     * @throws IllegalArgumentException for device tokens on a backend that cannot read them, or a width that
     *     is not the dimension
     */
    default Neighbors searchPooled(TokenEmbeddings tokens, int k) {
        if (tokens.onDevice()) {
            throw new IllegalArgumentException("token embeddings in device memory need a CUDA resident matrix; this one"
                    + " is on " + backend().name());
        }
        try (FloatMatrix q = tokens.poolOnHost()) {
            return search(q, k);
        }
    }

    /**
     * Every row within the parameters' radius of each query (score ≥ radius for inner product and
     * cosine, squared distance ≤ radius for L2), filtered where the scores are computed.
     *
     * @throws TooManyResultsException as soon as more than {@link ScanParams#maxResults()} rows are
     *     within the radius, before the memory for them is taken
     */
    RangeHits range(FloatMatrix queries, ScanParams params);

    /**
     * Scores of every query against rows {@code [fromRow, toRow)}, written to {@code out}
     * ({@code Q × (toRow - fromRow)}, row-major).
     */
    void distances(FloatMatrix queries, long fromRow, long toRow, FloatMatrix out);

    /**
     * Makes the rows of {@code all} resident, where the first {@link #rows()} rows of {@code all} are
     * the rows already resident, unchanged (typically the caller's storage, grown): only the new rows
     * are checked, normed and (on a GPU) copied. Host backends read {@code all} in place from then on.
     *
     * @throws IllegalArgumentException for fewer rows than resident, another dimension, or a new row
     *     that breaks the vector rule (named; nothing changes)
     */
    void extend(FloatMatrix all);

    /**
     * Brings the resident copy in line with {@code all} after rows were removed by moving later rows into
     * the holes (as {@code VectorSet} removes): {@code all} has at most {@link #rows()} rows, the rows listed
     * in {@code changed} (ascending, each below {@code all.rows()}) hold new content, and every other row of
     * {@code all} is unchanged. Only the changed rows are read, normed and (on a GPU) copied. Returns false,
     * changing nothing, when this matrix cannot patch itself; the caller then makes the rows resident again.
     * On an exception the resident copy is undefined and the caller drops it.
     */
    default boolean refresh(FloatMatrix all, long[] changed) {
        return false;
    }

    @Override
    void close();
}
