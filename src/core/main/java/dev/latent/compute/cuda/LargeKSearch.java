package dev.latent.compute.cuda;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import java.util.Arrays;

/**
 * Exact top-k for a k above the largest bucket of the fused kernels ({@link CudaNative#MAX_K}): the scores
 * come from the device's distance blocks (of float rows, or of 8-bit codes), the selection is a sort on the
 * host. Such a k asks for a large part of the candidates anyway, so moving the score block to the host costs
 * about what moving the results would. Same contract as the kernels: best first, ties to the lower row,
 * scores bit-identical to the score blocks' ({@link CudaMatrix#distances}); a query whose candidate list is
 * shorter than the others is padded with id -1 and score NaN. Stateless.
 */
final class LargeKSearch {
    /** Largest score block held on the host per batch of queries: 64 Mi floats (256 MiB). */
    private static final long BLOCK_FLOATS = 1L << 26;

    private LargeKSearch() {}

    /** Where the scores come from: the scores of queries {@code [from, from + n)} against all rows into {@code out}. */
    interface ScoreBlocks {
        void scores(int from, int n, FloatMatrix out);
    }

    /**
     * @param subset ascending rows shared by every query, or null
     * @param offsets with {@code lists}, per-query candidate lists in CSR form, or null
     */
    static Neighbors search(CudaMatrix matrix, FloatMatrix queries, int q, int count, long rows, long[] subset,
            long[] offsets, long[] lists) {
        return search((from, n, out) -> matrix.distances(queries.rowsView(from, from + n), 0, rows, out),
                matrix.metric(), q, count, rows, subset, offsets, lists);
    }

    /** As above, the scores from {@code blocks} (the 8-bit codes' score blocks, for example). */
    static Neighbors search(ScoreBlocks blocks, Metric metric, int q, int count, long rows, long[] subset,
            long[] offsets, long[] lists) {
        long[] ids = new long[q * count];
        float[] scores = new float[q * count];
        int batch = (int) Math.max(1, Math.min(q, BLOCK_FLOATS / Math.max(1, rows)));
        long[] packed = new long[Math.toIntExact(subset != null ? subset.length
                : offsets != null ? longest(offsets, q) : rows)];
        try (FloatMatrix block = FloatMatrix.allocate(batch, Math.toIntExact(rows))) {
            for (int from = 0; from < q; from += batch) {
                int n = Math.min(batch, q - from);
                FloatMatrix out = n == batch ? block : block.rowsView(0, n);
                blocks.scores(from, n, out);
                for (int i = 0; i < n; i++) {
                    int query = from + i;
                    int m;
                    if (subset != null) {
                        m = pack(out, i, subset, 0, subset.length, metric, packed);
                    } else if (offsets != null) {
                        m = pack(out, i, lists, offsets[query], offsets[query + 1], metric, packed);
                    } else {
                        m = packAll(out, i, rows, metric, packed);
                    }
                    Arrays.sort(packed, 0, m);
                    int base = query * count;
                    for (int r = 0; r < count; r++) {
                        if (r < m) {
                            long row = packed[r] & 0xFFFF_FFFFL;
                            ids[base + r] = row;
                            scores[base + r] = out.get(i, (int) row);
                        } else {
                            ids[base + r] = -1;
                            scores[base + r] = Float.NaN;
                        }
                    }
                }
            }
        }
        return new Neighbors(q, count, ids, scores, metric);
    }

    private static long longest(long[] offsets, int q) {
        long max = 0;
        for (int i = 0; i < q; i++) {
            max = Math.max(max, offsets[i + 1] - offsets[i]);
        }
        return max;
    }

    private static int packAll(FloatMatrix out, int i, long rows, Metric metric, long[] packed) {
        for (int row = 0; row < rows; row++) {
            packed[row] = key(out.get(i, row), metric, row);
        }
        return (int) rows;
    }

    private static int pack(FloatMatrix out, int i, long[] rowList, long from, long to, Metric metric, long[] packed) {
        int m = 0;
        for (long j = from; j < to; j++) {
            int row = (int) rowList[(int) j];
            packed[m++] = key(out.get(i, row), metric, row);
        }
        return m;
    }

    /**
     * (score, row) as one long whose natural order is nearest first, then lower row: the high half is the
     * score made a sortable int (negated where higher is nearer; NaN last), the low half the row.
     */
    static long key(float score, Metric metric, int row) {
        float k = metric.higherIsNearer() ? -score : score;
        if (Float.isNaN(k)) {
            k = Float.POSITIVE_INFINITY;
        }
        if (k == 0f) {
            k = 0f; // -0 and +0 tie
        }
        int bits = Float.floatToRawIntBits(k);
        bits ^= (bits >> 31) & 0x7FFF_FFFF;
        return ((long) bits << 32) | (row & 0xFFFF_FFFFL);
    }
}
