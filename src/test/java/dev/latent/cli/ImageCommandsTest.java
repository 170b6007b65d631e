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
}
