package dev.latent.encode.image;

import java.awt.image.BufferedImage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import javax.imageio.ImageIO;

/**
 * The 1,797 handwritten 8×8 digits that ship with the project ({@code models/digits/}, UCI optical digits,
 * CC BY 4.0): pixel values 0..16 and labels, and a writer that turns them into 8-bit grayscale PNGs
 * ({@code value × 255 / 16}, rounded), the images the {@code digits-ae} model takes. Immutable.
 */
public final class SampleDigits {
    /** Class path resource of the data. */
    public static final String RESOURCE = "dev/latent/encode/models/digits/digits.csv.gz";

    private final int[][] pixels;
    private final int[] labels;

    private SampleDigits(int[][] pixels, int[] labels) {
        this.pixels = pixels;
        this.labels = labels;
    }

    /** Loads the built-in digits. */
    public static SampleDigits load() {
        try (InputStream raw = SampleDigits.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            if (raw == null) {
                throw new IllegalStateException(RESOURCE + " is missing from the class path (the jar was built without models/)");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(raw), StandardCharsets.US_ASCII));
            List<int[]> rows = new ArrayList<>();
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isBlank()) {
                    continue;
                }
                String[] f = line.split(",");
                int[] v = new int[65];
                for (int i = 0; i < 65; i++) {
                    v[i] = (int) Double.parseDouble(f[i]);
                }
                rows.add(v);
            }
            int[][] px = new int[rows.size()][];
            int[] lab = new int[rows.size()];
            for (int i = 0; i < px.length; i++) {
                px[i] = java.util.Arrays.copyOf(rows.get(i), 64);
                lab[i] = rows.get(i)[64];
            }
            return new SampleDigits(px, lab);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + RESOURCE + ": " + e, e);
        }
    }

    public int size() {
        return labels.length;
    }

    public int label(int i) {
        return labels[i];
    }

    /** Pixel values 0..16 of digit {@code i}, row by row (a copy). */
    public int[] pixels(int i) {
        return pixels[i].clone();
    }

    /** Digit {@code i} as an 8-bit grayscale image. */
    public BufferedImage image(int i) {
        BufferedImage img = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY);
        for (int p = 0; p < 64; p++) {
            img.getRaster().setSample(p % 8, p / 8, 0, Math.round(pixels[i][p] * 255f / 16f));
        }
        return img;
    }

    /** File name of digit {@code i}: {@code <label>/<index, 4 digits>.png}. */
    public String fileName(int i) {
        return labels[i] + "/" + String.format("%04d", i) + ".png";
    }

    /**
     * Writes digits {@code from..to-1} as PNGs under {@code dir} ({@link #fileName}); returns the paths.
     * Refuses to overwrite an existing file.
     */
    public List<Path> write(Path dir, int from, int to) throws IOException {
        List<Path> out = new ArrayList<>();
        for (int i = from; i < to; i++) {
            Path f = dir.resolve(fileName(i));
            Files.createDirectories(f.getParent());
            if (Files.exists(f)) {
                throw new IOException(f + " exists already; write the digits into an empty folder");
            }
            Path part = f.resolveSibling(f.getFileName() + ".part");
            if (!ImageIO.write(image(i), "png", part.toFile())) {
                throw new IOException("no PNG writer");
            }
            Files.move(part, f, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            out.add(f);
        }
        return out;
    }
}
