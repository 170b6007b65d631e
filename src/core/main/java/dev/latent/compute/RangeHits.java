package dev.latent.compute;

import dev.latent.core.Metric;

/**
 * Range-search results in CSR form: query {@code q}'s hits are entries
 * {@code [offset(q), offset(q + 1))} of {@link #rows()} and {@link #scores()}, best first, ties by the
 * lower row. Row indices are positions in the searched {@link ResidentMatrix}.
 *
 * <p>Immutable after construction (the arrays are shared, not copied); thread-safe.
 */
public final class RangeHits {
    private final long[] offsets;
    private final long[] rows;
    private final float[] scores;
    private final Metric metric;

    public RangeHits(long[] offsets, long[] rows, float[] scores, Metric metric) {
        if (offsets.length == 0 || offsets[0] != 0 || offsets[offsets.length - 1] != rows.length
                || rows.length != scores.length) {
            throw new IllegalArgumentException("inconsistent range results: " + offsets.length + " offsets, "
                    + rows.length + " rows, " + scores.length + " scores");
        }
        this.offsets = offsets;
        this.rows = rows;
        this.scores = scores;
        this.metric = metric;
    }

    public int queries() {
        return offsets.length - 1;
    }

    public Metric metric() {
        return metric;
    }

    public long offset(int q) {
        return offsets[q];
    }

    public int count(int q) {
        return (int) (offsets[q + 1] - offsets[q]);
    }

    public long total() {
        return rows.length;
    }

    /** All hit rows, query after query (shared array: do not change). */
    public long[] rows() {
        return rows;
    }

    /** All hit scores, query after query (shared array: do not change). */
    public float[] scores() {
        return scores;
    }

    /** Copies a native range result into the arrays given: per-query offsets, rows and scores. */
    public interface NativeFetch {
        void into(long[] offsets, long[] rows, float[] scores);
    }

    /**
     * A native range result of {@code total} hits over {@code queries} queries: allocates the arrays, fills
     * them through {@code fetch} (which frees the native result) and sorts them; when the arrays cannot be
     * allocated (too many hits for Java arrays, or memory), runs {@code free} and rethrows.
     */
    public static RangeHits fetched(int queries, long total, Metric metric, Runnable free, NativeFetch fetch) {
        long[] offsets = new long[queries + 1];
        long[] rows;
        float[] scores;
        try {
            rows = new long[Math.toIntExact(total)];
            scores = new float[rows.length];
        } catch (ArithmeticException | OutOfMemoryError e) {
            free.run();
            throw e;
        }
        fetch.into(offsets, rows, scores);
        return sorted(offsets, rows, scores, metric);
    }

    /**
     * Sorts each query's hits best first, ties by the lower row: hits given in any order as
     * (row, score) pairs per query become this class's order. Hits are packed into one long each
     * (the score as order-preserving int bits, then the row), so sorting is a primitive sort.
     */
    public static RangeHits sorted(long[] offsets, long[] rows, float[] scores, Metric metric) {
        boolean higher = metric.higherIsNearer();
        long[] keys = new long[rows.length];
        for (int q = 0; q + 1 < offsets.length; q++) {
            int a = (int) offsets[q];
            int b = (int) offsets[q + 1];
            for (int i = a; i < b; i++) {
                if (rows[i] < 0 || rows[i] > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("row " + rows[i] + " outside what range results hold");
                }
                int bits = Float.floatToIntBits(higher ? -scores[i] : scores[i]);
                bits ^= (bits >> 31) & 0x7fffffff;   // float order becomes signed int order
                keys[i] = ((long) bits << 32) | rows[i];
            }
            java.util.Arrays.sort(keys, a, b);
        }
        long[] outRows = new long[rows.length];
        float[] outScores = new float[rows.length];
        for (int i = 0; i < keys.length; i++) {
            int bits = (int) (keys[i] >> 32);
            bits ^= (bits >> 31) & 0x7fffffff;
            float s = Float.intBitsToFloat(bits);
            outRows[i] = keys[i] & 0xffffffffL;
            outScores[i] = higher ? -s : s;
        }
        return new RangeHits(offsets, outRows, outScores, metric);
    }
}
