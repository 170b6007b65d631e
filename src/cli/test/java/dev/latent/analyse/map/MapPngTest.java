package dev.latent.analyse.map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MapPngTest {
    @TempDir
    Path dir;

    @Test
    void writesAPngOfTheRequestedSizeWithEverySegmentsColour() throws Exception {
        MapData map = SyntheticMap.blobs(3_000, 1);
        Path file = dir.resolve("map.png");
        MapPng.create().size(1200, 900).write(map, file);

        BufferedImage image = ImageIO.read(file.toFile());
        assertNotNull(image, "the file decodes as an image");
        assertEquals(1200, image.getWidth());
        assertEquals(900, image.getHeight());
        assertTrue(distinctColours(image) > 1, "more than one colour besides white and grey");
        for (int s = 0; s < map.segments().size(); s++) {
            int pixels = near(image, Palette.segment(s), 60);
            assertTrue(pixels > 50, "segment " + s + " (" + Palette.hex(Palette.segment(s)) + ") drawn: " + pixels
                    + " pixels of its colour");
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList(), "only the PNG is left, no temporary file");
        }
    }

    @Test
    void aMillionPointsAreSampledAndRenderInBoundedTime() {
        MapData map = SyntheticMap.blobs(1_000_000, 2);
        long start = System.nanoTime();
        BufferedImage image = MapPng.create().size(800, 600).maxPoints(200_000).render(map);
        double seconds = (System.nanoTime() - start) / 1e9;
        assertEquals(800, image.getWidth());
        assertTrue(distinctColours(image) > 1);
        // 200,000 markers take about a second or two; drawing all million would take several times that.
        assertTrue(seconds < 60, "rendering took " + seconds + " s");
    }

    @Test
    void manySegmentsSharedLabelsNoSegmentAndTinyMapsRender() {
        int n = 4_000;
        float[] x = new float[n];
        float[] y = new float[n];
        String[] ids = new String[n];
        int[] seg = new int[n];
        List<MapData.Segment> segments = new ArrayList<>();
        for (int s = 0; s < 60; s++) {
            // Duplicate labels must not trip XChart's unique series names.
            segments.add(new MapData.Segment(s % 7 == 0 ? "same label" : "segment " + s + " with a label that is far"
                    + " too long to fit in any legend at all", 100 + s));
        }
        for (int i = 0; i < n; i++) {
            double a = i * 0.01;
            x[i] = (float) (Math.cos(a) * a);
            y[i] = (float) (Math.sin(a) * a);
            ids[i] = "p" + i;
            seg[i] = i % 10 == 0 ? MapData.NONE : (i / 60) % 60;
        }
        MapData map = new MapData(x, y, ids, null, seg, null, segments, "Spiral", null);
        BufferedImage image = MapPng.create().size(1000, 700).render(map);
        assertTrue(distinctColours(image) > 10);

        MapData one = new MapData(new float[] {1}, new float[] {1}, new String[] {"a"}, null, null, null, null, null,
                null);
        assertEquals(300, MapPng.create().size(400, 300).render(one).getHeight());
        MapData none = new MapData(new float[0], new float[0], new String[0], null, null, null, null, "Empty", null);
        assertEquals(300, MapPng.create().size(400, 300).render(none).getHeight());
    }

    @Test
    void refusesATinyImage() {
        assertThrows(IllegalArgumentException.class, () -> MapPng.create().size(10, 10));
        assertThrows(IllegalArgumentException.class, () -> MapPng.create().maxPoints(0));
    }

    /** Distinct colours that are neither white nor a grey (r = g = b). */
    static int distinctColours(BufferedImage image) {
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y) & 0xffffff;
                int r = rgb >> 16;
                int g = (rgb >> 8) & 0xff;
                int b = rgb & 0xff;
                if (!(r == g && g == b)) {
                    colours.add(rgb);
                }
            }
        }
        return colours.size();
    }

    /**
     * Pixels within {@code tolerance} (summed over the channels) of {@code c} or of {@code c} blended with white
     * at the opacities the renderers use; near-white pixels never count.
     */
    static int near(BufferedImage image, Color c, int tolerance) {
        int count = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y);
                if (((rgb >> 16) & 0xff) + ((rgb >> 8) & 0xff) + (rgb & 0xff) > 3 * 255 - 90) {
                    continue; // white or nearly: background
                }
                for (double alpha = 0.35; alpha <= 1.0001; alpha += 0.05) {
                    int r = (int) Math.round(c.getRed() * alpha + 255 * (1 - alpha));
                    int g = (int) Math.round(c.getGreen() * alpha + 255 * (1 - alpha));
                    int b = (int) Math.round(c.getBlue() * alpha + 255 * (1 - alpha));
                    int d = Math.abs(((rgb >> 16) & 0xff) - r) + Math.abs(((rgb >> 8) & 0xff) - g)
                            + Math.abs((rgb & 0xff) - b);
                    if (d <= tolerance) {
                        count++;
                        break;
                    }
                }
            }
        }
        return count;
    }
}
