package dev.latent.cli;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import javax.imageio.ImageIO;
import picocli.CommandLine;

/** Small PNG thumbnails as data URIs, for the map page's hover. */
final class Thumbnails {
    /** Longest side of a thumbnail, pixels. */
    static final int SIZE = 48;

    private Thumbnails() {}

    /**
     * One thumbnail per row ({@code paths.get(ids[i])} under {@code root}); an image that cannot be read gets
     * none (a note on stderr). Rows past {@code limit} get none either (the page shows at most that many points).
     */
    static String[] of(List<String> paths, long[] ids, Path root, int limit, CommandLine cl) {
        String[] out = new String[ids.length];
        int failed = 0;
        for (int i = 0; i < Math.min(ids.length, limit); i++) {
            Path f = (root == null ? Path.of("") : root).resolve(paths.get((int) ids[i]));
            try {
                BufferedImage img = ImageIO.read(f.toFile());
                if (img == null) {
                    throw new IOException("not an image");
                }
                out[i] = uri(img);
            } catch (IOException | RuntimeException e) {
                if (failed++ == 0) {
                    cl.getErr().println("no thumbnail for " + f + ": " + e.getMessage());
                }
            }
        }
        if (failed > 1) {
            cl.getErr().println("no thumbnails for " + failed + " images in all");
        }
        return out;
    }

    /** The image scaled to fit SIZE × SIZE (small images by whole pixels, so they stay sharp), as a PNG data URI. */
    static String uri(BufferedImage img) throws IOException {
        int w = img.getWidth();
        int h = img.getHeight();
        double scale = Math.min((double) SIZE / w, (double) SIZE / h);
        if (scale >= 1) {
            scale = Math.floor(scale);
        }
        int tw = Math.max(1, (int) Math.round(w * scale));
        int th = Math.max(1, (int) Math.round(h * scale));
        BufferedImage t = new BufferedImage(tw, th, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = t.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, scale >= 1
                    ? RenderingHints.VALUE_INTERPOLATION_NEAREST_NEIGHBOR : RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.drawImage(scale >= 1 ? img : img.getScaledInstance(tw, th, java.awt.Image.SCALE_AREA_AVERAGING), 0, 0, tw, th, null);
        } finally {
            g.dispose();
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(t, "png", png);
        return "data:image/png;base64," + Base64.getEncoder().encodeToString(png.toByteArray());
    }
}
