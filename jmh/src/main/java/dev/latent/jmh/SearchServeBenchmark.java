package dev.latent.jmh;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.engine.Engine;
import dev.latent.index.FlatIndex;
import java.util.SplittableRandom;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Many callers, one query each: 1, 8 or 64 threads each search one query vector (k = 10, inner product)
 * per operation in an exact {@link FlatIndex} of {@code n} random vectors, either through one shared
 * {@link Engine} (which merges waiting queries into one block search) or each calling
 * {@link FlatIndex#search(float[], int)} directly (concurrent searches are allowed). Same index, same
 * queries (4096 precomputed, each caller from its own offset), same cores.
 *
 * <p>Throughput mode scores queries per second over all threads; sample mode gives the latency distribution.
 *
 * <pre>
 * java -cp ... org.openjdk.jmh.Main SearchServeBenchmark -bm sample -f 1 -wi 1 -i 1 -w 5s -r 5s   # smoke
 * </pre>
 *
 * <p><b>Log.</b> 2026-11-26, 2 vCPUs AMD EPYC Zen 5 (AVX-512), JDK 25, native CPU backend, 200,000 × 384, one fork,
 * 2 × 5 s warm-up and 5 × 5 s sample-mode iterations (queries/s = threads / mean latency); raw output in
 * {@code jmh/results/engine-20261126/}. 1 caller: engine 115 queries/s, direct 130 (0.88×). 8 callers: engine
 * 386, direct 123 (3.1×; p99 46 ms against 123 ms). 64 callers: engine 1,329 (mean batch 57), direct 124
 * (10.8×; p99 96 ms against 1.26 s). A block of queries reads the database once for all of them.
 */
public class SearchServeBenchmark extends CallersBenchmark {

    /** Vectors in the index. */
    @Param({"200000"})
    public int n;

    /** Dimension. */
    @Param({"384"})
    public int dim;

    private static final int K = 10;
    private static final int QUERIES = 4096;

    private FlatIndex index;
    private Engine engine;
    private float[][] queries;

    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom rnd = new SplittableRandom(42);
        index = new FlatIndex(dim, Metric.INNER_PRODUCT);
        int chunk = 10_000;
        for (int from = 0; from < n; from += chunk) {
            int rows = Math.min(chunk, n - from);
            float[] flat = new float[rows * dim];
            for (int i = 0; i < flat.length; i++) {
                flat[i] = (float) rnd.nextGaussian();
            }
            long[] ids = new long[rows];
            for (int i = 0; i < rows; i++) {
                ids[i] = from + i;
            }
            try (FloatMatrix m = FloatMatrix.of(flat, dim)) {
                index.add(ids, m);
            }
        }
        queries = new float[QUERIES][dim];
        for (float[] q : queries) {
            for (int i = 0; i < dim; i++) {
                q[i] = (float) rnd.nextGaussian();
            }
        }
        index.search(queries[0], K); // makes the database resident before timing
        if (throughEngine()) {
            engine = Engine.builder().index(index).build();
        }
        System.out.println("index " + n + " x " + dim + ", backend " + index.backend().name() + ", cores "
                + Runtime.getRuntime().availableProcessors());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        closeEngine(engine, "queries", engine == null ? null : engine.metrics().search());
        index.close();
    }

    @Override
    protected Neighbors callOne(int i) {
        float[] q = queries[Math.floorMod(i, QUERIES)];
        return engine != null ? engine.search(q, K) : index.search(q, K);
    }
}
