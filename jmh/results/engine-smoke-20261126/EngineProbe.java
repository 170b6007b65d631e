import dev.latent.core.FloatMatrix;
import dev.latent.encode.SampleCorpus;
import dev.latent.encode.text.TextEncoder;
import dev.latent.engine.Engine;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

public class EngineProbe {
    static List<String> texts = SampleCorpus.texts();

    static double run(int threads, java.util.function.Function<String, float[]> f, long millis) throws Exception {
        AtomicLong done = new AtomicLong();
        long end = System.nanoTime() + millis * 1_000_000;
        Thread[] ts = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int off = t * 7919;
            ts[t] = new Thread(() -> { int i = off; while (System.nanoTime() < end) { f.apply(texts.get(i++ % texts.size())); done.incrementAndGet(); } });
            ts[t].start();
        }
        for (Thread t : ts) t.join();
        return done.get() / (millis / 1000.0);
    }

    public static void main(String[] a) throws Exception {
        try (TextEncoder enc = TextEncoder.builder().build()) {
            java.util.function.Function<String, float[]> direct = t -> { try (FloatMatrix m = enc.encode(List.of(t))) { return m.getRow(0); } };
            run(8, direct, 3000); // warm
            for (int threads : new int[] {8, 64}) {
                System.out.printf("%d callers: direct %.0f texts/s%n", threads, run(threads, direct, 4000));
                int[][] cfgs = {{2, 64}, {0, 64}, {0, 8}, {0, 2}};
                for (int[] c : cfgs) {
                    try (Engine e = Engine.builder().encoder(enc).maxWait(Duration.ofMillis(c[0])).maxBatchTexts(c[1]).build()) {
                        double r = run(threads, e::encode, 4000);
                        System.out.printf("%d callers: engine maxWait %d ms, maxBatchTexts %d: %.0f texts/s (mean batch %.1f)%n",
                                threads, c[0], c[1], r, e.metrics().encode().meanBatchSize());
                    }
                }
            }
        }
    }
}
