package dev.latent.compute.java;

import dev.latent.compute.Backend;
import dev.latent.compute.HostCodes;
import dev.latent.compute.Sq8;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.core.Vectors;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * The reference search over 8-bit codes: {@link Sq8#encode} and {@link Sq8#score} (the integer sums in
 * Java longs, the float steps of the kernels), a bounded heap per query, queries in parallel on the common
 * fork-join pool. With the query levels of a native kernel level its results equal that level's bit for bit.
 * Codes live in one Java array, so at most {@link Integer#MAX_VALUE} bytes of them.
 */
final class JavaCodes extends HostCodes {
    /** Q of the reference by default, as on the AVX-512 VNNI and scalar native levels. */
    static final int DEFAULT_LEVELS = 127;

    private final int levels;
    private final int stride;
    private byte[] codes = new byte[0];
    private float[] norms = new float[0];  // |x̂|² per row (read by squared L2)

    JavaCodes(Backend backend, Metric metric, Sq8 quantizer, int levels) {
        super(backend, metric, quantizer);
        this.levels = levels;
        this.stride = quantizer.stride();
    }

    @Override
    public int queryLevels() {
        return levels;
    }

    @Override
    protected void add(FloatMatrix newRows, long from) {
        long total = from + newRows.rows();
        if (total * stride > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("the Java backend holds at most " + ((Integer.MAX_VALUE - 8) / stride)
                    + " rows of 8-bit codes at dimension " + quantizer.dimension() + ", asked for " + total);
        }
        Vectors.check(newRows, metric, "database", from);
        int n = (int) total;
        if (n > norms.length) {
            int cap = (int) Math.min((Integer.MAX_VALUE - 8) / stride, Math.max(n, 2L * norms.length));
            codes = Arrays.copyOf(codes, cap * stride);
            norms = Arrays.copyOf(norms, cap);
        }
        encodeRows(newRows, 0, newRows.rows(), from);
    }

    /** Encodes rows [r0, r1) of {@code m} into positions from {@code at}. */
    private void encodeRows(FloatMatrix m, long r0, long r1, long at) {
        float[] row = new float[m.cols()];
        for (long r = r0; r < r1; r++) {
            int i = (int) (at + r - r0);
            norms[i] = quantizer.encode(m.getRow(r, row), codes, i * stride);
        }
    }

    @Override
    protected void patch(FloatMatrix all, long[] changed) {
        for (long r : changed) {
            FloatMatrix one = all.rowsView(r, r + 1);
            Vectors.check(one, metric, "database", r);
            encodeRows(one, 0, 1, r);
        }
    }

    @Override
    protected Neighbors topK(FloatMatrix queries, long rows, int count, long[] offsets, long[] lists) {
        int nq = (int) queries.rows();
        long[] ids = new long[nq * count];
        float[] scores = new float[nq * count];
        if (count > 0) {
            byte[] c = codes;
            float[] xn = norms;
            IntStream.range(0, nq).parallel().forEach(i -> {
                Sq8.Query q = quantizer.quantise(queries.getRow(i), levels);
                JavaBackend.Heap h = new JavaBackend.Heap(count);
                long from = offsets == null ? 0 : offsets[i];
                long to = offsets == null ? rows : offsets[i + 1];
                for (long j = from; j < to; j++) {
                    int r = (int) (offsets == null ? j : lists[(int) j]);
                    float s = quantizer.score(q, c, r * stride, xn[r]);
                    h.offer(metric.higherIsNearer() ? s : -s, r);
                }
                h.drainBestFirst(ids, scores, i * count, count, metric);
            });
        }
        return new Neighbors(nq, count, ids, scores, metric);
    }

    @Override
    protected long heldBytes() {
        return codes.length + 4L * norms.length;
    }

    @Override
    protected void release() {
        codes = new byte[0];
        norms = new float[0];
    }
}
