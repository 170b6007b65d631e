package dev.latent.analyse;

import dev.latent.compute.Backend;
import dev.latent.compute.ResidentMatrix;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import java.util.SplittableRandom;

/**
 * The silhouette coefficient of a clustering, estimated on a random sample: for each sampled point,
 * {@code (b − a) / max(a, b)} with {@code a} its mean distance to the other sampled members of its cluster
 * and {@code b} the smallest mean distance to the sampled members of another cluster; a point alone in its
 * cluster within the sample scores 0 (Rousseeuw 1987, as scikit-learn computes it). Distances are
 * {@link Distance#length} (Euclidean, or the chord between directions). From −1 to 1, higher is better
 * separated. The sample's pairwise distances run on the backend ({@code s²} scores). Stateless.
 */
public final class Silhouette {
    private Silhouette() {
    }

    /**
     * @param points rows clustered by {@code labels} ({@code labels[i]} in {@code [0, k)})
     * @param sample points to estimate on (all when there are fewer)
     */
    public static double estimate(FloatMatrix points, Metric metric, int[] labels, int k, int sample, long seed,
            Backend backend) {
        long n = points.rows();
        if (labels.length != n) {
            throw new IllegalArgumentException(labels.length + " labels for " + n + " points");
        }
        if (k < 2 || n < 2) {
            return 0.0;
        }
        int s = (int) Math.min(n, Math.max(2, sample));
        long[] rows = Rows.sampleRows(new SplittableRandom(seed), n, s);
        Metric work = Distance.spherical(metric) ? Metric.COSINE : Metric.L2;
        int[] lab = new int[s];
        for (int i = 0; i < s; i++) {
            lab[i] = labels[(int) rows[i]];
        }
        int[] sizes = new int[k];
        for (int l : lab) {
            sizes[l]++;
        }
        double total = 0;
        try (FloatMatrix sub = Rows.copyOf(points, rows); ResidentMatrix res = backend.upload(sub, work)) {
            int block = Math.max(1, (int) Math.min(s, (16L << 20) / s));
            double[] sums = new double[k];
            float[] scores = new float[s];
            for (int from = 0; from < s; from += block) {
                int to = Math.min(s, from + block);
                try (FloatMatrix q = sub.rowsView(from, to); FloatMatrix out = FloatMatrix.allocate(to - from, s)) {
                    res.distances(q, 0, s, out);
                    for (int i = from; i < to; i++) {
                        out.getRow(i - from, scores);
                        java.util.Arrays.fill(sums, 0);
                        for (int j = 0; j < s; j++) {
                            if (j != i) {
                                sums[lab[j]] += Distance.length(work, scores[j]);
                            }
                        }
                        int own = lab[i];
                        if (sizes[own] <= 1) {
                            continue; // scores 0
                        }
                        double a = sums[own] / (sizes[own] - 1);
                        double b = Double.POSITIVE_INFINITY;
                        for (int l = 0; l < k; l++) {
                            if (l != own && sizes[l] > 0) {
                                b = Math.min(b, sums[l] / sizes[l]);
                            }
                        }
                        if (b == Double.POSITIVE_INFINITY) {
                            continue; // one cluster in the sample
                        }
                        double m = Math.max(a, b);
                        total += m > 0 ? (b - a) / m : 0.0;
                    }
                }
            }
        }
        return total / s;
    }
}
