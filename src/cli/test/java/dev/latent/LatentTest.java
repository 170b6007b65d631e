package dev.latent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.index.VectorIndex;
import dev.latent.space.VectorSet;
import dev.latent.compute.Backends;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.corpus.Corpus;
import dev.latent.encode.text.TextEncoder;
import dev.latent.index.FlatIndex;
import dev.latent.job.ShardedEmbedding;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The entry point delegates: index, loadIndex, backend, and a resumable corpus embedding into shards. */
class LatentTest {
    @TempDir
    Path dir;

    @Test
    void entryPointRoundTrip() throws Exception {
        assertNotNull(Latent.backend());
        assertEquals(Backends.get(), Latent.backend());
        Path file = dir.resolve("x.lidx");
        try (FlatIndex index = Latent.index(3, Metric.L2)) {
            index.add(7, new float[] {1, 2, 3});
            index.add(9, new float[] {-1, 0, 4});
            index.save(file);
        }
        try (VectorIndex back = Latent.loadIndex(file)) {
            assertEquals(2, back.size());
            assertArrayEquals(new long[] {9}, back.search(new float[] {-1, 0, 3.5f}, 1).ids(0));
        }
    }

    /**
     * A run stopped by a bad record in its third shard keeps its first two; once the record is fixed (same size,
     * after the shards' end), embedCorpus goes on from there and gives what an uninterrupted run gives, bit for
     * bit (float32 model, same batches), with the corpus's own integer ids.
     */
    @Test
    void embedCorpusStreamsToShardsAndResumesWhereARunStopped() throws Exception {
        List<String> good = new ArrayList<>();
        for (int i = 0; i < 22; i++) {
            good.add("{\"id\": " + (100 + i) + ", \"text\": \"text number " + i + " about " + (i % 2 == 0 ? "dogs" : "markets")
                    + "\"}");
        }
        List<String> bad = new ArrayList<>(good);
        String fixed = good.get(17);
        bad.set(17, fixed.replaceAll("\"text\": \"[^\"]*\"", "\"text\": \"" + " ".repeat(
                fixed.replaceAll(".*\"text\": \"([^\"]*)\".*", "$1").length()) + "\""));
        Path file = dir.resolve("corpus.jsonl");
        Files.write(file, bad, StandardCharsets.UTF_8);
        Path whole = dir.resolve("whole.jsonl");
        Files.write(whole, good, StandardCharsets.UTF_8);
        assertEquals(Files.size(whole), Files.size(file));

        Path part = dir.resolve("part");
        Path full = dir.resolve("full");
        try (TextEncoder enc = Latent.encoder().model("all-minilm-l6-v2").build()) {
            Corpus corpus = Latent.corpus(file);
            IOException stop = assertThrows(IOException.class, () -> Latent.embedCorpus(corpus, enc, part, 8, 4, null, null));
            assertTrue(stop.getMessage().contains(":18: empty text"), stop.getMessage());
            assertTrue(Files.exists(part.resolve("shard-00001.npy")));

            Files.write(file, good, StandardCharsets.UTF_8);
            List<Long> seen = new ArrayList<>();
            ShardedEmbedding.Stats resumed = Latent.embedCorpus(corpus, enc, part, 8, 4, null, seen::add);
            assertEquals(2, resumed.resumedShards());
            assertEquals(1, resumed.shards());
            assertEquals(6, resumed.texts());
            assertEquals(22L, seen.get(seen.size() - 1));

            ShardedEmbedding.Stats again = Latent.embedCorpus(corpus, enc, part, 8, 4, null, null);
            assertEquals(0, again.shards(), "a finished run is left as it is");
            assertEquals(3, again.resumedShards());
            IllegalArgumentException other = assertThrows(IllegalArgumentException.class,
                    () -> Latent.embedCorpus(corpus, enc, part, 16, 4, null, null));
            assertTrue(other.getMessage().contains("--shard-size"), other.getMessage());

            assertEquals(3, Latent.embedCorpus(Latent.corpus(whole), enc, full, 8, 4, null, null).shards());
        }
        try (VectorIndex a = Latent.openIndex(part.resolve(ShardedEmbedding.MANIFEST));
             VectorIndex b = Latent.openIndex(full.resolve(ShardedEmbedding.MANIFEST));
             VectorSet.Snapshot sa = a.snapshot(); VectorSet.Snapshot sb = b.snapshot();
             FloatMatrix va = sa.rows(); FloatMatrix vb = sb.rows()) {
            assertEquals(Metric.COSINE, a.metric());
            assertEquals(22, a.size());
            assertArrayEquals(b.ids(), a.ids());
            assertEquals(100L, a.ids()[0]);
            assertEquals(121L, a.ids()[21]);
            for (int r = 0; r < 22; r++) {
                assertArrayEquals(vb.getRow(r), va.getRow(r), "row " + r);
            }
        }
    }
}
