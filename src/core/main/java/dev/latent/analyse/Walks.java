package dev.latent.analyse;

import dev.latent.core.FloatMatrix;
import java.util.Objects;

/**
 * Walks through a latent space: points between two vectors, centroids, vector arithmetic and moves along
 * a direction. Each method returns the points as a new {@link FloatMatrix} (one row per point, closed by the
 * caller), ready for a nearest-neighbour look-up that shows which items lie along the way:
 *
 * <pre>{@code
 * try (FloatMatrix path = Walks.slerp(puppy, oldDog, 6)) {
 *     Neighbors along = index.search(path, 3);
 * }
 * }</pre>
 *
 * All arithmetic is in float64, rounded once to float32 at the end. Stateless and thread-safe.
 */
public final class Walks {
    private Walks() {}

    /**
     * {@code steps} points evenly spaced on the segment from {@code a} to {@code b}, both ends included:
     * {@code a + t (b − a)} for {@code t = 0, 1/(steps−1), …, 1}.
     */
    public static FloatMatrix lerp(float[] a, float[] b, int steps) {
        check(a, b, steps);
        int d = a.length;
        float[] out = new float[steps * d];
        for (int s = 0; s < steps; s++) {
            double t = (double) s / (steps - 1);
            for (int j = 0; j < d; j++) {
                out[s * d + j] = (float) (a[j] + t * ((double) b[j] - a[j]));
            }
        }
        return FloatMatrix.of(out, d);
    }

    /**
     * {@code steps} points on the great circle from {@code a}'s direction to {@code b}'s (both ends
     * included), with the length interpolated linearly between {@code |a|} and {@code |b|}: unit vectors
     * give unit vectors, so the path stays on the sphere where cosine embeddings live.
     *
     * <p>Between two vectors of the same direction every point has that direction (the angle is 0). Between
     * opposite directions the great circle is not unique (every half circle through both is one), so this
     * throws and says so: use {@link #lerp}, or go through a chosen third point in two steps.
     *
     * @throws IllegalArgumentException a zero or non-finite vector, opposite directions, mismatched
     *     dimensions or fewer than 2 steps
     */
    public static FloatMatrix slerp(float[] a, float[] b, int steps) {
        check(a, b, steps);
        int d = a.length;
        double na = norm(a);
        double nb = norm(b);
        if (na == 0 || nb == 0) {
            throw new IllegalArgumentException("spherical interpolation needs two non-zero vectors (|a| = " + na + ", |b| = " + nb + ")");
        }
        double dot = 0;
        for (int j = 0; j < d; j++) {
            dot += (a[j] / na) * (b[j] / nb);
        }
        dot = Math.max(-1, Math.min(1, dot));
        double omega = Math.acos(dot);
        if (Math.PI - omega < 1e-6) {
            throw new IllegalArgumentException("the two vectors point in opposite directions (angle "
                    + String.format(java.util.Locale.ROOT, "%.6f", omega) + " rad): the great circle between them is not"
                    + " unique; use linear interpolation, or go through a third point");
        }
        float[] out = new float[steps * d];
        double sin = Math.sin(omega);
        for (int s = 0; s < steps; s++) {
            double t = (double) s / (steps - 1);
            double wa;
            double wb;
            if (omega < 1e-9) {  // same direction: the path is that direction
                wa = 1 - t;
                wb = t;
            } else {
                wa = Math.sin((1 - t) * omega) / sin;
                wb = Math.sin(t * omega) / sin;
            }
            double len = (1 - t) * na + t * nb;
            double[] u = new double[d];
            double un = 0;
            for (int j = 0; j < d; j++) {
                u[j] = wa * a[j] / na + wb * b[j] / nb;
                un += u[j] * u[j];
            }
            un = Math.sqrt(un);
            for (int j = 0; j < d; j++) {
                out[s * d + j] = (float) (u[j] / un * len);
            }
        }
        return FloatMatrix.of(out, d);
    }

    /** The mean of the given rows of {@code m} (all rows when {@code rows} is null): one row. */
    public static FloatMatrix centroid(FloatMatrix m, long[] rows) {
        Objects.requireNonNull(m, "m");
        long n = rows == null ? m.rows() : rows.length;
        if (n == 0) {
            throw new IllegalArgumentException("the centroid of no vectors is undefined");
        }
        int d = m.cols();
        double[] acc = new double[d];
        float[] row = new float[d];
        for (long i = 0; i < n; i++) {
            m.getRow(rows == null ? i : rows[(int) i], row);
            for (int j = 0; j < d; j++) {
                acc[j] += row[j];
            }
        }
        float[] out = new float[d];
        for (int j = 0; j < d; j++) {
            out[j] = (float) (acc[j] / n);
        }
        return FloatMatrix.of(out, d);
    }

    /**
     * Vector arithmetic: {@code Σ weights[i] · vectors[i]} as one row. The analogy "a is to b as c is to ?"
     * ({@code king − man + woman}) is {@code combine({b, a, c}, {1, −1, 1})}, see {@link #analogy}.
     */
    public static FloatMatrix combine(float[][] vectors, double[] weights) {
        if (vectors.length == 0 || vectors.length != weights.length) {
            throw new IllegalArgumentException("give one weight per vector (" + vectors.length + " vectors, "
                    + weights.length + " weights)");
        }
        int d = vectors[0].length;
        double[] acc = new double[d];
        for (int i = 0; i < vectors.length; i++) {
            if (vectors[i].length != d) {
                throw new IllegalArgumentException("vector " + i + " has dimension " + vectors[i].length + ", vector 0 has " + d);
            }
            for (int j = 0; j < d; j++) {
                acc[j] += weights[i] * vectors[i][j];
            }
        }
        float[] out = new float[d];
        for (int j = 0; j < d; j++) {
            out[j] = (float) acc[j];
        }
        checkFinite(out, "the result");
        return FloatMatrix.of(out, d);
    }

    /**
     * The analogy "{@code a} is to {@code b} as {@code c} is to ?": {@code b − a + c} (for example
     * man : king :: woman : ?, answered by the neighbours of {@code king − man + woman}). Under cosine, the
     * inputs are usually unit vectors; the result is not normalised here (a cosine search ignores length).
     */
    public static FloatMatrix analogy(float[] a, float[] b, float[] c) {
        return combine(new float[][] {b, a, c}, new double[] {1, -1, 1});
    }

    /** {@code point + amounts[i] · direction} for each amount, one row each. */
    public static FloatMatrix along(float[] point, float[] direction, double[] amounts) {
        if (point.length != direction.length) {
            throw new IllegalArgumentException("the point has dimension " + point.length + ", the direction " + direction.length);
        }
        if (amounts.length == 0) {
            throw new IllegalArgumentException("give at least one amount");
        }
        int d = point.length;
        float[] out = new float[amounts.length * d];
        for (int s = 0; s < amounts.length; s++) {
            for (int j = 0; j < d; j++) {
                out[s * d + j] = (float) (point[j] + amounts[s] * direction[j]);
            }
        }
        checkFinite(out, "the path");
        return FloatMatrix.of(out, d);
    }

    /** The direction from {@code from} to {@code to} ({@code to − from}), for example between two segment centroids. */
    public static float[] direction(float[] from, float[] to) {
        if (from.length != to.length) {
            throw new IllegalArgumentException("dimensions differ: " + from.length + " and " + to.length);
        }
        float[] out = new float[from.length];
        for (int j = 0; j < out.length; j++) {
            out[j] = (float) ((double) to[j] - from[j]);
        }
        return out;
    }

    private static void check(float[] a, float[] b, int steps) {
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
        if (a.length != b.length) {
            throw new IllegalArgumentException("the two vectors have dimensions " + a.length + " and " + b.length);
        }
        if (a.length == 0) {
            throw new IllegalArgumentException("the vectors are empty");
        }
        if (steps < 2) {
            throw new IllegalArgumentException("steps must be at least 2 (both ends), got " + steps);
        }
        checkFinite(a, "the first vector");
        checkFinite(b, "the second vector");
    }

    private static void checkFinite(float[] v, String what) {
        for (int j = 0; j < v.length; j++) {
            if (!Float.isFinite(v[j])) {
                throw new IllegalArgumentException(what + " has a non-finite value at coordinate " + j + " (" + v[j] + ")");
            }
        }
    }

    private static double norm(float[] v) {
        double s = 0;
        for (float x : v) {
            s += (double) x * x;
        }
        return Math.sqrt(s);
    }
}
