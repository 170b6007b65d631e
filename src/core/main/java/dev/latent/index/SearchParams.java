package dev.latent.index;

import dev.latent.compute.ScanParams;
import java.util.Arrays;
import java.util.Objects;

/**
 * What one {@link VectorIndex#search(dev.latent.core.FloatMatrix, SearchParams)} call asks for, as FAISS's
 * {@code SearchParameters}: the k best per query ({@link #topK}) or every vector within a radius
 * ({@link #within}), optionally among given ids only ({@link #allowedIds}), and the knobs of approximate
 * indexes: how many inverted lists to probe ({@link #nprobe}) and how many candidates per result to re-rank
 * exactly ({@link #rerank}). A knob an index does not have is ignored by it (an exact index is exact at any
 * {@code nprobe}); 0 means the index's own default.
 *
 * <p>Immutable and thread-safe; each {@code with} method returns a new value. The allowed ids are copied.
 */
public final class SearchParams {
    /** Candidates per result re-ranked exactly by an index that keeps codes, when a search leaves rerank at 0. */
    public static final int DEFAULT_RERANK = 4;
    private final ScanParams scan;        // k or radius, and the result limit
    private final long[] allowedIds;
    private final int nprobe;
    private final int rerank;
    private final Filter filter;

    private SearchParams(ScanParams scan, long[] allowedIds, int nprobe, int rerank) {
        this(scan, allowedIds, nprobe, rerank, null);
    }

    private SearchParams(ScanParams scan, long[] allowedIds, int nprobe, int rerank, Filter filter) {
        this.scan = scan;
        this.allowedIds = allowedIds;
        this.nprobe = nprobe;
        this.rerank = rerank;
        this.filter = filter;
    }

    /**
     * Only vectors whose record's payload matches {@code filter} are candidates (with {@link #allowedIds} too: those
     * of them that match). The index answers the filter from an inverted index of its payload fields and searches
     * the matching vectors exactly; a filter that matches nothing gives empty results, not an error. A filter on a
     * field no record has, or of the wrong type, is an error naming the field.
     */
    public SearchParams filter(Filter filter) {
        return new SearchParams(scan, allowedIds, nprobe, rerank, Objects.requireNonNull(filter, "filter"));
    }

    /** The payload filter, or null. */
    public Filter filter() {
        return filter;
    }

    /** These parameters with the filter answered: only {@code ids} allowed, no filter left. */
    SearchParams resolved(long[] ids) {
        return new SearchParams(scan, ids, nprobe, rerank, null);
    }

    /** The {@code k} best vectors per query ({@code min(k, candidates)} results). */
    public static SearchParams topK(int k) {
        return new SearchParams(ScanParams.topK(k), null, 0, 0);
    }

    /**
     * Every vector within {@code radius}: score ≥ radius for inner product and cosine, squared distance ≤
     * radius for L2; best first, ties by the lower row.
     */
    public static SearchParams within(float radius) {
        return new SearchParams(ScanParams.within(radius), null, 0, 0);
    }

    /**
     * A range search holds at most {@code max} results over all queries of the call, and throws
     * {@link dev.latent.compute.TooManyResultsException} before taking memory for more.
     */
    public SearchParams maxResults(long max) {
        return new SearchParams(scan.maxResults(max), allowedIds, nprobe, rerank, filter);
    }

    /**
     * Only vectors with these ids are candidates (repeats ignored); an id not in the index is an error naming
     * it. An approximate index searches the allowed vectors exactly (they are few, or the filter would not pay).
     */
    public SearchParams allowedIds(long... ids) {
        Objects.requireNonNull(ids, "allowedIds");
        return new SearchParams(scan, ids.clone(), nprobe, rerank, filter);
    }

    /** Inverted lists probed per query (≥ 1, at most the index's list count; all lists = exact search). */
    public SearchParams nprobe(int lists) {
        if (lists < 1) {
            throw new IllegalArgumentException("nprobe must be >= 1, got " + lists);
        }
        return new SearchParams(scan, allowedIds, lists, rerank, filter);
    }

    /**
     * Compressed-vector indexes score {@code factor · k} candidates on their codes and re-rank them exactly on
     * the float32 rows (≥ 1).
     */
    public SearchParams rerank(int factor) {
        if (factor < 1) {
            throw new IllegalArgumentException("rerank factor must be >= 1, got " + factor);
        }
        return new SearchParams(scan, allowedIds, nprobe, factor, filter);
    }

    /** k of a top-k search (0 for a range search). */
    public int k() {
        return scan.k();
    }

    /** Whether this is a range search. */
    public boolean isRange() {
        return scan.isRange();
    }

    /** The radius of a range search (NaN for top-k). */
    public float radius() {
        return scan.radius();
    }

    /** The most results a range search holds. */
    public long maxResults() {
        return scan.maxResults();
    }

    /** The backend-level parameters of the search over all rows: k or radius, and the result limit. */
    ScanParams scan() {
        return scan;
    }

    /** The allowed ids (a copy), or null for all vectors. */
    public long[] allowedIds() {
        return allowedIds == null ? null : allowedIds.clone();
    }

    /** Whether the search is restricted to {@link #allowedIds} or by a {@link #filter}. */
    public boolean filtered() {
        return allowedIds != null || filter != null;
    }

    /** Lists probed per query, or 0 for the index's default. */
    public int nprobe() {
        return nprobe;
    }

    /** Re-rank factor, or 0 for the index's default. */
    public int rerank() {
        return rerank;
    }

    /** The allowed ids without a copy, for the index package. */
    long[] allowedIdsShared() {
        return allowedIds;
    }

    @Override
    public String toString() {
        return (isRange() ? "within(" + radius() + ")" : "topK(" + k() + ")")
                + (maxResults() != Long.MAX_VALUE ? ", maxResults " + maxResults() : "")
                + (allowedIds != null ? ", " + allowedIds.length + " allowed ids" : "")
                + (filter != null ? ", filter " + Filter.format(filter) : "")
                + (nprobe > 0 ? ", nprobe " + nprobe : "") + (rerank > 0 ? ", rerank " + rerank : "");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SearchParams p && p.k() == k() && Float.compare(p.radius(), radius()) == 0
                && p.isRange() == isRange() && p.maxResults() == maxResults() && Arrays.equals(p.allowedIds, allowedIds)
                && p.nprobe == nprobe && p.rerank == rerank && Objects.equals(p.filter, filter);
    }

    @Override
    public int hashCode() {
        return Objects.hash(k(), radius(), isRange(), maxResults(), Arrays.hashCode(allowedIds), nprobe, rerank, filter);
    }
}
