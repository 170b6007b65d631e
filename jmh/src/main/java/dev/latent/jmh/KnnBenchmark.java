package dev.latent.jmh;

import dev.latent.compute.BackendUnavailableException;
import dev.latent.compute.cpu.CpuBackend;
import dev.latent.compute.ResidentMatrix;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apache.lucene.util.VectorUtil;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Exact k-NN, inner product, on the CPU: Latent's native backend ({@link CpuBackend}) against Lucene's
 * {@link VectorUtil#dotProduct(float[], float[])} (Panama SIMD) with a bounded heap, on the same data
 * in the same run, both sides on {@code threads} threads.
 *
 * <p>Data: {@code n} database and {@code queries} query vectors of dimension {@code d}, standard
 * normal then L2-normalised, fixed seed (42), built once per fork in {@link #setup()}.
 * Batch = all queries in one call; single = one query per call (rotating through the queries).
 *
 * <p>Full run (about 1.5 GB off-heap for Latent plus 1.6 GB of heap arrays for Lucene):
 * {@code java -jar jmh/target/benchmarks.jar KnnBenchmark}. Smoke run:
 * {@code java -jar jmh/target/benchmarks.jar KnnBenchmark -f 1 -wi 0 -i 1 -r 1 -p n=20000 -p queries=50
 * -jvmArgsAppend "-Xms1g -Xmx1g"}.
 * Batch results are seconds per batch: queries/s = queries / score.
 */
@State(Scope.Benchmark)
// Single-query calls take ~0.1 s: average time over timed iterations is the right statistic.
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
// 3 forks: JIT decisions, memory placement and the shared machine vary between JVMs; -Xms = -Xmx and
// AlwaysPreTouch keep heap sizing and page faults out of the timings (a smoke run may pass
// -jvmArgsAppend "-Xms1g -Xmx1g", which replaces only these); the vector module, prepended so that
// such an override keeps it, gives Lucene its Panama implementation (Latent does not use it).
@Fork(value = 3, jvmArgsPrepend = {"--add-modules=jdk.incubator.vector"},
        jvmArgsAppend = {"-Xms6g", "-Xmx6g", "-XX:+AlwaysPreTouch"})
// The first iterations include JIT compilation of the Lucene loop and first-touch of native pages.
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class KnnBenchmark {
    @Param({"1000000"})
    int n;

    @Param({"384"})
    int d;

    @Param({"1000"})
    int queries;

    @Param({"10", "100"})
    int k;

    /** Threads on each side (Latent's native threads; Lucene's worker threads). */
    @Param({"2"})
    int threads;

    private FloatMatrix dbMatrix;
    private FloatMatrix queryMatrix;
    private FloatMatrix[] singleQueries;
    private ResidentMatrix latent;
    private float[][] dbArrays;
    private float[][] queryArrays;
    private ExecutorService pool;
    private int next;

    @Setup
    public void setup() throws BackendUnavailableException {
        dbArrays = normalised(n, d, 42);
        queryArrays = normalised(queries, d, 43);
        dbMatrix = FloatMatrix.allocate(n, d);
        for (int r = 0; r < n; r++) {
            dbMatrix.setRow(r, dbArrays[r]);
        }
        queryMatrix = FloatMatrix.of(queryArrays);
        singleQueries = new FloatMatrix[queries];
        for (int i = 0; i < queries; i++) {
            singleQueries[i] = queryMatrix.rowsView(i, i + 1);
        }
        CpuBackend cpu = CpuBackend.open();
        CpuBackend.useThreads(threads);
        latent = cpu.upload(dbMatrix, Metric.INNER_PRODUCT);
        pool = Executors.newFixedThreadPool(threads);
        check();
    }

    /** Both sides must find the same neighbours (up to float ties) before anything is timed. */
    private void check() {
        Neighbors a = latent.search(singleQueries[0], k);
        TopK b = luceneOne(queryArrays[0], 0, n);
        b.sortBestFirst();
        for (int r = 0; r < k && r < n; r++) {
            if (a.id(0, r) != b.ids[r] && Math.abs(a.score(0, r) - b.scores[r]) > 1e-5f) {
                throw new IllegalStateException("Latent and Lucene disagree at rank " + r + ": " + a.id(0, r)
                        + " (" + a.score(0, r) + ") vs " + b.ids[r] + " (" + b.scores[r] + ")");
            }
        }
    }

    @TearDown
    public void tearDown() {
        pool.shutdownNow();
        latent.close();
        queryMatrix.close();
        dbMatrix.close();
    }

    /** Standard normal rows, each scaled to unit length; rows generated in parallel from per-row seeds. */
    static float[][] normalised(int rows, int d, long seed) {
        float[][] out = new float[rows][];
        IntStream.range(0, rows).parallel().forEach(r -> {
            SplittableRandom rnd = new SplittableRandom(seed * 1_000_003L + r);
            float[] v = new float[d];
            double s = 0;
            for (int c = 0; c < d; c++) {
                v[c] = (float) rnd.nextGaussian();
                s += (double) v[c] * v[c];
            }
            float inv = (float) (1 / Math.sqrt(s));
            for (int c = 0; c < d; c++) {
                v[c] *= inv;
            }
            out[r] = v;
        });
        return out;
    }

    // ---- Latent ----

    @Benchmark
    // One batch takes seconds at full size: time single calls, fewer of them.
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @Warmup(iterations = 1)
    @Measurement(iterations = 3)
    public Neighbors latentBatch() {
        return latent.search(queryMatrix, k);
    }

    @Benchmark
    public Neighbors latentSingle() {
        return latent.search(singleQueries[nextQuery()], k);
    }

    // ---- Lucene VectorUtil + bounded heap ----

    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @Warmup(iterations = 1)
    @Measurement(iterations = 3)
    public TopK[] luceneBatch() throws Exception {
        // Queries split across the threads. Each thread walks the database in blocks of rows that fit in
        // L2 and scores all its queries against a block before moving on, so the database is read from
        // memory once per thread rather than once per query (a query-at-a-time loop is memory-bound:
        // about 1000 x 0.12 s here). The per-pair VectorUtil.dotProduct call is Lucene's kernel.
        TopK[] out = new TopK[queries];
        for (int qi = 0; qi < queries; qi++) {
            out[qi] = new TopK(k);
        }
        List<Future<?>> parts = new ArrayList<>();
        int per = (queries + threads - 1) / threads;
        int block = Math.max(1, (256 << 10) / (4 * d));
        for (int t = 0; t < threads; t++) {
            int q0 = t * per;
            int q1 = Math.min(queries, q0 + per);
            parts.add(pool.submit(() -> {
                float[][] db = dbArrays;
                for (int b0 = 0; b0 < n; b0 += block) {
                    int b1 = Math.min(n, b0 + block);
                    for (int qi = q0; qi < q1; qi++) {
                        float[] q = queryArrays[qi];
                        TopK heap = out[qi];
                        for (int r = b0; r < b1; r++) {
                            heap.offer(VectorUtil.dotProduct(q, db[r]), r);
                        }
                    }
                }
            }));
        }
        for (Future<?> f : parts) {
            f.get();
        }
        return out;
    }

    @Benchmark
    public TopK luceneSingle() throws Exception {
        // Rows split across the threads, one heap each, merged.
        float[] q = queryArrays[nextQuery()];
        List<Future<TopK>> parts = new ArrayList<>();
        int per = (n + threads - 1) / threads;
        for (int t = 0; t < threads; t++) {
            int r0 = t * per;
            int r1 = Math.min(n, r0 + per);
            parts.add(pool.submit(() -> luceneOne(q, r0, r1)));
        }
        TopK merged = new TopK(k);
        for (Future<TopK> f : parts) {
            TopK p = f.get();
            for (int i = 0; i < p.size; i++) {
                merged.offer(p.scores[i], p.ids[i]);
            }
        }
        return merged;
    }

    private TopK luceneOne(float[] q, int r0, int r1) {
        TopK heap = new TopK(k);
        float[][] db = dbArrays;
        for (int r = r0; r < r1; r++) {
            heap.offer(VectorUtil.dotProduct(q, db[r]), r);
        }
        return heap;
    }

    private int nextQuery() {
        int i = next;
        next = i + 1 == queries ? 0 : i + 1;
        return i;
    }

    /** Bounded min-heap of the k highest scores (root = lowest kept), ties to the lower id. */
    public static final class TopK {
        final float[] scores;
        final int[] ids;
        int size;

        TopK(int k) {
            scores = new float[k];
            ids = new int[k];
        }

        private boolean worse(float s, int id, int i) {
            return s < scores[i] || (s == scores[i] && id > ids[i]);
        }

        void offer(float s, int id) {
            int k = scores.length;
            if (size < k) {
                int i = size++;
                while (i > 0) {
                    int p = (i - 1) >>> 1;
                    if (!worse(s, id, p)) {
                        break;
                    }
                    scores[i] = scores[p];
                    ids[i] = ids[p];
                    i = p;
                }
                scores[i] = s;
                ids[i] = id;
                return;
            }
            if (s < scores[0] || (s == scores[0] && id > ids[0])) {
                return;
            }
            int i = 0;
            for (;;) {
                int c = 2 * i + 1;
                if (c >= size) {
                    break;
                }
                if (c + 1 < size && (scores[c + 1] < scores[c] || (scores[c + 1] == scores[c] && ids[c + 1] > ids[c]))) {
                    c++;
                }
                if (!(scores[c] < s || (scores[c] == s && ids[c] > id))) {
                    break;
                }
                scores[i] = scores[c];
                ids[i] = ids[c];
                i = c;
            }
            scores[i] = s;
            ids[i] = id;
        }

        void sortBestFirst() {
            Integer[] order = new Integer[size];
            for (int i = 0; i < size; i++) {
                order[i] = i;
            }
            java.util.Arrays.sort(order, (a, b) -> scores[a] != scores[b] ? Float.compare(scores[b], scores[a])
                    : Integer.compare(ids[a], ids[b]));
            float[] s = new float[size];
            int[] id = new int[size];
            for (int i = 0; i < size; i++) {
                s[i] = scores[order[i]];
                id[i] = ids[order[i]];
            }
            System.arraycopy(s, 0, scores, 0, size);
            System.arraycopy(id, 0, ids, 0, size);
        }
    }
}
