package dev.latent.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.corpus.ImageCorpus;
import dev.latent.encode.ModelManifest;
import dev.latent.encode.image.ImageEncoder;
import dev.latent.encode.image.SampleDigits;
import dev.latent.encode.onnx.OnnxModel;
import dev.latent.index.FlatIndex;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipped digits through digits-ae into vectors, ids and an index; unreadable images stop the run or are skipped. */
class ImageEmbeddingTest {
    private static ImageEncoder enc;

    @TempDir
    Path dir;

    @BeforeAll
    static void open() {
        enc = ImageEncoder.open(ModelManifest.get().model("digits-ae"), OnnxModel.Options.cpu(1), 2);
    }

    @AfterAll
    static void close() {
        if (enc != null) {
            enc.close();
        }
    }

    private Path digits(int count) throws IOException {
        Path d = dir.resolve("digits");
        SampleDigits.load().write(d, 0, count);
        return d;
    }

    @Test
    void everyImageIsARowUnderItsPath() throws IOException {
        ImageCorpus images = ImageCorpus.of(digits(30));
        EmbeddingTargets t = EmbeddingTargets.of(dir.resolve("d.npy"), dir.resolve("d.lidx"), Metric.L2)
                .withMetadata("created_by", "a test");
        List<String> skipped = new ArrayList<>();
        ImageEmbedding.Stats st = ImageEmbedding.run(images, enc, false, t, skipped::add);
        assertEquals(30, st.images());
        assertEquals(List.of(), st.skipped());
        assertEquals(List.of(), skipped);
        assertEquals(images.ids(), Files.readAllLines(t.ids(), StandardCharsets.UTF_8));
        try (FloatMatrix v = Npy.read(t.vectors()); FloatMatrix direct = enc.encode(images.files());
             FlatIndex index = FlatIndex.load(t.index())) {
            assertEquals(8, v.cols());
            assertArrayEquals(direct.copyRows(0, 30), v.copyRows(0, 30));
            assertEquals(30, index.size());
            assertEquals(Metric.L2, index.metric());
            assertArrayEquals(direct.copyRows(7, 1), index.vector(7));
            assertEquals(Map.of("model", "digits-ae", "modality", "image", "created_by", "a test"), index.metadata());
            assertEquals(List.of("model", "modality", "created_by"), List.copyOf(index.metadata().keySet()));
        }
    }

    @Test
    void anUnreadableImageStopsTheRunOrIsLeftOut() throws IOException {
        Path d = digits(12);
        byte[] png = Files.readAllBytes(d.resolve("0/0000.png"));
        Files.write(d.resolve("0/broken.png"), Arrays.copyOf(png, png.length / 2));
        ImageCorpus images = ImageCorpus.of(d);
        EmbeddingTargets t = EmbeddingTargets.of(dir.resolve("d.npy"), dir.resolve("d.lidx"), Metric.COSINE);
        EmbeddingInputException e = assertThrows(EmbeddingInputException.class,
                () -> ImageEmbedding.run(images, enc, false, t, null));
        assertTrue(e.getMessage().contains("broken.png"), e.getMessage());
        assertFalse(Files.exists(t.vectors()) || Files.exists(t.ids()) || Files.exists(t.index()), "nothing written");

        List<String> told = new ArrayList<>();
        ImageEmbedding.Stats st = ImageEmbedding.run(images, enc, true, t, told::add);
        assertEquals(12, st.images());
        assertEquals(1, st.skipped().size());
        assertTrue(st.skipped().get(0).contains("broken.png"), st.skipped().toString());
        assertEquals(st.skipped(), told);
        List<String> ids = Files.readAllLines(t.ids(), StandardCharsets.UTF_8);
        assertEquals(12, ids.size());
        assertFalse(ids.contains("0/broken.png"));
        try (FlatIndex index = FlatIndex.load(t.index())) {
            assertEquals(12, index.size());
        }
    }

    @Test
    void noReadableImageWritesNothing() throws IOException {
        Path d = Files.createDirectories(dir.resolve("bad"));
        Files.writeString(d.resolve("a.png"), "not a png");
        Files.writeString(d.resolve("b.png"), "nor this");
        EmbeddingTargets t = EmbeddingTargets.of(dir.resolve("d.npy"), null, Metric.COSINE);
        List<String> told = new ArrayList<>();
        EmbeddingInputException e = assertThrows(EmbeddingInputException.class,
                () -> ImageEmbedding.run(ImageCorpus.of(d), enc, true, t, told::add));
        assertEquals("no image could be read; nothing was written", e.getMessage());
        assertEquals(2, told.size(), "both were told before the run stopped: " + told);
        assertFalse(Files.exists(t.vectors()) || Files.exists(t.ids()));
    }
}
