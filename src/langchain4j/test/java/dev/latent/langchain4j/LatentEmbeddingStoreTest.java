package dev.latent.langchain4j;

import static dev.langchain4j.store.embedding.filter.MetadataFilterBuilder.metadataKey;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.data.document.Metadata;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.store.embedding.CosineSimilarity;
import dev.langchain4j.store.embedding.EmbeddingMatch;
import dev.langchain4j.store.embedding.EmbeddingSearchRequest;
import dev.langchain4j.store.embedding.RelevanceScore;
import dev.langchain4j.store.embedding.filter.Filter;
import dev.langchain4j.store.embedding.inmemory.InMemoryEmbeddingStore;
import dev.latent.compute.Backends;
import dev.latent.core.Metric;
import dev.latent.encode.text.TextEncoder;
import dev.latent.index.FlatIndex;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The store and the model against LangChain4j's own: every search on random data with random metadata filters gives
 * the matches LangChain4j's {@link InMemoryEmbeddingStore} gives (ids in order, relevance scores, segments and
 * metadata), and the model's embeddings are the library encoder's.
 */
class LatentEmbeddingStoreTest {
    private static final String[] COLOURS = {"red", "green", "blue"};

    private static Embedding random(Random rnd, int d) {
        float[] v = new float[d];
        for (int i = 0; i < d; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        return Embedding.from(v);
    }

    private static Filter randomFilter(Random rnd, int depth) {
        switch (depth > 1 ? rnd.nextInt(5) : rnd.nextInt(8)) {
            case 0: return metadataKey("colour").isEqualTo(COLOURS[rnd.nextInt(3)]);
            case 1: return metadataKey("size").isGreaterThan(rnd.nextInt(100));
            case 2: return metadataKey("weight").isLessThanOrEqualTo(rnd.nextDouble() * 10);
            case 3: return metadataKey("colour").isIn(COLOURS[rnd.nextInt(3)], COLOURS[rnd.nextInt(3)]);
            case 4: return metadataKey("size").isNotEqualTo((long) rnd.nextInt(5));
            case 5: return randomFilter(rnd, depth + 1).and(randomFilter(rnd, depth + 1));
            case 6: return randomFilter(rnd, depth + 1).or(randomFilter(rnd, depth + 1));
            default: return Filter.not(randomFilter(rnd, depth + 1));
        }
    }

    @Test
    void searchesGiveWhatLangChain4jsInMemoryStoreGives() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        int d = 16;
        try (FlatIndex index = new FlatIndex(d, Metric.COSINE, Backends.java())) {
            LatentEmbeddingStore ours = new LatentEmbeddingStore(index);
            InMemoryEmbeddingStore<TextSegment> theirs = new InMemoryEmbeddingStore<>();
            List<String> ids = new ArrayList<>();
            List<Embedding> embeddings = new ArrayList<>();
            List<TextSegment> segments = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                ids.add("id-" + i);
                embeddings.add(random(rnd, d));
                Metadata m = new Metadata().put("colour", COLOURS[rnd.nextInt(3)]).put("size", (long) rnd.nextInt(100));
                if (rnd.nextBoolean()) {
                    m.put("weight", rnd.nextDouble() * 10);
                }
                segments.add(TextSegment.from("text " + i, m));
            }
            ours.addAll(ids, embeddings, segments);
            theirs.addAll(ids, embeddings, segments);
            for (int t = 0; t < 60; t++) {
                Embedding q = random(rnd, d);
                int k = 1 + rnd.nextInt(20);
                double minScore = rnd.nextInt(3) == 0 ? 0.5 + rnd.nextDouble() * 0.2 : 0;
                Filter f = rnd.nextInt(4) == 0 ? null : randomFilter(rnd, 0);
                EmbeddingSearchRequest req = EmbeddingSearchRequest.builder().queryEmbedding(q).maxResults(k)
                        .minScore(minScore).filter(f).build();
                List<EmbeddingMatch<TextSegment>> a = ours.search(req).matches();
                List<EmbeddingMatch<TextSegment>> b = theirs.search(req).matches();
                String what = "seed " + seed + ", " + f + ", k " + k + ", minScore " + minScore;
                assertEquals(b.size(), a.size(), what);
                for (int r = 0; r < a.size(); r++) {
                    assertEquals(b.get(r).embeddingId(), a.get(r).embeddingId(), what + ", rank " + r);
                    assertEquals(b.get(r).score(), a.get(r).score(), 1e-5, what);
                    assertEquals(b.get(r).embedded().text(), a.get(r).embedded().text());
                    assertEquals(b.get(r).embedded().metadata().getString("colour"), a.get(r).embedded().metadata().getString("colour"));
                    assertEquals(b.get(r).embedded().metadata().getLong("size"), a.get(r).embedded().metadata().getLong("size"));
                }
            }
            // removal by id, then all
            ours.removeAll(List.of("id-0", "id-1", "nobody"));
            theirs.removeAll(List.of("id-0", "id-1"));
            EmbeddingSearchRequest all = EmbeddingSearchRequest.builder().queryEmbedding(embeddings.get(0)).maxResults(300).build();
            assertEquals(theirs.search(all).matches().size(), ours.search(all).matches().size());
            ours.removeAll();
            assertEquals(0, ours.search(all).matches().size());
        }
    }

    @Test
    void addsByIdReplaceAndScoresAreLangChain4jsRelevance() {
        try (FlatIndex index = new FlatIndex(3, Metric.COSINE, Backends.java())) {
            LatentEmbeddingStore store = new LatentEmbeddingStore(index);
            Embedding e = Embedding.from(new float[] {1, 0, 0});
            Embedding f = Embedding.from(new float[] {1, 1, 0});
            String id = store.add(e);
            store.add("fixed", f);
            store.add("fixed", e);   // replaces
            assertEquals(2, index.size());
            Embedding q = Embedding.from(new float[] {1, 0.5f, 0});
            EmbeddingMatch<TextSegment> top = store.search(EmbeddingSearchRequest.builder().queryEmbedding(q).maxResults(1)
                    .build()).matches().get(0);
            assertEquals(RelevanceScore.fromCosineSimilarity(CosineSimilarity.between(q, e)), top.score(), 1e-6);
            assertTrue(top.embeddingId().equals(id) || top.embeddingId().equals("fixed"));
            assertNull(top.embedded(), "added without a segment");
            assertEquals(0, store.search(EmbeddingSearchRequest.builder().queryEmbedding(q)
                    .filter(metadataKey("nothing").isEqualTo("x")).build()).matches().size(), "an unknown key matches nothing");
            assertThrows(IllegalArgumentException.class, () -> store.search(EmbeddingSearchRequest.builder()
                    .queryEmbedding(q).filter(metadataKey("colour").containsString("re")).build()));
        }
        try (FlatIndex l2 = new FlatIndex(3, Metric.L2, Backends.java())) {
            assertThrows(IllegalArgumentException.class, () -> new LatentEmbeddingStore(l2));
        }
    }

    @Test
    void theModelGivesTheEncodersVectorsAndTokenCounts() {
        try (TextEncoder enc = TextEncoder.builder().build()) {
            LatentEmbeddingModel model = new LatentEmbeddingModel(enc);
            assertEquals(enc.dimension(), model.dimension());
            assertEquals(enc.modelName(), model.modelName());
            var r = model.embedAll(List.of(TextSegment.from("a cat on a mat"), TextSegment.from("stock markets fell")));
            try (var m = enc.encode(List.of("a cat on a mat", "stock markets fell"))) {
                for (int i = 0; i < 2; i++) {
                    float[] want = m.getRow(i);
                    float[] got = r.content().get(i).vector();
                    for (int c = 0; c < want.length; c++) {
                        assertEquals(want[c], got[c], 1e-6, "row " + i);
                    }
                }
            }
            assertEquals(enc.countTokens("a cat on a mat") + enc.countTokens("stock markets fell"),
                    r.tokenUsage().inputTokenCount());
            assertEquals(enc.dimension(), model.embed("one text").content().dimension(), "LangChain4j's own embed(String)");
        }
    }
}
