import dev.latent.core.FloatMatrix;
import dev.latent.encode.SampleCorpus;
import dev.latent.encode.text.TextEncoder;
import java.util.List;

public class BatchProbe {
    public static void main(String[] a) {
        List<String> texts = SampleCorpus.texts().subList(0, 640);
        try (TextEncoder enc = TextEncoder.builder().build()) {
            for (int rep = 0; rep < 3; rep++) {
                long t0 = System.nanoTime();
                for (String t : texts) { try (FloatMatrix m = enc.encode(List.of(t))) { } }
                long t1 = System.nanoTime();
                for (int i = 0; i < texts.size(); i += 32) { try (FloatMatrix m = enc.encode(texts.subList(i, i + 32))) { } }
                long t2 = System.nanoTime();
                for (String t : texts) { enc.countTokens(t); }
                long t3 = System.nanoTime();
                System.out.printf("one at a time %.0f texts/s, 32 a call %.0f texts/s, countTokens %.1f us/text%n",
                        texts.size() / ((t1 - t0) / 1e9), texts.size() / ((t2 - t1) / 1e9), (t3 - t2) / 1e3 / texts.size());
            }
        }
    }
}
