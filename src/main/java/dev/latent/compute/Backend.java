package dev.latent.compute;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;

/**
 * A compute backend: batched latent distances and exact k-nearest-neighbours over float32 data.
 * Three implementations share this interface: {@code CudaBackend} (our CUDA kernels),
 * {@code CpuBackend} (our native SIMD kernels) and {@code JavaBackend} (plain Java with float64
 * accumulators, the reference in tests). {@link Backends#get()} picks one once per process.
 *
 * <p>Semantics shared by every backend:
 * <ul>
 *   <li>Queries are {@code Q × d}, the database {@code N × d}, both row-major; d from 1 to 4096.</li>
 *   <li>Scores are inner products, cosine similarities or squared L2 distances (see {@link Metric}).</li>
 *   <li>Top-k returns {@code min(k, candidates)} results per query, best first, ties broken by the
 *       lower row index; k ≥ 1 (at least 2048 supported).</li>
 * </ul>
 *
 * <p>Implementations are thread-safe: one backend instance may serve many threads. Closing a
 * backend frees what it holds (device contexts, pools); databases prepared from it must be closed first.
 */
public interface Backend extends AutoCloseable {
    /** Short stable name: {@code cuda}, {@code cpu} or {@code java}. */
    String name();

    /** One line for logs, for example {@code native CPU: AVX2, 2 threads}. */
    String description();

    /**
     * Prepares {@code database} for repeated searches under {@code metric}: computes row norms,
     * and on a GPU copies the rows to device memory once. The returned object reads
     * {@code database} (CPU backends) or a device copy (CUDA); rows changed after this call are
     * not seen (prepare again). Cosine rejects zero rows with an error naming the row.
     */
    PreparedDatabase prepare(FloatMatrix database, Metric metric);

    @Override
    void close();
}
