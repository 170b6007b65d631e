package dev.latent.compute;

/**
 * A range search found more results than the caller allowed it to hold (see
 * {@link ResidentMatrix#range}); thrown before the memory
 * for them is taken, so the caller can say what to change instead of running out of memory.
 */
public final class TooManyResultsException extends RuntimeException {
    private final int query;
    private final long limit;

    public TooManyResultsException(int query, long limit) {
        super("query " + query + " of the call has more results within the radius than the " + limit + " allowed");
        this.query = query;
        this.limit = limit;
    }

    /** The query (0-based, within the call) whose results passed the limit. */
    public int query() {
        return query;
    }

    /** The limit that was passed. */
    public long limit() {
        return limit;
    }
}
