package dev.latent.analyse.map;

import java.awt.Color;
import java.util.Locale;

/**
 * The colours of a map's segments, the same in the PNG and in the HTML page: 20 colours chosen so that a person
 * can tell them apart with normal vision and with the commonest colour-vision deficiencies
 * ({@code jmh/map/palette.py}): farthest-point selection in CIEDE2000 over an sRGB grid, where the distance of two
 * colours is the smallest of their distances with normal vision and under Machado et al.'s (2009) simulations of
 * deuteranopia and protanopia, the first twelve then improved as a set. The smallest pairwise CIEDE2000 among the
 * first twelve is 16.4 (normal), 14.2 (deuteranopia) and 14.3 (protanopia), where matplotlib's tab20 order used
 * before gave 15.5, 3.3 and 1.3 ({@code jmh/results/map-20261206/palette.txt}). Every colour has L* in [38, 78]
 * and chroma of at least 30, so none is taken for the grey of points in no segment or the black of outliers.
 * Segments 20 and above get hues spaced by the golden angle, alternating two brightnesses.
 */
final class Palette {
    static {
        headless();
    }

    private static final int[] COLOURS = {
        0x962d87, 0xb42d0f, 0xf0b400, 0x5a1eff, 0x1e8778, 0xc37800, 0x963c4b, 0xe1a587, 0xb487b4, 0x6978ff,
        0xe13c78, 0x96c3ff, 0x9669a5, 0xc35a4b, 0xf07896, 0x9696f0, 0xe1964b, 0x2d5ab4, 0xc38769, 0xc31e69,
    };
    /** Points in no segment. */
    static final Color NONE = new Color(0xb4b4b4);
    /** Outlier marks. */
    static final Color OUTLIER = Color.BLACK;

    private Palette() {
    }

    /**
     * Sets {@code java.awt.headless=true} unless the property is set: maps are drawn into images, never on a
     * screen, and a set but unreachable {@code DISPLAY} would otherwise fail the first drawing. Called before
     * this package touches any AWT class, because the first one to load AWT's native library fixes the mode
     * for the life of the JVM.
     */
    static void headless() {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    /** The colour of segment {@code i} (0-based), opaque. */
    static Color segment(int i) {
        if (i < 0) {
            return NONE;
        }
        if (i < COLOURS.length) {
            return new Color(COLOURS[i]);
        }
        int j = i - COLOURS.length;
        // The golden angle spreads any number of hues evenly without knowing how many will come; an offset
        // moves the first ones off the hues above.
        float hue = (float) ((0.11 + j * 0.381966011) % 1.0);
        float brightness = (j & 1) == 0 ? 0.78f : 0.58f;
        return Color.getHSBColor(hue, 0.62f, brightness);
    }

    /** {@code #rrggbb} of a colour, for CSS. */
    static String hex(Color c) {
        return String.format(Locale.ROOT, "#%06x", c.getRGB() & 0xffffff);
    }
}
