package dev.latent.index;

import dev.latent.core.Metric;
import dev.latent.core.SearchResult;
import java.util.Arrays;

/**
 * Results of a range search: for each query, every stored vector within the radius, best first
 * (ties by the lower row), with caller ids and scores. Queries may have different result counts.
 *
 * <p>Immutable and thread-safe.
 */
public final class RangeResults implements SearchResult {
    private final long[][] ids;
    private final float[][] scores;
    private final Metric metric;

    public RangeResults(long[][] ids, float[][] scores, Metric metric) {
        this.ids = ids;
        this.scores = scores;
        this.metric = metric;
    }

    /** Number of queries. */
    @Override
    public int queries() {
        return ids.length;
    }

    @Override
    public Metric metric() {
        return metric;
    }

    /** Number of results of query {@code q}. */
    @Override
    public int count(int q) {
        return ids[q].length;
    }

    /** Total number of results over all queries. */
    public long totalCount() {
        long n = 0;
        for (long[] a : ids) {
            n += a.length;
        }
        return n;
    }

    @Override
    public long id(int q, int rank) {
        return ids[q][rank];
    }

    @Override
    public float score(int q, int rank) {
        return scores[q][rank];
    }

    /** Ids of query {@code q}'s results, best first (a copy). */
    @Override
    public long[] ids(int q) {
        return Arrays.copyOf(ids[q], ids[q].length);
    }

    /** Scores of query {@code q}'s results, best first (a copy). */
    @Override
    public float[] scores(int q) {
        return Arrays.copyOf(scores[q], scores[q].length);
    }
}
