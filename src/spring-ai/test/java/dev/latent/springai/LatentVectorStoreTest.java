package dev.latent.springai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.latent.compute.Backends;
import dev.latent.core.Metric;
import dev.latent.encode.text.TextEncoder;
import dev.latent.index.FlatIndex;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.springframework.ai.document.Document;
import org.springframework.ai.embedding.Embedding;
import org.springframework.ai.embedding.EmbeddingModel;
import org.springframework.ai.embedding.EmbeddingRequest;
import org.springframework.ai.embedding.EmbeddingResponse;
import org.springframework.ai.vectorstore.SearchRequest;
import org.springframework.ai.vectorstore.SimpleVectorStore;
import org.springframework.ai.vectorstore.filter.FilterExpressionBuilder;
import org.springframework.ai.vectorstore.filter.FilterExpressionBuilder.Op;

/**
 * The store against Spring AI's own {@link SimpleVectorStore}, the same documents embedded by the same model: every
 * search with random filter expressions gives the same documents in the same order with the same scores; and the
 * model gives the library encoder's vectors.
 */
class LatentVectorStoreTest {
    private static final String[] COLOURS = {"red", "green", "blue"};
    private static final int D = 16;

    /** A deterministic model: a text's vector from its characters (no two test texts share one). */
    static final class CharModel implements EmbeddingModel {
        @Override
        public EmbeddingResponse call(EmbeddingRequest request) {
            List<Embedding> out = new ArrayList<>();
            for (String t : request.getInstructions()) {
                float[] v = new float[D];
                Random r = new Random(t.hashCode());
                for (int i = 0; i < D; i++) {
                    v[i] = (float) r.nextGaussian();
                }
                out.add(new Embedding(v, out.size()));
            }
            return new EmbeddingResponse(out);
        }

        @Override
        public float[] embed(Document document) {
            return embed(document.getText());
        }
    }

    /**
     * A random filter written as Spring AI's documentation writes them: every operand of and/or in a group. Two forms
     * are left out because SimpleVectorStore's conversion to SpEL answers them wrongly (checked by hand on failing
     * seeds): an and/or operand without a group (it drops the parentheses, so {@code a && (b || c)} becomes
     * {@code a && b || c}), and a not of a not. Latent follows the expression tree in both.
     */
    private static Op randomFilter(FilterExpressionBuilder b, Random rnd, int depth) {
        return randomFilter(b, rnd, depth, false);
    }

    private static Op randomFilter(FilterExpressionBuilder b, Random rnd, int depth, boolean underNot) {
        int pick = depth > 1 ? rnd.nextInt(5) : rnd.nextInt(underNot ? 7 : 8);
        switch (pick) {
            case 0: return b.eq("colour", COLOURS[rnd.nextInt(3)]);
            case 1: return b.gt("size", rnd.nextInt(100));
            case 2: return b.lte("weight", rnd.nextDouble() * 10);
            case 3: return b.in("colour", COLOURS[rnd.nextInt(3)], COLOURS[rnd.nextInt(3)]);
            case 4: return b.ne("colour", COLOURS[rnd.nextInt(3)]);
            case 5: return b.and(b.group(randomFilter(b, rnd, depth + 1)), b.group(randomFilter(b, rnd, depth + 1)));
            case 6: return b.or(b.group(randomFilter(b, rnd, depth + 1)), b.group(randomFilter(b, rnd, depth + 1)));
            default: return b.not(b.group(randomFilter(b, rnd, depth + 1, true)));
        }
    }

    @Test
    void searchesGiveWhatSpringAisSimpleVectorStoreGives() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        CharModel model = new CharModel();
        try (FlatIndex index = new FlatIndex(D, Metric.COSINE, Backends.java())) {
            LatentVectorStore ours = new LatentVectorStore(index, model);
            SimpleVectorStore theirs = SimpleVectorStore.builder(model).build();
            List<Document> docs = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                docs.add(new Document("doc-" + i, "text number " + i + " " + rnd.nextInt(),
                        Map.of("colour", COLOURS[rnd.nextInt(3)], "size", rnd.nextInt(100), "weight", rnd.nextDouble() * 10)));
            }
            ours.add(docs);
            theirs.add(docs);
            FilterExpressionBuilder b = new FilterExpressionBuilder();
            for (int t = 0; t < 60; t++) {
                SearchRequest.Builder req = SearchRequest.builder().query("query " + rnd.nextInt()).topK(1 + rnd.nextInt(20))
                        .similarityThreshold(rnd.nextInt(3) == 0 ? rnd.nextDouble() * 0.5 : 0.0);
                String what = "seed " + seed;
                if (rnd.nextInt(4) > 0) {
                    Op f = randomFilter(b, rnd, 0);
                    req.filterExpression(f.build());
                    what += ", " + f.build();
                }
                SearchRequest r = req.build();
                List<Document> a = ours.similaritySearch(r);
                List<Document> c = theirs.similaritySearch(r);
                assertEquals(c.size(), a.size(), what);
                for (int i = 0; i < a.size(); i++) {
                    assertEquals(c.get(i).getId(), a.get(i).getId(), what + ", rank " + i);
                    assertEquals(c.get(i).getScore(), a.get(i).getScore(), 1e-5, what);
                    assertEquals(c.get(i).getText(), a.get(i).getText());
                    assertEquals(c.get(i).getMetadata().get("colour"), a.get(i).getMetadata().get("colour"));
                }
            }
            // delete by id and by filter, as Spring AI's store does
            ours.delete(List.of("doc-0", "doc-1"));
            theirs.delete(List.of("doc-0", "doc-1"));
            ours.delete(b.eq("colour", "red").build());
            // SimpleVectorStore does not delete by filter: the same documents by id
            theirs.delete(docs.stream().filter(d -> "red".equals(d.getMetadata().get("colour"))).map(Document::getId).toList());
            SearchRequest all = SearchRequest.builder().query("x").topK(200).build();
            assertEquals(theirs.similaritySearch(all).size(), ours.similaritySearch(all).size());
            assertEquals(0, ours.similaritySearch(SearchRequest.builder().query("x").topK(200)
                    .filterExpression(b.eq("colour", "red").build()).build()).size());
        }
        try (FlatIndex l2 = new FlatIndex(D, Metric.L2, Backends.java())) {
            assertThrows(IllegalArgumentException.class, () -> new LatentVectorStore(l2, model));
        }
    }

    @Test
    void theModelGivesTheEncodersVectors() {
        try (TextEncoder enc = TextEncoder.builder().build()) {
            LatentSpringEmbeddingModel model = new LatentSpringEmbeddingModel(enc);
            assertEquals(enc.dimension(), model.dimensions());
            List<float[]> got = model.embed(List.of("a cat on a mat", "stock markets fell"));
            try (var m = enc.encode(List.of("a cat on a mat", "stock markets fell"))) {
                for (int i = 0; i < 2; i++) {
                    float[] want = m.getRow(i);
                    for (int c = 0; c < want.length; c++) {
                        assertEquals(want[c], got.get(i)[c], 1e-6, "row " + i);
                    }
                }
            }
        }
    }
}
