package dev.latent.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;

/**
 * Test helpers: random inputs and a float64 check of one backend's results against another's.
 *
 * <p>Tolerance. Float32 sums of d products carry an error proportional to the sum of the
 * magnitudes of the products, which Cauchy-Schwarz bounds by |q| |x|; so a score must lie within
 * {@code REL * scale} of the exact float64 value, where scale is |q| |x| for inner product, 1 for
 * cosine and |q|^2 + |x|^2 for squared L2 (the three terms of |q|^2 + |x|^2 - 2 q.x; this is also
 * how L2 near 0 is judged: a distance of 1e-7 against exact 0 passes when the norms are about 1).
 */
public final class Reference {
    static final double REL = 1e-4;

    /** Cosine of {@code a} and {@code b} in float64: three dot products, written apart from the library's. */
    public static double cosine(float[] a, float[] b) {
        return dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
    }


    private Reference() {
    }

    /** A seed for this test: -Dlatent.test.seed when given, else fresh. */
    static long seed() {
        String s = System.getProperty("latent.test.seed");
        return s != null ? Long.parseLong(s) : new Random().nextLong();
    }

    static FloatMatrix gaussian(long rows, int d, Random rnd) {
        FloatMatrix m = FloatMatrix.allocate(rows, d);
        float[] row = new float[d];
        for (long r = 0; r < rows; r++) {
            for (int c = 0; c < d; c++) {
                row[c] = (float) rnd.nextGaussian();
            }
            m.setRow(r, row);
        }
        return m;
    }

    /** Small integers in [-2, 2], so dot products and norms are exact in float32 and ties are real. */
    static FloatMatrix integers(long rows, int d, Random rnd) {
        FloatMatrix m = FloatMatrix.allocate(rows, d);
        float[] row = new float[d];
        for (long r = 0; r < rows; r++) {
            boolean zero = true;
            for (int c = 0; c < d; c++) {
                row[c] = rnd.nextInt(5) - 2;
                zero &= row[c] == 0;
            }
            if (zero) {
                row[0] = 1;  // keep cosine defined
            }
            m.setRow(r, row);
        }
        return m;
    }

    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    static double exact(Metric m, float[] q, float[] x) {
        switch (m) {
            case L2: {
                double s = 0;
                for (int i = 0; i < q.length; i++) {
                    double d = (double) q[i] - x[i];
                    s += d * d;
                }
                return s;
            }
            case COSINE:
                return dot(q, x) / Math.sqrt(dot(q, q) * dot(x, x));
            default:
                return dot(q, x);
        }
    }

    static double scale(Metric m, float[] q, float[] x) {
        switch (m) {
            case L2: return dot(q, q) + dot(x, x);
            case COSINE: return 1;
            default: return Math.sqrt(dot(q, q) * dot(x, x));
        }
    }

    static double tol(Metric m, float[] q, float[] x) {
        return REL * scale(m, q, x) + 1e-30;
    }

    /**
     * Checks {@code got} against the reference {@code ref} (same query block, same k or a
     * larger one whose prefix is used): same count, valid distinct ids, each score within
     * tolerance of its exact value, exactly tied rows with equal scores in ascending id order, and at every
     * rank where the ids differ, exact scores equal within tolerance (a near-tie).
     */
    static void assertSameTopK(String ctx, FloatMatrix queries, FloatMatrix db, long[] subset, Metric metric,
                               int k, Neighbors got, Neighbors ref) {
        long candidates = subset == null ? db.rows() : subset.length;
        int count = (int) Math.min(k, candidates);
        assertEquals(count, got.count(), ctx + ": result count");
        assertEquals(queries.rows(), got.queries(), ctx + ": query count");
        Set<Long> allowed = null;
        if (subset != null) {
            allowed = new HashSet<>();
            for (long r : subset) {
                allowed.add(r);
            }
        }
        float[][] rowsOf = db.toArray();
        for (int qi = 0; qi < got.queries(); qi++) {
            float[] q = queries.getRow(qi);
            Set<Long> seen = new HashSet<>();
            for (int r = 0; r < count; r++) {
                long id = got.id(qi, r);
                long refId = ref.id(qi, r);
                if (id < 0 || id >= db.rows()) {
                    fail(at(ctx, qi, r) + ": id " + id + " out of range");
                }
                if (allowed != null && !allowed.contains(id)) {
                    fail(at(ctx, qi, r) + ": id " + id + " is not in the subset");
                }
                if (!seen.add(id)) {
                    fail(at(ctx, qi, r) + ": id " + id + " repeated");
                }
                float[] x = rowsOf[(int) id];
                double exactGot = exact(metric, q, x);
                double t = tol(metric, q, x);
                float score = got.score(qi, r);
                if (Math.abs(score - exactGot) > t) {
                    fail(at(ctx, qi, r) + ": score " + score + " for id " + id + ", exact " + exactGot + ", tolerance " + t);
                }
                if (r > 0 && got.id(qi, r - 1) > id && got.score(qi, r - 1) == score
                        && exact(metric, q, rowsOf[(int) got.id(qi, r - 1)]) == exactGot) {
                    fail(at(ctx, qi, r) + ": exactly tied rows not in ascending id order (" + got.id(qi, r - 1)
                            + " before " + id + ", score " + score + ")");
                }
                if (id != refId) {
                    float[] xr = rowsOf[(int) refId];
                    double exactRef = exact(metric, q, xr);
                    double tt = Math.max(t, tol(metric, q, xr)) * 2;
                    if (Math.abs(exactGot - exactRef) > tt) {
                        fail(at(ctx, qi, r) + ": id " + id + " (exact " + exactGot + ") where the reference has id " + refId
                                + " (exact " + exactRef + "), difference beyond tolerance " + tt);
                    }
                }
            }
        }
    }

    private static String at(String ctx, int query, int rank) {
        return ctx + ", query " + query + ", rank " + rank;
    }

    /** Exact equality of ids (for inputs whose scores are exact in float32). */
    static void assertSameIds(String ctx, Neighbors got, Neighbors ref) {
        assertEquals(ref.count(), got.count(), ctx + ": result count");
        for (int qi = 0; qi < ref.queries(); qi++) {
            for (int r = 0; r < ref.count(); r++) {
                if (got.id(qi, r) != ref.id(qi, r)) {
                    fail(ctx + ", query " + qi + ", rank " + r + ": id " + got.id(qi, r) + " (score "
                            + got.score(qi, r) + "), reference id " + ref.id(qi, r) + " (score " + ref.score(qi, r)
                            + ")");
                }
            }
        }
    }
}
