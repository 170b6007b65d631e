package dev.latent.analyse;

import dev.latent.core.FloatMatrix;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;

/** Row helpers shared by the analyses: samples, copies, unit length. Stateless. */
final class Rows {
    private Rows() {
    }

    /** {@code m} distinct row indices of {@code [0, n)}, ascending, drawn uniformly (Floyd's algorithm). */
    static long[] sampleRows(SplittableRandom random, long n, long m) {
        if (m > n || m < 0) {
            throw new IllegalArgumentException("cannot sample " + m + " of " + n + " rows");
        }
        if (m == n) {
            long[] all = new long[(int) n];
            for (int i = 0; i < n; i++) {
                all[i] = i;
            }
            return all;
        }
        if (m > n / 2) { // dense: a partial shuffle of all indices
            long[] idx = new long[(int) n];
            for (int i = 0; i < n; i++) {
                idx[i] = i;
            }
            for (int i = 0; i < m; i++) {
                int j = i + random.nextInt((int) (n - i));
                long t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
            }
            long[] out = Arrays.copyOf(idx, (int) m);
            Arrays.sort(out);
            return out;
        }
        Set<Long> chosen = new HashSet<>((int) Math.min(Integer.MAX_VALUE, m * 2));
        for (long j = n - m; j < n; j++) {
            long t = random.nextLong(j + 1);
            chosen.add(chosen.contains(t) ? j : t);
        }
        long[] out = chosen.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(out);
        return out;
    }

    /** A new matrix holding the given rows of {@code m}, in that order; the caller closes it. */
    static FloatMatrix copyOf(FloatMatrix m, long[] rows) {
        int d = m.cols();
        FloatMatrix out = FloatMatrix.allocate(rows.length, d);
        float[] row = new float[d];
        for (int i = 0; i < rows.length; i++) {
            m.getRow(rows[i], row);
            out.setRow(i, row);
        }
        return out;
    }

    /**
     * {@code null} when every row of {@code m} already has unit length (within 1e-3 in squared norm), else
     * a unit-length copy (rows with norm 0 are left at 0, and are refused later by the vector rule).
     */
    static FloatMatrix unitCopyIfNeeded(FloatMatrix m) {
        int d = m.cols();
        float[] row = new float[d];
        long n = m.rows();
        boolean unit = true;
        for (long i = 0; i < n && unit; i++) {
            m.getRow(i, row);
            double ss = 0;
            for (float v : row) {
                ss += (double) v * v;
            }
            unit = Math.abs(ss - 1.0) <= 1e-3;
        }
        if (unit) {
            return null;
        }
        FloatMatrix out = FloatMatrix.allocate(n, d);
        for (long i = 0; i < n; i++) {
            m.getRow(i, row);
            normalise(row, 0, d);
            out.setRow(i, row);
        }
        return out;
    }

    /** Scales {@code v[off, off + d)} to unit length in float64; a zero or non-finite row is left as is. */
    static void normalise(float[] v, int off, int d) {
        double ss = 0;
        for (int c = 0; c < d; c++) {
            ss += (double) v[off + c] * v[off + c];
        }
        if (!(ss > 0) || Double.isInfinite(ss)) {
            return;
        }
        double inv = 1.0 / Math.sqrt(ss);
        for (int c = 0; c < d; c++) {
            v[off + c] = (float) (v[off + c] * inv);
        }
    }
}
