package dev.latent.core;

import java.util.Arrays;

/**
 * Exact k-nearest-neighbour results for a block of queries: for query {@code q} and rank
 * {@code r} (0 = nearest), a row index (or caller id) and its score under the search's
 * {@link Metric}. Every query has the same number of results, {@link #count()}, which is
 * {@code min(k, candidates)}. Results are ordered best first, ties broken by the lower row index. A query
 * with fewer candidates than that (an inverted-file search whose probed lists are short) is padded after its
 * results with id -1 and score NaN (a real result never scores NaN; ids may be negative);
 * {@link #count(int)} counts its real results.
 *
 * <p>Immutable and thread-safe. Heap arrays: {@code ids[q * count + r]}, {@code scores[q * count + r]}.
 */
public final class Neighbors implements SearchResult {
    private final int queries;
    private final int count;
    private final long[] ids;
    private final float[] scores;
    private final Metric metric;

    public Neighbors(int queries, int count, long[] ids, float[] scores, Metric metric) {
        if ((long) queries * count != ids.length || ids.length != scores.length) {
            throw new IllegalArgumentException("ids/scores length must be queries*count = "
                    + ((long) queries * count) + ", got " + ids.length + "/" + scores.length);
        }
        this.queries = queries;
        this.count = count;
        this.ids = ids;
        this.scores = scores;
        this.metric = metric;
    }

    /** Number of queries. */
    @Override
    public int queries() {
        return queries;
    }

    /** Results per query, {@code min(k, candidates)}. */
    public int count() {
        return count;
    }

    /** Real results of query {@code q}: {@link #count()} less its padding. */
    @Override
    public int count(int q) {
        int n = count;
        while (n > 0 && Float.isNaN(scores[index(q, n - 1)])) {
            n--;
        }
        return n;
    }

    @Override
    public Metric metric() {
        return metric;
    }

    @Override
    public long id(int query, int rank) {
        return ids[index(query, rank)];
    }

    @Override
    public float score(int query, int rank) {
        return scores[index(query, rank)];
    }

    /** Ids of one query's results, best first, without padding (a copy). */
    @Override
    public long[] ids(int query) {
        return Arrays.copyOfRange(ids, query * count, query * count + count(query));
    }

    /** Scores of one query's results, best first, without padding (a copy). */
    @Override
    public float[] scores(int query) {
        return Arrays.copyOfRange(scores, query * count, query * count + count(query));
    }

    /** Returns results whose ids are mapped through {@code rowToId} (row index → caller id). */
    public Neighbors mapIds(java.util.function.LongUnaryOperator rowToId) {
        long[] mapped = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            mapped[i] = rowToId.applyAsLong(ids[i]);
        }
        return new Neighbors(queries, count, mapped, scores, metric);
    }

    private int index(int query, int rank) {
        if (query < 0 || query >= queries || rank < 0 || rank >= count) {
            throw new IndexOutOfBoundsException("query " + query + ", rank " + rank + " outside "
                    + queries + " queries x " + count + " results");
        }
        return query * count + rank;
    }
}
