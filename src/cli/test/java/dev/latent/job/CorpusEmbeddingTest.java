package dev.latent.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.corpus.Corpus;
import dev.latent.corpus.CorpusScan;
import dev.latent.encode.text.TextEncoder;
import dev.latent.index.FlatIndex;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A corpus streamed block by block into the targets: the scan's index ids, the corpus ids, all or nothing. */
class CorpusEmbeddingTest {
    @TempDir
    Path dir;

    @Test
    void blocksOfTextsBecomeRowsUnderTheCorpusIds() throws IOException {
        List<String> lines = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            texts.add("text number " + i + " about " + (i % 2 == 0 ? "dogs" : "markets"));
            lines.add("{\"id\": " + (40 + i) + ", \"text\": \"" + texts.get(i) + "\"}");
        }
        Path file = dir.resolve("c.jsonl");
        Files.write(file, lines, StandardCharsets.UTF_8);
        Corpus corpus = Corpus.file(file, "auto");
        EmbeddingTargets t = EmbeddingTargets.of(dir.resolve("c.npy"), dir.resolve("c.lidx"), Metric.COSINE)
                .withMetadata("created_by", "a test");
        try (TextEncoder enc = TextEncoder.builder().model("all-minilm-l6-v2").build()) {
            List<Long> seen = new ArrayList<>();
            CorpusEmbedding.Stats st = CorpusEmbedding.run(corpus, CorpusScan.of(corpus), enc, 3, t, seen::add);
            assertEquals(7, st.texts());
            assertTrue(st.tokens() > 7, "tokens " + st.tokens());
            assertEquals(7L, seen.get(seen.size() - 1));
            List<String> ids = Files.readAllLines(t.ids(), StandardCharsets.UTF_8);
            assertEquals(List.of("40", "41", "42", "43", "44", "45", "46"), ids);
            try (FloatMatrix v = Npy.read(t.vectors()); FloatMatrix direct = enc.encode(texts);
                 FlatIndex index = FlatIndex.load(t.index())) {
                assertEquals(7, v.rows());
                assertArrayEquals(new long[] {40, 41, 42, 43, 44, 45, 46}, index.ids(), "the JSON integer ids");
                assertEquals(List.of("model", "created_by"), List.copyOf(index.metadata().keySet()));
                assertEquals("all-minilm-l6-v2", index.metadata().get("model"));
                for (int r = 0; r < 7; r++) {
                    float[] want = direct.getRow(r);
                    float[] got = v.getRow(r);
                    for (int c = 0; c < want.length; c++) {
                        assertEquals(want[c], got[c], 1e-4f, "row " + r);
                    }
                }
            }

            // A run that stops after two of its three blocks: every target keeps what the first run wrote.
            byte[] npy = Files.readAllBytes(t.vectors());
            byte[] idsFile = Files.readAllBytes(t.ids());
            byte[] idx = Files.readAllBytes(t.index());
            Path other = dir.resolve("other.txt");
            Files.write(other, texts.subList(0, 7), StandardCharsets.UTF_8);
            Corpus plain = Corpus.file(other, "auto");
            RuntimeException stop = assertThrows(RuntimeException.class, () -> CorpusEmbedding.run(plain,
                    CorpusScan.of(plain), enc, 3, t, n -> {
                        if (n >= 6) {
                            throw new IllegalStateException("stopped after " + n);
                        }
                    }));
            assertTrue(String.valueOf(stop.getMessage()).contains("stopped after 6"), String.valueOf(stop));
            assertArrayEquals(npy, Files.readAllBytes(t.vectors()));
            assertArrayEquals(idsFile, Files.readAllBytes(t.ids()));
            assertArrayEquals(idx, Files.readAllBytes(t.index()));
            try (var files = Files.list(dir)) {
                assertEquals(List.of("c.ids", "c.jsonl", "c.lidx", "c.npy", "other.txt"),
                        files.map(p -> p.getFileName().toString()).sorted().toList(), "no temporary file is left");
            }
        }
    }
}
