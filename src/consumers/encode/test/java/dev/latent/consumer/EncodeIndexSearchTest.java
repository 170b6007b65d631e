package dev.latent.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.Latent;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.encode.text.TextEncoder;
import dev.latent.index.FlatIndex;
import dev.latent.index.VectorIndex;
import dev.latent.space.Record;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A project that depends on latent-encode and the latent-model-all-minilm-l6-v2-q artifact: encode, index with
 * records, save, load, search by text.
 */
class EncodeIndexSearchTest {
    @TempDir
    Path dir;

    static final List<String> TEXTS = List.of(
            "the river overflowed its banks after the storm",
            "a bank lends money to its customers",
            "the cat slept on the warm windowsill",
            "stock prices fell sharply on the exchange",
            "a kitten chased a ball of yarn",
            "heavy rain caused flooding along the stream");

    @Test
    void encodeIndexSaveLoadSearch() throws Exception {
        Path file = dir.resolve("texts.lidx");
        try (TextEncoder encoder = Latent.encoder().model("all-minilm-l6-v2-q").build()) {
            assertEquals(384, encoder.dimension());
            try (FloatMatrix v = encoder.encode(TEXTS); FlatIndex index = Latent.index(encoder.dimension(), Metric.COSINE)) {
                List<Record> records = TEXTS.stream().map(t -> Record.of("k" + TEXTS.indexOf(t), t)).toList();
                index.upsert(records, v);
                index.save(file);
            }
            try (VectorIndex index = Latent.loadIndex(file);
                    FloatMatrix q = encoder.encodeQueries(List.of("a small cat playing", "water flooding a river"))) {
                Neighbors nn = index.search(q, 2);
                assertEquals(Set2.of("k2", "k4"), Set2.of(index.record(nn.id(0, 0)).key(), index.record(nn.id(0, 1)).key()));
                assertEquals(Set2.of("k0", "k5"), Set2.of(index.record(nn.id(1, 0)).key(), index.record(nn.id(1, 1)).key()));
            }
        }
    }

    @Test
    void whatLatentEncodePullsIn() throws Exception {
        List<Path> cp = ClassPathCheck.entries();
        String report = ClassPathCheck.report(cp);
        System.out.print("latent-encode + latent-model-all-minilm-l6-v2-q run-time class path:\n" + report);
        assertTrue(ClassPathCheck.testLibraries(cp).isEmpty(), "test libraries: " + ClassPathCheck.testLibraries(cp));
        assertFalse(cp.stream().anyMatch(e -> e.getFileName().toString().startsWith("xchart")
                || e.getFileName().toString().startsWith("picocli") || e.getFileName().toString().startsWith("jetty")
                || e.getFileName().toString().startsWith("lucene")), "plotting, CLI or server libraries: " + report);
        // ONNX Runtime (13 MB), its dnnl presets that it loads unconditionally (27 MB), the tokenizer (18 MB, four
        // platforms) and the model (16 MB) make most of it; anything far past that is a dependency leaking in.
        assertTrue(ClassPathCheck.total(cp) < 100_000_000L, report);
    }

    /** Unordered pairs (search ties between near-equal neighbours may swap the order). */
    record Set2(String a, String b) {
        static Set2 of(String x, String y) {
            return x.compareTo(y) <= 0 ? new Set2(x, y) : new Set2(y, x);
        }
    }
}
