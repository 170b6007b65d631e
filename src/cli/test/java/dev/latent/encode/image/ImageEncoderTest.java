package dev.latent.encode.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.encode.Encoder;
import dev.latent.encode.ImageSpec;
import dev.latent.encode.Modality;
import dev.latent.encode.PilResize;
import dev.latent.encode.onnx.OnnxModel;
import dev.latent.index.FlatIndex;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** End to end: a folder of images through a small CNN into an index, searched with altered copies. */
class ImageEncoderTest {
    private static final long SEED = System.nanoTime();
    private static final ImageSpec CLIP_LIKE = new ImageSpec(32, 32, 40, PilResize.Filter.BICUBIC, 3, 1 / 255.0,
            new float[] {0.48145466f, 0.4578275f, 0.40821073f}, new float[] {0.26862954f, 0.26130258f, 0.27577711f});

    @TempDir
    Path dir;

    static Path tinyCnn() throws URISyntaxException {
        return Path.of(ImageEncoderTest.class.getResource("/dev/latent/encode/image/tiny-cnn.onnx").toURI());
    }

    private static BufferedImage pattern(Random rnd, int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(new Color(rnd.nextInt(256), rnd.nextInt(256), rnd.nextInt(256)));
        g.fillRect(0, 0, w, h);
        for (int s = 0; s < 4; s++) {
            g.setColor(new Color(rnd.nextInt(256), rnd.nextInt(256), rnd.nextInt(256)));
            int x = rnd.nextInt(w / 2);
            int y = rnd.nextInt(h / 2);
            if (rnd.nextBoolean()) {
                g.fillOval(x, y, 8 + rnd.nextInt(w / 2), 8 + rnd.nextInt(h / 2));
            } else {
                g.fillRect(x, y, 8 + rnd.nextInt(w / 2), 8 + rnd.nextInt(h / 2));
            }
        }
        g.dispose();
        return img;
    }

    /** The image with pixel noise of up to ±amp per channel. */
    private static BufferedImage noisy(BufferedImage src, Random rnd, int amp) {
        BufferedImage out = new BufferedImage(src.getWidth(), src.getHeight(), BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < src.getHeight(); y++) {
            for (int x = 0; x < src.getWidth(); x++) {
                int p = src.getRGB(x, y);
                int q = 0;
                for (int sh = 16; sh >= 0; sh -= 8) {
                    int v = ((p >> sh) & 0xFF) + rnd.nextInt(2 * amp + 1) - amp;
                    q |= Math.max(0, Math.min(255, v)) << sh;
                }
                out.setRGB(x, y, q);
            }
        }
        return out;
    }

    @Test
    void aFolderOfImagesIsSearchableByAlteredCopies() throws Exception {
        Random rnd = new Random(SEED);
        int n = 24;
        List<Path> originals = new ArrayList<>();
        List<Path> copies = new ArrayList<>();
        Files.createDirectories(dir.resolve("db"));
        Files.createDirectories(dir.resolve("queries"));
        for (int i = 0; i < n; i++) {
            BufferedImage img = pattern(rnd, 64, 48);
            Path o = dir.resolve("db").resolve(String.format("img%02d.png", i));
            ImageIO.write(img, "png", o.toFile());
            originals.add(o);
            Path c = dir.resolve("queries").resolve(String.format("img%02d.jpg", i));
            ImageIO.write(noisy(img, rnd, 6), "jpg", c.toFile()); // another format, noise, JPEG loss
            copies.add(c);
        }
        try (ImageEncoder enc = ImageEncoder.open(ImageEncoder.specOf(tinyCnn(), CLIP_LIKE, true), OnnxModel.Options.cpu(1), 2)) {
            assertEquals(32, enc.dimension());
            ImageEncoder.Result db = enc.encode(originals, false);
            ImageEncoder.Result q = enc.encode(copies, false);
            try (FlatIndex index = new FlatIndex(enc.dimension(), Metric.COSINE);
                 FloatMatrix dbv = db.vectors(); FloatMatrix qv = q.vectors()) {
                long[] ids = new long[n];
                for (int i = 0; i < n; i++) {
                    ids[i] = i;
                    double norm = 0;
                    for (float x : dbv.getRow(i)) {
                        norm += x * x;
                    }
                    assertEquals(1.0, norm, 1e-5, "normalised");
                }
                index.add(ids, dbv);
                Neighbors nb = index.search(qv, 1);
                int right = 0;
                for (int i = 0; i < n; i++) {
                    right += nb.id(i, 0) == i ? 1 : 0;
                }
                System.out.printf("altered copies finding their originals: %d of %d (seed %d)%n", right, n, SEED);
                assertEquals(n, right, "seed " + SEED);
            }
        }
    }

    @Test
    void aModelWhoseInputIsNotAPixelTensorIsRefused() throws Exception {
        Path decoder = Path.of(ImageEncoderTest.class.getClassLoader()
                .getResource("dev/latent/encode/models/digits-ae/digits-ae-decoder.onnx").toURI());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ImageEncoder.open(ImageEncoder.specOf(decoder, CLIP_LIKE, false), OnnxModel.Options.cpu(1), 1));
        assertTrue(e.getMessage().contains("not a 4-D float pixel tensor"), e.getMessage());
        ImageSpec gray = new ImageSpec(32, 32, 0, PilResize.Filter.BILINEAR, 1, 1 / 255.0, new float[] {0}, new float[] {1});
        e = assertThrows(IllegalArgumentException.class,
                () -> ImageEncoder.open(ImageEncoder.specOf(tinyCnn(), gray, false), OnnxModel.Options.cpu(1), 1));
        assertTrue(e.getMessage().contains("channels 3") && e.getMessage().contains("makes 1"), e.getMessage());
    }

    @Test
    void grayscaleAndTinyImagesAreConvertedNotRefused() throws Exception {
        BufferedImage gray = new BufferedImage(1, 1, BufferedImage.TYPE_BYTE_GRAY);
        gray.getRaster().setSample(0, 0, 0, 200);
        Path f = dir.resolve("one.png");
        ImageIO.write(gray, "png", f.toFile());
        ImagePreprocessor pre = new ImagePreprocessor(CLIP_LIKE);
        float[] t = new float[CLIP_LIKE.tensorSize()];
        String note = pre.tensor(f, t, 0);
        assertTrue(note.contains("converted to RGB"), note);
        for (int c = 0; c < 3; c++) {
            float want = (float) ((200 / 255.0 - CLIP_LIKE.mean()[c]) / CLIP_LIKE.std()[c]);
            assertEquals(want, t[c * 1024 + 17 * 32 + 5], 1e-5, "a 1x1 image fills the whole tensor");
        }
    }

    @Test
    void cmykJpegsDecodeAndHugeImagesAreSubsampled() throws Exception {
        Path cmyk = Path.of(ImageEncoderTest.class.getResource("/dev/latent/encode/image/cmyk-32x24.jpg").toURI());
        ImagePreprocessor.Pixels p = new ImagePreprocessor(CLIP_LIKE).decode(cmyk);
        assertEquals(32, p.width());
        assertEquals(24, p.height());
        assertEquals(3, p.channels());

        // 20,000 x 20,000 pixels (400 MB decoded at 8 bits): decoded with subsampling, a few tens of MB at most.
        Path big = dir.resolve("big.png");
        writeGrayPng(big, 20_000, 20_000);
        ImageSpec gray = new ImageSpec(8, 8, 0, PilResize.Filter.BOX, 1, 1 / 255.0, new float[] {0}, new float[] {1});
        ImagePreprocessor.Pixels q = new ImagePreprocessor(gray).decode(big);
        assertTrue((long) q.width() * q.height() <= ImagePreprocessor.MAX_DECODE_PIXELS, q.width() + "x" + q.height());
        assertEquals(5_000, q.width());
        float[] t = new float[64];
        new ImagePreprocessor(gray).tensor(q, t, 0);
        // The image is a vertical ramp: the top row of the 8x8 tensor is darker than the bottom one.
        assertTrue(t[0] < t[56], t[0] + " vs " + t[56]);
    }

    /** A grayscale PNG whose rows get brighter downwards, written row by row (never held in memory). */
    private static void writeGrayPng(Path file, int w, int h) throws java.io.IOException {
        java.io.ByteArrayOutputStream idat = new java.io.ByteArrayOutputStream();
        try (java.util.zip.DeflaterOutputStream z = new java.util.zip.DeflaterOutputStream(idat,
                new java.util.zip.Deflater(1), 1 << 16)) {
            byte[] row = new byte[w + 1];
            for (int y = 0; y < h; y++) {
                java.util.Arrays.fill(row, 1, w + 1, (byte) (y * 255L / (h - 1)));
                z.write(row);
            }
        }
        try (java.io.DataOutputStream out = new java.io.DataOutputStream(Files.newOutputStream(file))) {
            out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
            java.nio.ByteBuffer ihdr = java.nio.ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 0)
                    .put((byte) 0).put((byte) 0).put((byte) 0);
            chunk(out, "IHDR", ihdr.array());
            chunk(out, "IDAT", idat.toByteArray());
            chunk(out, "IEND", new byte[0]);
        }
    }

    private static void chunk(java.io.DataOutputStream out, String type, byte[] data) throws java.io.IOException {
        byte[] t = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(t);
        crc.update(data);
        out.writeInt(data.length);
        out.write(t);
        out.write(data);
        out.writeInt((int) crc.getValue());
    }

    /** As an {@link Encoder}: the vectors of {@code encode(files, false)}; an unreadable file stops it, named. */
    @Test
    void theEncoderInterfaceGivesTheSameVectors() throws Exception {
        Random rnd = new Random(7);
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Path f = dir.resolve("p" + i + ".png");
            ImageIO.write(pattern(rnd, 40, 30), "png", f.toFile());
            files.add(f);
        }
        try (ImageEncoder enc = ImageEncoder.open(ImageEncoder.specOf(tinyCnn(), CLIP_LIKE, true), OnnxModel.Options.cpu(1), 1)) {
            Encoder<Path> e = enc;
            assertEquals(Modality.IMAGE, e.modality());
            assertEquals("CPU", e.provider());
            try (FloatMatrix direct = enc.encode(files, false).vectors(); FloatMatrix viaInterface = e.encode(files)) {
                assertEquals(3, viaInterface.rows());
                assertEquals(e.dimension(), viaInterface.cols());
                for (int i = 0; i < 3; i++) {
                    for (int c = 0; c < e.dimension(); c++) {
                        assertEquals(direct.get(i, c), viaInterface.get(i, c), "image " + i);
                    }
                }
            }
            Path broken = dir.resolve("broken.png");
            Files.writeString(broken, "not an image");
            java.io.UncheckedIOException error = assertThrows(java.io.UncheckedIOException.class,
                    () -> e.encode(List.of(files.get(0), broken)));
            assertTrue(error.getMessage().contains("broken.png"), error.getMessage());
        }
    }
}
