package dev.latent.analyse;

import dev.latent.core.FloatMatrix;
import java.util.SplittableRandom;

/** Planted structure with known answers: Gaussian blobs, blobs on the unit sphere, far outliers; and ARI. */
final class Planted {
    final FloatMatrix points;
    final int[] truth;

    private Planted(FloatMatrix points, int[] truth) {
        this.points = points;
        this.truth = truth;
    }

    /** {@code clusters} Gaussian blobs of {@code each} points (std {@code sigma}) around centres drawn in [-10, 10]^d. */
    static Planted blobs(long seed, int clusters, int each, int d, double sigma) {
        SplittableRandom r = new SplittableRandom(seed);
        double[][] centres = new double[clusters][d];
        for (double[] c : centres) {
            for (int j = 0; j < d; j++) {
                c[j] = r.nextDouble(-10, 10);
            }
        }
        int n = clusters * each;
        float[] flat = new float[n * d];
        int[] truth = new int[n];
        for (int i = 0; i < n; i++) {
            int c = i % clusters; // interleaved, so row order says nothing about the cluster
            truth[i] = c;
            for (int j = 0; j < d; j++) {
                flat[i * d + j] = (float) (centres[c][j] + sigma * gaussian(r));
            }
        }
        return new Planted(FloatMatrix.of(flat, d), truth);
    }

    /** Blobs of directions: unit centres perturbed by noise of std {@code sigma}, renormalised. */
    static Planted sphere(long seed, int clusters, int each, int d, double sigma) {
        SplittableRandom r = new SplittableRandom(seed);
        double[][] centres = new double[clusters][d];
        for (double[] c : centres) {
            double ss = 0;
            for (int j = 0; j < d; j++) {
                c[j] = gaussian(r);
                ss += c[j] * c[j];
            }
            for (int j = 0; j < d; j++) {
                c[j] /= Math.sqrt(ss);
            }
        }
        int n = clusters * each;
        float[] flat = new float[n * d];
        int[] truth = new int[n];
        for (int i = 0; i < n; i++) {
            int c = i % clusters;
            truth[i] = c;
            double[] v = new double[d];
            double ss = 0;
            for (int j = 0; j < d; j++) {
                v[j] = centres[c][j] + sigma * gaussian(r);
                ss += v[j] * v[j];
            }
            for (int j = 0; j < d; j++) {
                flat[i * d + j] = (float) (v[j] / Math.sqrt(ss));
            }
        }
        return new Planted(FloatMatrix.of(flat, d), truth);
    }

    static double gaussian(SplittableRandom r) {
        double u = r.nextDouble();
        double v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }

    /** Adjusted Rand index of two labelings (Hubert and Arabie), in float64. */
    static double ari(int[] a, int[] b) {
        int n = a.length;
        int ka = 0;
        int kb = 0;
        for (int i = 0; i < n; i++) {
            ka = Math.max(ka, a[i] + 1);
            kb = Math.max(kb, b[i] + 1);
        }
        long[][] table = new long[ka][kb];
        long[] rows = new long[ka];
        long[] cols = new long[kb];
        for (int i = 0; i < n; i++) {
            table[a[i]][b[i]]++;
            rows[a[i]]++;
            cols[b[i]]++;
        }
        double index = 0;
        for (long[] row : table) {
            for (long v : row) {
                index += pairs(v);
            }
        }
        double sa = 0;
        for (long v : rows) {
            sa += pairs(v);
        }
        double sb = 0;
        for (long v : cols) {
            sb += pairs(v);
        }
        double expected = sa * sb / pairs(n);
        double max = (sa + sb) / 2;
        return max == expected ? 1.0 : (index - expected) / (max - expected);
    }

    private static double pairs(long v) {
        return v * (v - 1) / 2.0;
    }
}
