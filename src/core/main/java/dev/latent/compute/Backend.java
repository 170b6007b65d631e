package dev.latent.compute;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;

/**
 * A compute backend: batched latent distances, exact k-nearest-neighbours, range search and the
 * steps of clustering and projection, over float32 data. Three implementations share this interface:
 * {@code compute.cuda.CudaBackend} (our CUDA kernels), {@code compute.cpu.CpuBackend} (our native SIMD
 * kernels) and {@code compute.java.JavaBackend} (plain Java with float64 accumulators, the reference
 * in tests). {@link Backends#get()} picks one once per process.
 *
 * <p>Work happens on {@link ResidentMatrix resident matrices}: rows made ready once (norms computed,
 * on a GPU copied to the device) and used by many calls, as a database to search or as points to
 * cluster or project.
 *
 * <p>Semantics shared by every backend:
 * <ul>
 *   <li>Matrices are row-major, {@code d} from 1 to 4096; every row meets {@link dev.latent.core.Vectors}'
 *       rule, checked where norms are computed (on the device for CUDA).</li>
 *   <li>Scores are inner products, cosine similarities or squared L2 distances (see {@link Metric}).</li>
 *   <li>Orders are best first with ties broken by the lower row index, everywhere.</li>
 * </ul>
 *
 * <p>Implementations are thread-safe: one backend may serve many threads. Closing a backend frees what
 * it holds; resident matrices made from it should be closed first (a CUDA backend closes those still open).
 */
public interface Backend extends AutoCloseable {
    /** Short stable name: {@code cuda}, {@code cpu} or {@code java}. */
    String name();

    /** One line for logs, for example {@code native CPU: AVX2, 2 threads}. */
    String description();

    /**
     * Whether {@link ResidentMatrix#searchPooled} reads token embeddings in this backend's device memory where
     * they are (a GPU backend); host backends read host tokens only. By default false.
     */
    default boolean readsDeviceTokens() {
        return false;
    }

    /**
     * Makes {@code rows} resident for repeated use under {@code metric}: checks every row, computes the
     * norms the metric needs and, on a GPU, copies the rows to device memory. Host backends read
     * {@code rows} in place: it must stay open and unchanged while resident (see
     * {@link ResidentMatrix#extend}).
     *
     * @throws IllegalArgumentException naming the first row that breaks the vector rule
     */
    ResidentMatrix upload(FloatMatrix rows, Metric metric);

    /**
     * Encodes {@code rows} with {@code quantizer} (trained for {@code metric}, same dimension) and holds the
     * 8-bit codes for approximate searches ({@link ResidentCodes}); the backend keeps its own copy, so
     * {@code rows} may be closed afterwards. By default unsupported: the native CPU backend, the Java
     * reference and the CUDA backend hold codes.
     *
     * @throws IllegalArgumentException naming the first row that breaks the vector rule, or for a quantizer of
     *     another dimension or metric
     * @throws UnsupportedOperationException on a backend without 8-bit code kernels
     */
    default ResidentCodes uploadCodes(FloatMatrix rows, Metric metric, Sq8 quantizer) {
        throw new UnsupportedOperationException("the " + name() + " backend does not search 8-bit codes (Sq8) yet;"
                + " the cpu, java and cuda backends do");
    }

    /**
     * The k-means assignment step: for every row of {@code points}, the nearest row of {@code targets}
     * under the targets' metric and its score (ties to the lower target row). Both must come from this
     * backend, with the same dimension and metric.
     */
    Assignment assign(ResidentMatrix points, ResidentMatrix targets);

    /**
     * Per-label sums and counts of the rows of {@code points} (the k-means update step): row {@code i}
     * is added to label {@code labels[i]} in {@code [0, k)}; a label of -1 skips the row. Sums are
     * float64, accumulated in row order within each label, so the result does not depend on threads.
     */
    LabelSums accumulate(ResidentMatrix points, int[] labels, int k);

    /**
     * The Gram matrix {@code XᵀX} of the rows of {@code points} (with {@code mean == null}), or the
     * scatter matrix {@code Σ (x − mean)(x − mean)ᵀ} (divide by n − 1 for the covariance): a
     * {@code d × d} row-major float64 array, symmetric. {@code mean} has length {@code d}.
     */
    double[] gram(ResidentMatrix points, double[] mean);

    @Override
    void close();
}
