package dev.latent.analyse;

import java.util.Arrays;

/**
 * UMAP's fuzzy simplicial set (steps 2 and 3 of {@link Umap}): each point's local fuzzy set from its k nearest
 * neighbours (umap-learn's {@code smooth_knn_dist}: ρ the nearest distance, σ by binary search so that the
 * memberships sum to log2(k + 1)), then their symmetric union {@code A + Aᵀ − A ∘ Aᵀ} as a sparse graph; and the
 * memberships of new points for {@link Umap#transform}. Stateless.
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

    /**
     * Memberships {@code exp(−max(0, d − ρ) / σ)}, row by row, as umap-learn's {@code smooth_knn_dist} with local
     * connectivity 1 in a fit: k other points per row (umap-learn's rows hold the point itself first, at distance
     * 0, and its sums start after it), ρ the nearest distance above 0, σ so that the k memberships sum to
     * log2(k + 1), and σ at least 1e-3 of the row's mean distance (the point itself counted: over k + 1), or of
     * the mean over all rows where ρ is 0.
     */
    static double[] memberships(int n, int k, float[] knnDist) {
        double target = Math.log(k + 1) / Math.log(2);
        // umap-learn's rows include the point itself at distance 0: its means are over k + 1 entries.
        double meanAll = sum(knnDist, 0, knnDist.length) / ((double) n * (k + 1));
        double[] w = new double[n * k];
        for (int i = 0; i < n; i++) {
            int base = i * k;
            double rho = 0;
            for (int j = 0; j < k; j++) {
                double v = knnDist[base + j];
                if (v > 0) {
                    rho = v;
                    break;
                }
            }
            double sigma = sigma(knnDist, base, base + k, rho, target);
            double floor = MIN_SIGMA_SHARE * (rho > 0 ? sum(knnDist, base, base + k) / (k + 1) : meanAll);
            if (sigma < floor) {
                sigma = floor;
            }
            for (int j = 0; j < k; j++) {
                w[base + j] = membership(knnDist[base + j] - rho, sigma);
            }
        }
        return w;
    }

    /**
     * Memberships of new points to their {@code kq} nearest reference rows (ascending distance, the point itself
     * not among them), as umap-learn's {@code transform} computes them: {@code smooth_knn_dist(dists, kq,
     * local_connectivity=0)}, with {@code kq} its {@code n_neighbors}. So ρ = 0; σ by the fit's binary search so that
     * the memberships of columns 1 to kq − 1 sum to log2 kq (umap-learn's sum starts at column 1, which in a fit
     * skips the point itself and here skips the nearest reference row; that row still gets its membership); σ at
     * least 1e-3 of the mean of all {@code q · kq} distances of the batch (the branch umap-learn takes when ρ is 0);
     * membership 1 at distance 0 (an exact duplicate of a reference row), else {@code exp(−d / σ)}.
     */
    static double[] transformMemberships(int q, int kq, float[] knnDist) {
        double target = Math.log(kq) / Math.log(2);
        double floor = MIN_SIGMA_SHARE * sum(knnDist, 0, knnDist.length) / ((double) q * kq);
        double[] w = new double[q * kq];
        for (int i = 0; i < q; i++) {
            int base = i * kq;
            double sigma = Math.max(sigma(knnDist, base + 1, base + kq, 0, target), floor);
            for (int j = 0; j < kq; j++) {
                w[base + j] = membership(knnDist[base + j], sigma);
            }
        }
        return w;
    }

    /**
     * umap-learn's binary search for σ: {@code Σ exp(−max(0, d − ρ) / σ)} over {@code d[from, to)} within
     * {@value #SIGMA_TOLERANCE} of {@code target}, at most {@value #SIGMA_STEPS} steps, from σ = 1 (doubled while
     * the sum is short and no upper bound is known).
     */
    private static double sigma(float[] d, int from, int to, double rho, double target) {
        double lo = 0;
        double hi = Double.POSITIVE_INFINITY;
        double mid = 1;
        for (int step = 0; step < SIGMA_STEPS; step++) {
            double psum = 0;
            for (int j = from; j < to; j++) {
                double dd = d[j] - rho;
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
        return mid;
    }

    /** umap-learn's {@code compute_membership_strengths}: 1 at or below ρ (or for σ = 0), else {@code exp(−dd/σ)}. */
    private static double membership(double dd, double sigma) {
        return dd <= 0 || sigma == 0 ? 1.0 : Math.exp(-(dd / sigma));
    }

    private static double sum(float[] a, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) {
            s += a[i];
        }
        return s;
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
