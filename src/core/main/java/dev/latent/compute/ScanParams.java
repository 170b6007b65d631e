package dev.latent.compute;

import java.util.Objects;

/**
 * What one search call asks for: a top-k ({@link #topK}) or a range search ({@link #within}), over all
 * rows, one set of rows shared by every query ({@link #rows}), or a candidate list per query in CSR form
 * ({@link #candidates}), the way an inverted-file index hands its probed lists to the kernels.
 *
 * <p>Top-k results hold {@code min(k, candidates)} entries per query; with per-query lists, every query
 * gets {@code min(k, longest list)} entries and a query whose list is shorter is padded with id -1 and
 * score NaN after its real results. Range search takes all rows or a shared row set.
 *
 * <p>Immutable; the arrays are not copied (do not change them while a call runs).
 */
public final class ScanParams {
    private final int k;
    private final float radius;
    private final boolean range;
    private final long maxResults;
    private final long[] rows;
    private final long[] offsets;
    private final long[] lists;

    private ScanParams(int k, float radius, boolean range, long maxResults, long[] rows, long[] offsets,
            long[] lists) {
        this.k = k;
        this.radius = radius;
        this.range = range;
        this.maxResults = maxResults;
        this.rows = rows;
        this.offsets = offsets;
        this.lists = lists;
    }

    /** The {@code k} best rows per query. */
    public static ScanParams topK(int k) {
        Checks.k(k);
        return new ScanParams(k, Float.NaN, false, Long.MAX_VALUE, null, null, null);
    }

    /** Every row with score ≥ {@code radius} (inner product, cosine) or squared distance ≤ it (L2). */
    public static ScanParams within(float radius) {
        if (Float.isNaN(radius)) {
            throw new IllegalArgumentException("radius is NaN");
        }
        return new ScanParams(0, radius, true, Long.MAX_VALUE, null, null, null);
    }

    /** At most this many results held by one range call (default: no limit). */
    public ScanParams maxResults(long max) {
        if (max < 0) {
            throw new IllegalArgumentException("maxResults must be >= 0, got " + max);
        }
        return new ScanParams(k, radius, range, max, rows, offsets, lists);
    }

    /** The same candidate rows for every query: strictly ascending row indices. */
    public ScanParams rows(long[] ascendingRows) {
        Objects.requireNonNull(ascendingRows, "rows");
        return new ScanParams(k, radius, range, maxResults, ascendingRows, null, null);
    }

    /**
     * A candidate list per query in CSR form: query {@code i}'s candidates are
     * {@code rows[offsets[i]] .. rows[offsets[i + 1] - 1]}, strictly ascending; {@code offsets} has one
     * entry per query plus one, starting at 0 and never decreasing.
     */
    public ScanParams candidates(long[] offsets, long[] rows) {
        Objects.requireNonNull(offsets, "offsets");
        Objects.requireNonNull(rows, "rows");
        if (range) {
            throw new IllegalArgumentException("range search takes all rows or one shared row set, not per-query lists");
        }
        return new ScanParams(k, radius, range, maxResults, null, offsets, rows);
    }

    public int k() {
        return k;
    }

    public boolean isRange() {
        return range;
    }

    public float radius() {
        return radius;
    }

    public long maxResults() {
        return maxResults;
    }

    /** The shared candidate rows, or null. */
    public long[] rows() {
        return rows;
    }

    /** CSR offsets of per-query candidate lists, or null. */
    public long[] listOffsets() {
        return offsets;
    }

    /** CSR rows of per-query candidate lists, or null. */
    public long[] listRows() {
        return lists;
    }

    @Override
    public String toString() {
        return (range ? "within(" + radius + ")" : "topK(" + k + ")")
                + (rows != null ? ".rows(" + rows.length + ")" : "")
                + (offsets != null ? ".candidates(" + (offsets.length - 1) + " lists)" : "")
                + (maxResults != Long.MAX_VALUE ? ".maxResults(" + maxResults + ")" : "");
    }
}
