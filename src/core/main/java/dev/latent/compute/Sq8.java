package dev.latent.compute;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Vectors;
import java.util.Arrays;

/**
 * A trained 8-bit scalar quantiser: one unsigned byte per dimension, affine per dimension (the
 * {@code QT_8bit} scheme of FAISS). Rows encoded with it are held by {@link Backend#uploadCodes} and
 * searched approximately by integer kernels, at a quarter of the memory and memory traffic of float32 rows.
 *
 * <p><b>Encoding.</b> Trained per dimension {@code t}: {@code vmin[t]} and
 * {@code vscale[t] = (vmax[t] - vmin[t]) / 255} (the minimum and maximum over a sample; a dimension with
 * one value gets scale 0 and encodes to 0); a row {@code x} encodes to
 * {@code code[t] = clamp(round((x[t] - vmin[t]) / vscale[t]), 0, 255)} and decodes to
 * {@code x̂[t] = vmin[t] + code[t] * vscale[t]}, so {@code |x[t] - x̂[t]| ≤ vscale[t] / 2} for values inside the
 * trained range (values outside are clamped to it). Per dimension rather than per vector because the
 * dimensions of embeddings have different ranges: one range per vector would spend most of the 256 levels of
 * narrow dimensions on values they never take. Under {@link Metric#COSINE} rows are scaled to unit length
 * first (training too), so the codes hold directions. Rounding is to nearest, ties to even; every float step
 * is one IEEE operation and float sums are taken in float64 in index order, so the native encoder and this
 * class produce the same codes bit for bit.
 *
 * <p><b>Scores</b> (what a search over codes returns). The per-dimension scale is folded into the query,
 * {@code q'[t] = q[t] * vscale[t]}, and {@code q'} is quantised once per query to integers {@code c[t]} in
 * {@code [-Q, Q]} with one step {@code b = max|q'| / Q}. Then
 * {@code q·x̂ ≈ b * Σ c[t] * code[t] + Σ q[t] * vmin[t]}, where the integer sum is exact (int32 in the
 * kernels) and read as float: {@code (float) S * b + o}. {@code Q} is 127 where the CPU has AVX-512 VNNI
 * ({@code vpdpbusd}, unsigned × signed bytes summed in int32) and on the scalar level, 63 on AVX2
 * ({@code vpmaddubsw} sums two byte products in int16, which {@code 2 * 255 * 63 = 32130} cannot saturate):
 * see {@link ResidentCodes#queryLevels()}. Inner product scores are that dot product; cosine scores are the
 * same with the query normalised, i.e. the cosine of {@code q} and the decoded unit vector (not normalised
 * again, so it may pass 1 by the quantisation error); squared L2 scores are
 * {@code |q|² + |x̂|² - 2 q·x̂} clamped at 0, with {@code |x̂|²} of the decoded row stored at encoding. All
 * are approximations: re-rank a few times k candidates with the exact float32 search
 * ({@link ScanParams#candidates}) where exact scores or order matter.
 *
 * <p>Immutable and thread-safe; accessors return copies.
 */
public final class Sq8 {
    /** The largest code: codes are 0 .. 255. */
    public static final int MAX_CODE = 255;

    private final Metric metric;
    private final float[] vmin;
    private final float[] vscale;

    private Sq8(Metric metric, float[] vmin, float[] vscale) {
        this.metric = metric;
        this.vmin = vmin;
        this.vscale = vscale;
    }

    /**
     * Trains on {@code sample}: the minimum and maximum of every dimension over its rows (unit rows under
     * cosine). The rows to encode later should come from the same distribution; values outside the sample's
     * range are clamped at encoding.
     *
     * @throws IllegalArgumentException for an empty sample, a null metric or a row that breaks the vector rule
     */
    public static Sq8 train(FloatMatrix sample, Metric metric) {
        Checks.upload(sample, metric);
        if (sample.rows() == 0) {
            throw new IllegalArgumentException("an 8-bit quantiser needs at least one sample row");
        }
        Vectors.check(sample, metric, "sample", 0);
        int d = sample.cols();
        float[] lo = new float[d];
        float[] hi = new float[d];
        Arrays.fill(lo, Float.POSITIVE_INFINITY);
        Arrays.fill(hi, Float.NEGATIVE_INFINITY);
        float[] row = new float[d];
        float[] unit = new float[d];
        for (long r = 0; r < sample.rows(); r++) {
            float[] u = scored(sample.getRow(r, row), metric, unit);
            for (int t = 0; t < d; t++) {
                lo[t] = Math.min(lo[t], u[t]);
                hi[t] = Math.max(hi[t], u[t]);
            }
        }
        float[] scale = new float[d];
        for (int t = 0; t < d; t++) {
            scale[t] = (hi[t] - lo[t]) / MAX_CODE;
        }
        return new Sq8(metric, lo, scale);
    }

    /**
     * A quantiser from stored terms (for example read back with an index): {@code d} finite {@code vmin}
     * and {@code d} finite {@code vscale ≥ 0}; the arrays are copied.
     */
    public static Sq8 of(Metric metric, float[] vmin, float[] vscale) {
        if (metric == null) {
            throw new IllegalArgumentException("metric must not be null");
        }
        if (vmin.length == 0 || vmin.length != vscale.length) {
            throw new IllegalArgumentException("vmin and vscale need one value per dimension, got " + vmin.length
                    + " and " + vscale.length);
        }
        for (int t = 0; t < vmin.length; t++) {
            if (!Float.isFinite(vmin[t]) || !Float.isFinite(vscale[t]) || vscale[t] < 0) {
                throw new IllegalArgumentException("dimension " + t + ": vmin " + vmin[t] + ", vscale " + vscale[t]
                        + " (both finite, vscale >= 0)");
            }
        }
        return new Sq8(metric, vmin.clone(), vscale.clone());
    }

    /** The metric the quantiser was trained for (cosine: on unit rows); codes are searched under it. */
    public Metric metric() {
        return metric;
    }

    public int dimension() {
        return vmin.length;
    }

    /** Per-dimension offsets (a copy). */
    public float[] vmin() {
        return vmin.clone();
    }

    /** Per-dimension steps (a copy). */
    public float[] vscale() {
        return vscale.clone();
    }

    /** Bytes per encoded row: the dimension rounded up to a multiple of 4 (the kernels read 4-byte groups; pad bytes are 0). */
    public int stride() {
        return stride(dimension());
    }

    static int stride(int d) {
        return (d + 3) / 4 * 4;
    }

    /**
     * Encodes {@code x} (a row meeting the vector rule, normalised here under cosine) into
     * {@code codes[offset .. offset + stride())}; returns {@code |x̂|²} of the decoded row (float64 sum, the
     * per-row term squared L2 scores use).
     */
    public float encode(float[] x, byte[] codes, int offset) {
        float[] u = scored(x, metric, new float[x.length]);
        int d = dimension();
        double sq = 0;
        for (int t = 0; t < d; t++) {
            float v = vscale[t] > 0 ? clamp((u[t] - vmin[t]) / vscale[t], 0, MAX_CODE) : 0;
            int code = (int) Math.rint(v);
            codes[offset + t] = (byte) code;
            float xh = vmin[t] + code * vscale[t];
            sq += (double) xh * xh;
        }
        Arrays.fill(codes, offset + d, offset + stride(), (byte) 0);
        return (float) sq;
    }

    /** The decoded row of {@code codes[offset ...]} into {@code out} (length {@link #dimension()}); returns out. */
    public float[] decode(byte[] codes, int offset, float[] out) {
        for (int t = 0; t < dimension(); t++) {
            out[t] = vmin[t] + (codes[offset + t] & 0xFF) * vscale[t];
        }
        return out;
    }

    /**
     * A query quantised for scoring against codes: components {@code c[t]} in {@code [-Q, Q]}, the step
     * {@code b}, the offset {@code o = Σ q[t] * vmin[t]} and {@code |q|²} (of the unit query under cosine).
     */
    public record Query(int[] codes, float step, float offset, float squaredNorm) {
    }

    /**
     * Quantises {@code q} (a query meeting the vector rule) with {@code levels} = Q as the search kernels do:
     * {@code q'[t] = q[t] * vscale[t]}, {@code m = max |q'[t]|}, {@code c[t] = round(clamp(q'[t] * (Q / m), -Q, Q))}
     * (0 when {@code m == 0}), {@code b = m / Q}.
     */
    public Query quantise(float[] q, int levels) {
        int d = dimension();
        float[] u = scored(q, metric, new float[d]);
        float[] scaled = new float[d];
        float m = 0;
        for (int t = 0; t < d; t++) {
            scaled[t] = u[t] * vscale[t];
            m = Math.max(m, Math.abs(scaled[t]));
        }
        int[] c = new int[d];
        float lv = levels;
        if (m > 0) {
            float r = lv / m;
            for (int t = 0; t < d; t++) {
                c[t] = (int) Math.rint(clamp(scaled[t] * r, -lv, lv));
            }
        }
        double offset = 0;
        double sq = 0;
        for (int t = 0; t < d; t++) {
            offset += (double) u[t] * vmin[t];
            sq += (double) u[t] * u[t];
        }
        return new Query(c, m > 0 ? m / lv : 0, (float) offset, (float) sq);
    }

    /**
     * The approximate score of a quantised query against the row encoded at {@code codes[offset ...]}, with
     * {@code rowSquaredNorm} = {@code |x̂|²} from {@link #encode} (used by squared L2 only): the integer sum
     * {@code S = Σ c[t] * code[t]} (exact), {@code dot = (float) S * b + o}, then the dot (inner product,
     * cosine) or {@code max(0, |q|² + |x̂|² - 2 dot)} (squared L2), in the float steps of the kernels.
     */
    public float score(Query q, byte[] codes, int offset, float rowSquaredNorm) {
        int[] c = q.codes();
        long s = 0;
        for (int t = 0; t < c.length; t++) {
            s += (long) c[t] * (codes[offset + t] & 0xFF);
        }
        float dot = (float) s * q.step() + q.offset();
        if (metric != Metric.L2) {
            return dot;
        }
        float v = q.squaredNorm() + rowSquaredNorm - 2.0f * dot;
        return v > 0 ? v : 0;
    }

    /**
     * The row as it is encoded or scored: {@code x} itself, or under cosine {@code x} scaled to unit length
     * into {@code buf} ({@code x[t] * (1 / sqrt(Σ x²))}, the factor in float64).
     */
    public static float[] scored(float[] x, Metric metric, float[] buf) {
        if (metric != Metric.COSINE) {
            return x;
        }
        double sq = 0;
        for (float v : x) {
            sq += (double) v * v;
        }
        double inv = 1.0 / Math.sqrt(sq);
        for (int t = 0; t < x.length; t++) {
            buf[t] = (float) (x[t] * inv);
        }
        return buf;
    }

    private static float clamp(float v, float lo, float hi) {
        return v < lo ? lo : (v > hi ? hi : v);
    }

    @Override
    public String toString() {
        return "Sq8[d=" + dimension() + ", " + metric + "]";
    }
}
