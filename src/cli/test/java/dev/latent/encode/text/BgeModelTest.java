package dev.latent.encode.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.model.embedding.onnx.bgesmallenv15q.BgeSmallEnV15QuantizedEmbeddingModel;
import dev.latent.compute.Reference;
import dev.latent.core.FloatMatrix;
import dev.latent.encode.Pooling;
import dev.latent.encode.SampleCorpus;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** bge-small-en-v1.5-q: CLS pooling, the query prefix, unit vectors of dimension 384. */
class BgeModelTest {
    private static TextEncoder bge;

    @BeforeAll
    static void setUp() {
        bge = TextEncoder.builder().model("bge-small-en-v1.5-q").build();
    }

    @AfterAll
    static void tearDown() {
        if (bge != null) {
            bge.close();
        }
    }

    @Test
    void describesItselfFromTheManifest() {
        assertEquals("bge-small-en-v1.5-q", bge.modelName());
        assertEquals(384, bge.dimension());
        assertEquals(512, bge.maxLength());
        assertEquals(Pooling.CLS, bge.spec().pooling());
        assertEquals("Represent this sentence for searching relevant passages: ", bge.spec().queryPrefix());
    }

    @Test
    void queriesGetThePrefixAndAllVectorsAreUnit() {
        String q = "how do plants make food from sunlight";
        try (FloatMatrix asQuery = bge.encodeQueries(List.of(q));
                FloatMatrix prefixed = bge.encode(List.of(bge.spec().queryPrefix() + q));
                FloatMatrix plain = bge.encode(List.of(q))) {
            assertEquals(384, asQuery.cols());
            for (FloatMatrix m : List.of(asQuery, prefixed, plain)) {
                double n = 0;
                for (float f : m.getRow(0)) {
                    n += f * f;
                }
                assertEquals(1.0, n, 1e-5, "unit norm");
            }
            double same = Reference.cosine(asQuery.getRow(0), prefixed.getRow(0));
            double differs = Reference.cosine(asQuery.getRow(0), plain.getRow(0));
            assertTrue(same >= 0.99999, "query = prefix + text, cosine " + same);
            assertTrue(differs < 0.999, "the prefix must change the vector, cosine " + differs);
        }
    }

    /** Passages (no prefix) one at a time, as LangChain4j's BGE model embeds them: CLS pooling agrees. */
    @Test
    void passagesMatchLangChain4jBge() {
        BgeSmallEnV15QuantizedEmbeddingModel reference = new BgeSmallEnV15QuantizedEmbeddingModel();
        List<String> texts = SampleCorpus.texts().subList(0, 40);
        double min = 1;
        for (String t : texts) {
            try (FloatMatrix m = bge.encode(List.of(t))) {
                min = Math.min(min, Reference.cosine(m.getRow(0), reference.embed(t).content().vector()));
            }
        }
        System.out.printf("bge-small-en-v1.5-q vs LangChain4j, one text at a time: min cosine %.6f%n", min);
        assertTrue(min >= 0.999, "min cosine " + min);
    }
}
