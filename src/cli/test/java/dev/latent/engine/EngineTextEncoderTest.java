package dev.latent.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.core.TokenEmbeddings;
import dev.latent.encode.onnx.OnnxModel;
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
 * on which texts share a batch (the int8 default picks one activation scale per batch; see docs/encoding.md), so
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

    @Test
    void unpooledTokenEmbeddingsPoolToTheEncodersVectors() {
        try (TextEncoder enc = TextEncoder.builder().model("all-minilm-l6-v2").build();
             FloatMatrix want = enc.encodeQueries(TEXTS)) {
            float[][] got = enc.encodeBound(TEXTS, true, OnnxModel.Placement.HOST, tokens -> {
                assertFalse(tokens.onDevice());
                assertEquals(TEXTS.size(), tokens.queries());
                assertEquals(enc.dimension(), tokens.width());
                assertFalse(tokens.firstToken());
                assertTrue(tokens.normalize());
                try (FloatMatrix pooled = tokens.poolOnHost()) {
                    return pooled.toArray();
                }
            });
            for (int i = 0; i < TEXTS.size(); i++) {
                assertArrayEquals(want.getRow(i), got[i], 1e-5f, TEXTS.get(i));
            }
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> enc.encodeBound(TEXTS, true, OnnxModel.Placement.DEVICE, t -> null));
            assertTrue(e.getMessage().contains("need the CUDA provider"), e.getMessage());
        }
    }

    /**
     * The engine's device path (text search encoded and searched in one step, the tokens pooled where the
     * encoder left them) with both sides claiming the device: here the tokens are host memory, so the same
     * code runs on the CPU and every answer must be the index's answer for the encoder's query vector.
     */
    @Test
    void textSearchesTakeTheDevicePathWhenBothSidesOfferIt() throws Exception {
        try (TextEncoder enc = TextEncoder.builder().model("all-minilm-l6-v2").build();
             FlatIndex index = new FlatIndex(enc.dimension(), Metric.COSINE)) {
            java.util.concurrent.atomic.AtomicInteger unpooledRuns = new java.util.concurrent.atomic.AtomicInteger();
            // The first device-path batch fails as a device would: it must be answered the two-step way.
            java.util.concurrent.atomic.AtomicInteger failPooled = new java.util.concurrent.atomic.AtomicInteger(1);
            Engine.Encoder real = Engine.Encoder.of(enc);
            Engine.Encoder device = new Engine.Encoder() {
                @Override
                public FloatMatrix encode(List<String> texts, boolean queries) {
                    return real.encode(texts, queries);
                }

                @Override
                public boolean encodesOnDevice() {
                    return true;
                }

                @Override
                public <T> T encodeUnpooled(List<String> texts, java.util.function.Function<TokenEmbeddings, T> use) {
                    unpooledRuns.incrementAndGet();
                    return real.encodeUnpooled(texts, use);
                }
            };
            Engine.Searcher plain = Engine.Searcher.of(index);
            Engine.Searcher pooling = new Engine.Searcher() {
                @Override
                public int dimension() {
                    return plain.dimension();
                }

                @Override
                public Metric metric() {
                    return plain.metric();
                }

                @Override
                public Neighbors search(FloatMatrix queries, int k) {
                    return plain.search(queries, k);
                }

                @Override
                public void add(long id, float[] vector) {
                    plain.add(id, vector);
                }

                @Override
                public boolean remove(long id) {
                    return plain.remove(id);
                }

                @Override
                public boolean searchesDeviceTokens() {
                    return true;
                }

                @Override
                public Neighbors searchPooled(TokenEmbeddings tokens, int k) {
                    if (failPooled.getAndDecrement() > 0) {
                        throw new dev.latent.compute.DeviceException("cuda", 2, "CUDA search of pooled token embeddings failed: injected");
                    }
                    return plain.searchPooled(tokens, k);
                }
            };
            try (FloatMatrix docs = enc.encode(TEXTS)) {
                for (int i = 0; i < TEXTS.size(); i++) {
                    index.add(i, docs.getRow(i));
                }
            }
            try (Engine engine = Engine.builder().encoder(device).searcher(pooling).build()) {
                List<CompletableFuture<Neighbors>> fs = new ArrayList<>();
                for (int i = 0; i < TEXTS.size(); i++) {
                    fs.add(engine.searchTextAsync(TEXTS.get(i), 1 + i % 3));
                }
                for (int i = 0; i < TEXTS.size(); i++) {
                    try (FloatMatrix q = enc.encodeQueries(List.of(TEXTS.get(i)))) {
                        SameNeighbors.assertSame(index.search(q.getRow(0), 1 + i % 3), fs.get(i).get(60, TimeUnit.SECONDS),
                                "device path: " + TEXTS.get(i));
                    }
                }
                assertTrue(unpooledRuns.get() >= 1 && unpooledRuns.get() <= TEXTS.size(), "runs " + unpooledRuns.get());
                assertEquals(0, engine.metrics().search().requests(), "no request went through the search lane");
                assertEquals(TEXTS.size(), engine.metrics().encode().completed());
                assertEquals(0, engine.metrics().encode().failed());
                assertTrue(failPooled.get() <= 0, "the injected failure was not reached");
            }
        }
    }
}
