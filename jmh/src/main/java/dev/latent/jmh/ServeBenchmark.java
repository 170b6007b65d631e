package dev.latent.jmh;

import dev.latent.core.FloatMatrix;
import dev.latent.encode.SampleCorpus;
import dev.latent.encode.text.TextEncoder;
import dev.latent.engine.Engine;
import dev.latent.engine.EngineMetrics;
import java.time.Duration;
import java.util.List;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.ThreadParams;

/**
 * Many callers, one text each: 1, 8 or 64 threads each encode one sample-corpus text per operation, either
 * through one shared {@link Engine} (which merges what waits into batches) or each calling
 * {@link TextEncoder#encode(List)} with a one-text list (concurrent calls share the encoder's workers and
 * run one after another). Same encoder (the default int8 model, default workers), same texts, same cores.
 *
 * <p>Throughput mode scores texts per second over all threads; sample mode gives the per-text latency
 * distribution (p99). In a closed loop the two agree: texts/s = threads / mean latency.
 *
 * <pre>
 * java -cp ... org.openjdk.jmh.Main ServeBenchmark                                      # full run
 * java -cp ... org.openjdk.jmh.Main ServeBenchmark -bm sample -f 1 -wi 1 -i 1 -w 5s -r 5s   # smoke
 * </pre>
 *
 * <p><b>Log.</b> 2026-11-26, 2 vCPUs AMD EPYC Zen 5, JDK 25, int8 model on the CPU provider, one fork, 2 × 5 s
 * warm-up and 5 × 5 s sample-mode iterations (texts/s = threads / mean latency); raw output in
 * {@code jmh/results/engine-20261126/}. Engine against direct: 1 caller 334 against 382 texts/s (0.87×), 8
 * callers 655 against 971 (0.67×; p99 35.5 ms against 14.6 ms), 64 callers 585 against 814 (0.72×). On this
 * CPU the int8 model costs more per text in a padded batch than alone (a probe: 415 against 287 texts/s, one
 * thread, one text or 32 per call), so merging callers has nothing to gain here; {@code encodeConcurrency}
 * and {@code maxBatchTexts} let a run try other engine settings. The engine's case is a device where a batch
 * costs about what one text costs.
 */
@State(Scope.Benchmark)
@BenchmarkMode({Mode.Throughput, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.SECONDS)
// One text takes milliseconds: 10 s iterations hold thousands of operations even at one caller.
@Warmup(iterations = 2, time = 10, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 10, timeUnit = TimeUnit.SECONDS)
// Fixed heap, pre-touched, so GC sizing does not move the numbers between forks.
@Fork(value = 3, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch"})
public class ServeBenchmark {

    /** engine = through one shared Engine; direct = each caller calls TextEncoder.encode(List.of(text)). */
    @Param({"engine", "direct"})
    public String path;

    /** The engine's maxWait in milliseconds (0, its default, batches only what already waits; try -p maxWaitMillis=0,2). */
    @Param({"0"})
    public int maxWaitMillis;

    /** The engine's encode batches at once (0: its default, min(4, cores)). */
    @Param({"0"})
    public int encodeConcurrency;

    /** The engine's largest encode batch in texts (0: its default). */
    @Param({"0"})
    public int maxBatchTexts;

    private TextEncoder encoder;
    private Engine engine;
    private List<String> texts;

    /** Each caller walks the corpus from its own offset, so callers send different texts. */
    @State(Scope.Thread)
    public static class Caller {
        int next;

        @Setup(Level.Trial)
        public void setUp(ThreadParams t) {
            next = t.getThreadIndex() * 7919;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        texts = SampleCorpus.texts();
        encoder = TextEncoder.builder().build();
        if ("engine".equals(path)) {
            Engine.Builder b = Engine.builder().encoder(encoder).maxWait(Duration.ofMillis(maxWaitMillis));
            if (encodeConcurrency > 0) {
                b.encodeConcurrency(encodeConcurrency);
            }
            if (maxBatchTexts > 0) {
                b.maxBatchTexts(maxBatchTexts);
            }
            engine = b.build();
        } else if (!"direct".equals(path)) {
            throw new IllegalArgumentException("path must be engine or direct, got " + path);
        }
        System.out.println("model " + encoder.modelName() + ", provider " + encoder.provider() + ", cores "
                + Runtime.getRuntime().availableProcessors());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (engine != null) {
            EngineMetrics.Stats s = engine.metrics().encode();
            System.out.printf("engine: %d texts in %d batches (mean %.1f), p50 %s, p99 %s%n", s.completed(),
                    s.batches(), s.meanBatchSize(), s.p50(), s.p99());
            engine.close();
        }
        encoder.close();
    }

    private float[] encodeOne(Caller c) {
        String text = texts.get(c.next++ % texts.size());
        if (engine != null) {
            return engine.encode(text);
        }
        try (FloatMatrix m = encoder.encode(List.of(text))) {
            return m.getRow(0);
        }
    }

    @Benchmark
    @Threads(1)
    public float[] callers01(Caller c) {
        return encodeOne(c);
    }

    @Benchmark
    @Threads(8)
    public float[] callers08(Caller c) {
        return encodeOne(c);
    }

    @Benchmark
    @Threads(64)
    public float[] callers64(Caller c) {
        return encodeOne(c);
    }
}
