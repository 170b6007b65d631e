package dev.latent.jmh;

import dev.latent.compute.Backends;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.index.FlatIndex;
import dev.latent.index.Filter;
import dev.latent.index.SearchParams;
import dev.latent.space.Record;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
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
 * A selective payload filter against filtering after an unfiltered search, one query at a time, on the native CPU
 * backend: {@code n} vectors of dimension {@code d} (standard normal, normalised, seed 42) in a flat cosine index,
 * each with a record whose field {@code bucket} is its row modulo 100, so {@code bucket = 7} matches 1 % of rows.
 * <ul>
 *   <li>{@code filtered}: {@code SearchParams.topK(10).filter(bucket = 7)}: the payload index gives the matching
 *       ids and only those rows are scored;</li>
 *   <li>{@code postFilter}: the unfiltered top {@code overFetch} (default 2,000, so 20 matches are expected at 1 %),
 *       then the first 10 hits whose record matches, read from the index, as a caller without filters must do;</li>
 *   <li>{@code unfiltered}: the plain top 10, for scale.</li>
 * </ul>
 * Both filtered forms return the 10 best matching vectors (postFilter only when 10 matches fall in its window).
 * {@code java -jar jmh/target/benchmarks.jar FilteredSearchBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 3, jvmArgsAppend = {"-Xms4g", "-Xmx4g", "-XX:+AlwaysPreTouch"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class FilteredSearchBenchmark {
    @Param({"200000"})
    int n;

    @Param({"384"})
    int d;

    @Param({"2000"})
    int overFetch;

    private FlatIndex index;
    private float[][] queries;
    private int next;
    private SearchParams filtered;
    private Filter bucket7;

    @Setup
    public void setup() throws Exception {
        SplittableRandom rnd = new SplittableRandom(42);
        index = new FlatIndex(d, Metric.COSINE, Backends.cpu());
        int block = 10_000;
        for (int from = 0; from < n; from += block) {
            int rows = Math.min(block, n - from);
            float[] flat = new float[rows * d];
            for (int i = 0; i < flat.length; i++) {
                flat[i] = (float) gaussian(rnd);
            }
            long[] ids = new long[rows];
            List<Record> records = new ArrayList<>(rows);
            for (int i = 0; i < rows; i++) {
                ids[i] = from + i;
                records.add(new Record("doc-" + (from + i), null, Map.of("bucket", (long) ((from + i) % 100))));
            }
            try (FloatMatrix m = FloatMatrix.of(flat, d)) {
                index.add(ids, m, records);
            }
        }
        queries = new float[64][d];
        for (float[] q : queries) {
            for (int j = 0; j < d; j++) {
                q[j] = (float) gaussian(rnd);
            }
        }
        bucket7 = Filter.eq("bucket", 7);
        filtered = SearchParams.topK(10).filter(bucket7);
        index.search(queries[0], 10);
        try (FloatMatrix q = FloatMatrix.of(queries[0], d)) {
            index.search(q, filtered);   // builds the payload index once, as the first filtered search does
        }
    }

    private static double gaussian(SplittableRandom rnd) {
        double u = 1 - rnd.nextDouble();
        double v = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    private float[] query() {
        next = (next + 1) % queries.length;
        return queries[next];
    }

    @Benchmark
    public Neighbors filtered() {
        try (FloatMatrix q = FloatMatrix.of(query(), d)) {
            return (Neighbors) index.search(q, filtered);
        }
    }

    @Benchmark
    public long[] postFilter() {
        Neighbors nb = index.search(query(), overFetch);
        long[] out = new long[10];
        int found = 0;
        for (int r = 0; r < nb.count() && found < out.length; r++) {
            Record rec = index.record(nb.id(0, r));
            if (rec != null && Long.valueOf(7).equals(rec.field("bucket"))) {
                out[found++] = nb.id(0, r);
            }
        }
        return out;
    }

    @Benchmark
    public Neighbors unfiltered() {
        return index.search(query(), 10);
    }

    @TearDown
    public void tearDown() {
        index.close();
    }
}
