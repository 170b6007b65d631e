package dev.latent.jmh;

import dev.latent.engine.Engine;
import dev.latent.engine.EngineMetrics;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.ThreadParams;

/**
 * The shape both serving benchmarks share: 1, 8 or 64 callers, each sending one request per operation,
 * either through one shared {@link Engine} ({@code path = engine}) or straight to what the engine wraps
 * ({@code path = direct}). A subclass builds its work in its own {@code @Setup} and answers one request in
 * {@link #callOne(int)}; the {@code i}-th request of a caller is {@code i} steps from that caller's offset.
 *
 * <p>Throughput mode scores requests per second over all threads; sample mode gives the latency distribution.
 */
@State(Scope.Benchmark)
@BenchmarkMode({Mode.Throughput, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.SECONDS)
// One request takes milliseconds: 10 s iterations hold thousands of operations even at one caller.
@Warmup(iterations = 2, time = 10, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 10, timeUnit = TimeUnit.SECONDS)
// Fixed heap, pre-touched, so GC sizing does not move the numbers between forks.
@Fork(value = 3, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch"})
public abstract class CallersBenchmark {

    /** engine = through one shared Engine; direct = each caller calls the wrapped encoder or index itself. */
    @Param({"engine", "direct"})
    public String path;

    /** Each caller walks the requests from its own offset, so callers send different ones. */
    @State(Scope.Thread)
    public static class Caller {
        int next;

        @Setup(Level.Trial)
        public void setUp(ThreadParams t) {
            next = t.getThreadIndex() * 7919;
        }
    }

    /** True for {@code path = engine}, false for {@code direct}; any other value is refused. */
    protected final boolean throughEngine() {
        if (!"engine".equals(path) && !"direct".equals(path)) {
            throw new IllegalArgumentException("path must be engine or direct, got " + path);
        }
        return "engine".equals(path);
    }

    /** Prints what the engine's lane did over the trial and closes the engine; nothing when {@code engine} is null. */
    protected static void closeEngine(Engine engine, String what, EngineMetrics.Stats s) {
        if (engine == null) {
            return;
        }
        System.out.printf("engine: %d %s in %d batches (mean %.1f), p50 %s, p99 %s%n", s.completed(), what,
                s.batches(), s.meanBatchSize(), s.p50(), s.p99());
        engine.close();
    }

    /** Answers the {@code i}-th request (the caller's counter; wrap it to the prepared inputs). */
    protected abstract Object callOne(int i);

    @Benchmark
    @Threads(1)
    public Object callers01(Caller c) {
        return callOne(c.next++);
    }

    @Benchmark
    @Threads(8)
    public Object callers08(Caller c) {
        return callOne(c.next++);
    }

    @Benchmark
    @Threads(64)
    public Object callers64(Caller c) {
        return callOne(c.next++);
    }
}
