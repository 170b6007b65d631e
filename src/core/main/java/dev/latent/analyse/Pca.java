package dev.latent.analyse;

import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.compute.LabelSums;
import dev.latent.compute.ResidentMatrix;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import java.util.Objects;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * Principal component analysis on the compute backend: the mean from {@link Backend#accumulate} and the
 * centred scatter matrix {@code Σ (x − μ)(x − μ)ᵀ} from {@link Backend#gram} (the same tiles as the
 * k-NN kernels, float64 accumulation), then a symmetric eigen-decomposition of that {@code d × d} matrix
 * (EJML's symmetric QR algorithm, float64) for the top components.
 *
 * <pre>{@code
 * PcaModel pca = Pca.of(50).fit(vectors);          // 50 components
 * double[] ratio = pca.explainedVarianceRatio();   // per component
 * try (FloatMatrix z = pca.transform(vectors)) { ... }   // n x 50
 * }</pre>
 *
 * <p><b>Cost.</b> One pass for the mean and one for the scatter matrix ({@code n d²} multiply-adds on the
 * backend), then {@code O(d³)} in Java for the eigen-decomposition: milliseconds at d = 384, about a
 * second at d = 1024, minutes beyond d ≈ 4096 (where a randomised method would be the next step).
 *
 * <p><b>Degenerate data.</b> Constant columns get zero variance and simply never lead a component; if
 * fewer than {@code components} directions have any variance, the extra components are still orthonormal
 * directions with zero explained variance (and {@link PcaModel#whiten() whitening} leaves them at zero
 * instead of dividing by zero).
 *
 * <p>A {@code Pca} is a mutable configuration, not thread-safe; each {@link PcaModel} is immutable.
 */
public final class Pca {
    private final int components;
    private boolean whiten;
    private Backend backend;

    private Pca(int components) {
        this.components = components;
    }

    /** A PCA keeping {@code components} components ({@code >= 1}, at most the dimension of the data). */
    public static Pca of(int components) {
        if (components < 1) {
            throw new IllegalArgumentException("components must be at least 1, got " + components);
        }
        return new Pca(components);
    }

    /** Whether {@link PcaModel#transform} scales each component to unit variance (default false). */
    public Pca whiten(boolean whiten) {
        this.whiten = whiten;
        return this;
    }

    /** The backend to run on (default {@link Backends#get()}). */
    public Pca backend(Backend backend) {
        this.backend = Objects.requireNonNull(backend, "backend");
        return this;
    }

    /**
     * Fits the components to the rows of {@code points} (at least 2 rows; finite values). The matrix is
     * only read.
     *
     * @throws IllegalArgumentException fewer than 2 rows, more components than dimensions, or a
     *     non-finite row (named)
     */
    public PcaModel fit(FloatMatrix points) {
        Objects.requireNonNull(points, "points");
        long n = points.rows();
        int d = points.cols();
        if (components > d) {
            throw new IllegalArgumentException(
                    "components = " + components + " is larger than the dimension of the data (" + d + ")");
        }
        if (n < 2) {
            throw new IllegalArgumentException("PCA needs at least 2 points, got " + n);
        }
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("PCA takes at most " + (Integer.MAX_VALUE - 8) + " points per call, got " + n);
        }
        Backend be = backend != null ? backend : Backends.get();
        double[] mean = new double[d];
        double[] scatter;
        try (ResidentMatrix resident = be.upload(points, Metric.INNER_PRODUCT)) {
            LabelSums sums = be.accumulate(resident, new int[(int) n], 1);
            System.arraycopy(sums.mean(0), 0, mean, 0, d);
            scatter = be.gram(resident, mean);
        }
        double trace = 0;
        for (int c = 0; c < d; c++) {
            trace += scatter[c * d + c];
        }
        DMatrixRMaj m = new DMatrixRMaj(d, d, true, scatter);
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(d, true, true);
        if (!eig.decompose(m)) {
            throw new IllegalStateException("the eigen-decomposition of the " + d + " x " + d + " scatter matrix did not converge");
        }
        Integer[] order = new Integer[d];
        double[] values = new double[d];
        for (int i = 0; i < d; i++) {
            order[i] = i;
            values[i] = Math.max(0, eig.getEigenvalue(i).getReal());  // roundoff can make a zero slightly negative
        }
        // Largest first; equal values by index, so the order is deterministic.
        java.util.Arrays.sort(order, (a, b) -> values[a] != values[b] ? Double.compare(values[b], values[a]) : Integer.compare(a, b));
        double[] comp = new double[components * d];
        double[] variance = new double[components];
        double[] ratio = new double[components];
        for (int i = 0; i < components; i++) {
            DMatrixRMaj v = eig.getEigenVector(order[i]);
            // Sign convention: the largest-magnitude coordinate is positive (as scikit-learn's svd_flip).
            int arg = 0;
            for (int c = 1; c < d; c++) {
                if (Math.abs(v.get(c, 0)) > Math.abs(v.get(arg, 0))) {
                    arg = c;
                }
            }
            double sign = v.get(arg, 0) < 0 ? -1 : 1;
            double norm = 0;
            for (int c = 0; c < d; c++) {
                norm += v.get(c, 0) * v.get(c, 0);
            }
            norm = Math.sqrt(norm);
            for (int c = 0; c < d; c++) {
                comp[i * d + c] = sign * v.get(c, 0) / norm;
            }
            variance[i] = values[order[i]] / (n - 1);
            ratio[i] = trace > 0 ? values[order[i]] / trace : 0;
        }
        return new PcaModel(mean, comp, variance, ratio, trace / (n - 1), whiten, n);
    }
}
