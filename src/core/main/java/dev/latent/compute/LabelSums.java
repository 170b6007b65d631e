package dev.latent.compute;

/**
 * Result of {@link Backend#accumulate}: for label {@code l} of {@code k}, the float64 sum of its rows
 * ({@code sums[l * d + c]}) and how many rows it has ({@code counts[l]}).
 *
 * <p>Immutable after construction (arrays shared, not copied); thread-safe.
 */
public record LabelSums(int k, int dimension, double[] sums, long[] counts) {
    public LabelSums {
        if (sums.length != (long) k * dimension || counts.length != k) {
            throw new IllegalArgumentException("sums must be k x d = " + k + " x " + dimension + " and counts k");
        }
    }

    /** The mean of label {@code l}'s rows (NaN components for an empty label). */
    public double[] mean(int l) {
        double[] m = new double[dimension];
        for (int c = 0; c < dimension; c++) {
            m[c] = sums[l * dimension + c] / counts[l];
        }
        return m;
    }
}
