package dev.latent.core;

/**
 * What a search answers, whatever it asked: for each query, its results best first, each a caller id and a
 * score under {@link #metric()}. A top-k search ({@link Neighbors}) has at most k results per query, a range
 * search (the index's {@code RangeResults}) any number.
 *
 * <p>Implementations are immutable and thread-safe.
 */
public interface SearchResult {
    /** Number of queries. */
    int queries();

    /** Number of results of query {@code q} (a top-k result's padding, score NaN, is not counted). */
    int count(int q);

    /** Id of query {@code q}'s result {@code rank} (0 = best), for {@code rank < count(q)}. */
    long id(int q, int rank);

    /** Score of query {@code q}'s result {@code rank}. */
    float score(int q, int rank);

    /** Ids of query {@code q}'s results, best first (a copy, {@code count(q)} long). */
    long[] ids(int q);

    /** Scores of query {@code q}'s results, best first (a copy, {@code count(q)} long). */
    float[] scores(int q);

    /** The metric the scores are in. */
    Metric metric();
}
