package dev.latent.compute;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;

/** Argument checks and error messages shared by the backends, so every backend fails alike. */
final class Checks {
    private Checks() {
    }

    static void k(int k) {
        if (k <= 0) {
            throw new IllegalArgumentException("k must be >= 1, got k=" + k);
        }
    }

    /** Arguments of {@link Backend#prepare}: an open database matrix and a metric. */
    static void prepare(FloatMatrix database, dev.latent.core.Metric metric) {
        open(database, "database");
        if (metric == null) {
            throw new IllegalArgumentException("metric must not be null");
        }
    }

    static void open(FloatMatrix m, String what) {
        if (m == null) {
            throw new IllegalArgumentException(what + " must not be null");
        }
        if (m.isClosed()) {
            throw new IllegalArgumentException(what + " is closed");
        }
    }

    static void queries(FloatMatrix queries, int dimension) {
        open(queries, "queries");
        if (queries.cols() != dimension) {
            throw new IllegalArgumentException("dimension mismatch: queries have dimension " + queries.cols()
                    + ", the database has dimension " + dimension);
        }
        if (queries.rows() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("too many queries in one call: " + queries.rows()
                    + " (at most " + Integer.MAX_VALUE + ")");
        }
    }

    /** Checks a row subset: strictly ascending, each in [0, n). */
    static void subset(long[] rows, long n) {
        if (rows == null) {
            throw new IllegalArgumentException("rows must not be null");
        }
        long prev = -1;
        for (int i = 0; i < rows.length; i++) {
            long r = rows[i];
            if (r < 0 || r >= n) {
                throw new IllegalArgumentException("rows[" + i + "] = " + r + " is outside the database [0, " + n + ")");
            }
            if (r <= prev) {
                throw new IllegalArgumentException("rows must be strictly ascending: rows[" + i + "] = " + r
                        + " follows " + prev);
            }
            prev = r;
        }
    }

    static void range(long fromRow, long toRow, long n) {
        if (fromRow < 0 || toRow < fromRow || toRow > n) {
            throw new IllegalArgumentException("row range [" + fromRow + ", " + toRow + ") is outside the database [0, "
                    + n + ")");
        }
    }

    static void output(FloatMatrix out, long queries, long width) {
        open(out, "out");
        if (out.rows() != queries || out.cols() != width) {
            throw new IllegalArgumentException("out must be " + queries + " x " + width + " (queries x rows), got "
                    + out.rows() + " x " + out.cols());
        }
    }

    /**
     * The error for a row whose norm check failed: names the row and says what is wrong with it.
     *
     * @param what "query" or "database"
     */
    static IllegalArgumentException badRow(String what, FloatMatrix m, long row, Metric metric) {
        float[] v = m.getRow(row);
        for (int c = 0; c < v.length; c++) {
            if (!Float.isFinite(v[c])) {
                return new IllegalArgumentException(what + " row " + row + " contains " + v[c] + " at column " + c
                        + " (values must be finite)");
            }
        }
        boolean zero = true;
        for (float f : v) {
            zero &= f == 0f;
        }
        if (zero && metric == Metric.COSINE) {
            return new IllegalArgumentException(what + " row " + row
                    + " is a zero vector: cosine similarity is undefined for it");
        }
        return new IllegalArgumentException(what + " row " + row
                + " has a squared norm that overflows float32 (values too large)");
    }
}
