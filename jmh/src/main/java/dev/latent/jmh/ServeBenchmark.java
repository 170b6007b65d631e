package dev.latent.jmh;

import dev.latent.core.FloatMatrix;
import dev.latent.encode.SampleCorpus;
import dev.latent.encode.text.TextEncoder;
import dev.latent.engine.Engine;
import java.time.Duration;
import java.util.List;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

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
public class ServeBenchmark extends CallersBenchmark {

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

    @Setup(Level.Trial)
    public void setUp() {
        texts = SampleCorpus.texts();
        encoder = TextEncoder.builder().build();
        if (throughEngine()) {
            Engine.Builder b = Engine.builder().encoder(encoder).maxWait(Duration.ofMillis(maxWaitMillis));
            if (encodeConcurrency > 0) {
                b.encodeConcurrency(encodeConcurrency);
            }
            if (maxBatchTexts > 0) {
                b.maxBatchTexts(maxBatchTexts);
            }
            engine = b.build();
        }
        System.out.println("model " + encoder.modelName() + ", provider " + encoder.provider() + ", cores "
                + Runtime.getRuntime().availableProcessors());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        closeEngine(engine, "texts", engine == null ? null : engine.metrics().encode());
        encoder.close();
    }

    @Override
    protected float[] callOne(int i) {
        String text = texts.get(Math.floorMod(i, texts.size()));
        if (engine != null) {
            return engine.encode(text);
        }
        try (FloatMatrix m = encoder.encode(List.of(text))) {
            return m.getRow(0);
        }
    }
}
