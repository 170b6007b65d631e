package dev.latent.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.encode.text.TextEncoder;
import dev.latent.index.FlatIndex;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The engine over the real ONNX text encoder. The float32 model is used because its vectors do not depend
 * on which texts share a batch (the int8 default picks one activation scale per batch; see the README), so
 * a text encoded in an engine batch must equal the same text encoded alone.
 */
@Timeout(120)
class EngineTextEncoderTest {
    private static final List<String> TEXTS = List.of(
            "The quick brown fox jumps over the lazy dog.",
            "Vector search finds the nearest neighbours of a query.",
            "A shared engine merges many small requests into batches.",
            "Il pleut des cordes depuis ce matin.",
            "short",
            "Tokenizers split words into word pieces before the model runs, and longer texts carry more of them.");

    @Test
    void batchedEncodingEqualsEncodingAlone() throws Exception {
        try (TextEncoder enc = TextEncoder.builder().model("all-minilm-l6-v2").build();
             FlatIndex index = new FlatIndex(enc.dimension(), Metric.COSINE);
             Engine engine = Engine.builder().encoder(enc).index(index).build()) {
            float[] one = engine.encode(TEXTS.get(0));
            try (FloatMatrix alone = enc.encode(List.of(TEXTS.get(0)))) {
                assertArrayEquals(alone.getRow(0), one, 1e-5f, "one text through the engine");
            }
            // All at once: they share batches, and each must still equal its own encoding alone.
            List<CompletableFuture<float[]>> fs = new ArrayList<>();
            for (String t : TEXTS) {
                fs.add(engine.encodeAsync(t));
            }
            for (int i = 0; i < TEXTS.size(); i++) {
                try (FloatMatrix alone = enc.encode(List.of(TEXTS.get(i)))) {
                    assertArrayEquals(alone.getRow(0), fs.get(i).get(60, TimeUnit.SECONDS), 1e-5f, TEXTS.get(i));
                }
            }
            assertTrue(engine.metrics().encode().batches() < 1 + TEXTS.size(), engine.metrics().encode().toString());
            assertEquals("all-minilm-l6-v2 on " + enc.provider(), engine.metrics().encoder());
            assertEquals(index.backend().description(), engine.metrics().searcher());

            // Text search: the encoder's query vector, then the index.
            for (int i = 0; i < TEXTS.size(); i++) {
                engine.add(i, engine.encode(TEXTS.get(i)));
            }
            Neighbors nb = engine.searchText("a fast fox leaping over a dog", 2);
            assertEquals(0, nb.id(0, 0));
            try (FloatMatrix q = enc.encodeQueries(List.of("a fast fox leaping over a dog"))) {
                SameNeighbors.assertSame(index.search(q.getRow(0), 2), nb, "text search");
            }
        }
    }
}
