package dev.latent.analyse;

import java.util.Arrays;

/**
 * UMAP's fuzzy simplicial set (steps 2 and 3 of {@link Umap}): each point's local fuzzy set from its k nearest
 * neighbours (umap-learn's {@code smooth_knn_dist}: ρ the nearest distance, σ by binary search so that the
 * memberships sum to log2 k), then their symmetric union {@code A + Aᵀ − A ∘ Aᵀ} as a sparse graph. Stateless.
 */
final class FuzzySimplicialSet {
    /** Binary search steps for σ and the tolerance on the sum (umap-learn's values). */
    private static final int SIGMA_STEPS = 64;
    private static final double SIGMA_TOLERANCE = 1e-5;
    /** σ is kept at least this share of the mean neighbour distance. */
    private static final double MIN_SIGMA_SHARE = 1e-3;

    private FuzzySimplicialSet() {
    }

    /**
     * The symmetric fuzzy graph from the k-NN lists: memberships by {@code smooth_knn_dist}, then
     * {@code A + Aᵀ − A ∘ Aᵀ}, zero weights left out.
     */
    static UmapGraph union(int n, int k, int[] knnRows, float[] knnDist) {
        double[] w = memberships(n, k, knnDist);
        // Each row's neighbours sorted by row, so the reverse edge is a binary search away.
        int[] cols = knnRows.clone();
        double[] vals = w;
        for (int i = 0; i < n; i++) {
            sortRow(cols, vals, i * k, (i + 1) * k);
        }
        int[] degree = new int[n + 1];
        for (int pass = 0; pass < 2; pass++) {
            int[] fill = pass == 0 ? null : degree.clone();
            int[] columns = null;
            double[] weights = null; // float values, held as double so that one row sort serves both passes
            if (pass == 1) {
                columns = new int[degree[n]];
                weights = new double[degree[n]];
            }
            for (int i = 0; i < n; i++) {
                for (int e = i * k; e < (i + 1) * k; e++) {
                    int j = cols[e];
                    double p = vals[e];
                    int back = find(cols, j * k, (j + 1) * k, i);
                    if (back >= 0 && j < i) {
                        continue; // emitted from row j
                    }
                    double q = back >= 0 ? vals[back] : 0.0;
                    float v = (float) (p + q - p * q);
                    if (!(v > 0)) {
                        continue;
                    }
                    if (pass == 0) {
                        degree[i]++;
                        degree[j]++;
                    } else {
                        columns[fill[i]] = j;
                        weights[fill[i]++] = v;
                        columns[fill[j]] = i;
                        weights[fill[j]++] = v;
                    }
                }
            }
            if (pass == 0) {
                // Counts to offsets.
                int sum = 0;
                for (int i = 0; i <= n; i++) {
                    int c = degree[i];
                    degree[i] = sum;
                    sum += c;
                }
            } else {
                for (int i = 0; i < n; i++) {
                    sortRow(columns, weights, degree[i], degree[i + 1]);
                }
                float[] w32 = new float[weights.length];
                for (int e = 0; e < w32.length; e++) {
                    w32[e] = (float) weights[e];
                }
                return new UmapGraph(n, degree, columns, w32);
            }
        }
        throw new AssertionError();
    }

    /** Memberships {@code exp(−max(0, d − ρ) / σ)}, row by row, as umap-learn's smooth_knn_dist. */
    static double[] memberships(int n, int k, float[] knnDist) {
        return memberships(n, k, knnDist, Math.log(k + 1) / Math.log(2), true);
    }

    /**
     * Memberships with a given target sum: {@code localConnectivity} true subtracts ρ, the nearest distance
     * above 0 (the fit's local connectivity 1); false takes ρ = 0, as umap-learn's {@code transform} does
     * (its local connectivity 1 − 1 = 0 for new points, whose neighbours do not include themselves).
     */
    static double[] memberships(int n, int k, float[] knnDist, double target, boolean localConnectivity) {
        // umap-learn's rows include the point itself at distance 0: its means are over k + 1 entries.
        double total = 0;
        for (float v : knnDist) {
            total += v;
        }
        double meanAll = total / ((double) n * (k + 1));
        double[] w = new double[n * k];
        for (int i = 0; i < n; i++) {
            int base = i * k;
            double rho = 0;
            double sum = 0;
            for (int j = 0; j < k; j++) {
                double v = knnDist[base + j];
                if (localConnectivity && rho == 0 && v > 0) {
                    rho = v;
                }
                sum += v;
            }
            double lo = 0;
            double hi = Double.POSITIVE_INFINITY;
            double mid = 1;
            for (int step = 0; step < SIGMA_STEPS; step++) {
                double psum = 0;
                for (int j = 0; j < k; j++) {
                    double dd = knnDist[base + j] - rho;
                    psum += dd > 0 ? Math.exp(-(dd / mid)) : 1.0;
                }
                if (Math.abs(psum - target) < SIGMA_TOLERANCE) {
                    break;
                }
                if (psum > target) {
                    hi = mid;
                    mid = (lo + hi) / 2;
                } else {
                    lo = mid;
                    mid = hi == Double.POSITIVE_INFINITY ? mid * 2 : (lo + hi) / 2;
                }
            }
            double sigma = mid;
            double floor = MIN_SIGMA_SHARE * (rho > 0 ? sum / (k + 1) : meanAll);
            if (sigma < floor) {
                sigma = floor;
            }
            for (int j = 0; j < k; j++) {
                double dd = knnDist[base + j] - rho;
                w[base + j] = dd <= 0 || sigma == 0 ? 1.0 : Math.exp(-(dd / sigma));
            }
        }
        return w;
    }

    /** Index of {@code key} in the ascending {@code a[from, to)}, or -1. */
    private static int find(int[] a, int from, int to, int key) {
        int i = Arrays.binarySearch(a, from, to, key);
        return i >= 0 ? i : -1;
    }

    /** Insertion sort of {@code cols[from, to)} ascending, carrying {@code vals} along (rows are short). */
    private static void sortRow(int[] cols, double[] vals, int from, int to) {
        for (int i = from + 1; i < to; i++) {
            int c = cols[i];
            double v = vals[i];
            int j = i - 1;
            while (j >= from && cols[j] > c) {
                cols[j + 1] = cols[j];
                vals[j + 1] = vals[j];
                j--;
            }
            cols[j + 1] = c;
            vals[j + 1] = v;
        }
    }
}
