package dev.latent.core;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * The one rule every stored or searched vector must meet, whatever the backend, so that a vector
 * accepted once can be scored everywhere:
 * <ul>
 *   <li>every component is finite (no NaN, no ±infinity);</li>
 *   <li>its squared norm, summed in float64, is at most {@link Float#MAX_VALUE} (the kernels keep
 *       squared norms in float32);</li>
 *   <li>under {@link Metric#COSINE}, its squared norm is at least {@link Float#MIN_NORMAL} (a zero or
 *       subnormal-norm vector has no direction that float32 can normalise).</li>
 * </ul>
 * The native CPU kernels ({@code latent_cpu_row_norms}) and the CUDA kernels (the norm-term kernel)
 * apply the same thresholds, in float64, where they compute norms; this class is the Java side of
 * the rule and the source of its messages. Stateless and thread-safe.
 */
public final class Vectors {
    /** Largest squared norm accepted (the kernels' float32 range). */
    public static final double MAX_SQUARED_NORM = Float.MAX_VALUE;
    /** Smallest squared norm accepted under cosine. */
    public static final double MIN_COSINE_SQUARED_NORM = Float.MIN_NORMAL;

    private Vectors() {
    }

    /**
     * Checks rows of {@code m} against the rule.
     *
     * @param what the role named in messages, for example {@code "query"} or {@code "database"}
     *     (null: rows are named plain {@code row N})
     * @param rowOffset added to row numbers in messages
     * @throws IllegalArgumentException for the first row that breaks the rule, naming it
     */
    public static void check(FloatMatrix m, Metric metric, String what, long rowOffset) {
        int d = m.cols();
        long step = Math.max(1, (8 << 20) / (4L * d));
        for (long r0 = 0; r0 < m.rows(); r0 += step) {
            long r1 = Math.min(m.rows(), r0 + step);
            FloatBuffer fb = m.bytes(r0, r1).asFloatBuffer();
            for (long r = r0; r < r1; r++) {
                double sq = 0;
                for (int c = 0; c < d; c++) {
                    float x = fb.get();
                    if (!Float.isFinite(x)) {
                        throw new IllegalArgumentException(name(what, r + rowOffset) + ", column " + c + " is " + x
                                + "; vectors must be finite");
                    }
                    sq += (double) x * x;
                }
                String p = normProblem(sq, metric);
                if (p != null) {
                    throw new IllegalArgumentException(name(what, r + rowOffset) + p);
                }
            }
        }
    }

    /** The error for row {@code row} of {@code m}, known to break the rule (found natively). */
    public static IllegalArgumentException describe(FloatMatrix m, Metric metric, String what, long row) {
        ByteBuffer b = m.bytes(row, row + 1);
        FloatBuffer fb = b.asFloatBuffer();
        double sq = 0;
        for (int c = 0; c < m.cols(); c++) {
            float x = fb.get(c);
            if (!Float.isFinite(x)) {
                return new IllegalArgumentException(name(what, row) + ", column " + c + " is " + x
                        + "; vectors must be finite");
            }
            sq += (double) x * x;
        }
        String p = normProblem(sq, metric);
        return new IllegalArgumentException(name(what, row) + (p != null ? p : " breaks the vector rule"));
    }

    /** Whether a squared norm (float64) passes the rule: null if it does, else the problem. */
    static String normProblem(double squaredNorm, Metric metric) {
        if (squaredNorm > MAX_SQUARED_NORM) {
            return " has a squared norm of " + squaredNorm + ", beyond float32 range; scale the vectors down";
        }
        if (metric == Metric.COSINE && squaredNorm < MIN_COSINE_SQUARED_NORM) {
            return squaredNorm == 0 ? " is a zero vector; cosine similarity needs non-zero vectors"
                    : " is too close to zero (squared norm " + squaredNorm + ") for cosine similarity in float32";
        }
        return null;
    }

    private static String name(String what, long row) {
        return (what == null ? "row " : what + " row ") + row;
    }

    /**
     * Scales each of the {@code rows} rows of {@code flat} ({@code dim} floats each, row-major) to unit L2 norm, the
     * norm summed in float64; a zero row stays zero.
     */
    public static void normalizeRows(float[] flat, int rows, int dim) {
        for (int i = 0; i < rows; i++) {
            double sq = 0;
            for (int c = 0; c < dim; c++) {
                sq += (double) flat[i * dim + c] * flat[i * dim + c];
            }
            if (sq > 0) {
                float inv = (float) (1 / Math.sqrt(sq));
                for (int c = 0; c < dim; c++) {
                    flat[i * dim + c] *= inv;
                }
            }
        }
    }

    /** Cosine of the angle between {@code a} and {@code b}, summed in float64; 0 when either is a zero vector. */
    public static double cosine(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("vectors of dimension " + a.length + " and " + b.length);
        }
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int j = 0; j < a.length; j++) {
            dot += (double) a[j] * b[j];
            na += (double) a[j] * a[j];
            nb += (double) b[j] * b[j];
        }
        return na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
    }
}
