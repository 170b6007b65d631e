package dev.latent.analyse.map;

import java.awt.Color;
import java.util.Locale;

/**
 * The colours of a map's segments, the same in the PNG and in the HTML page: the 18 colours of matplotlib's
 * tab20 without its two greys (the ten strong ones first, then their light partners), then hues spaced by the
 * golden angle, alternating two brightnesses, for segment 18 and above. Grey is kept for points in no
 * segment and black for outliers, so neither can be mistaken for a segment.
 */
final class Palette {
    static {
        headless();
    }

    private static final int[] TAB20 = {
        0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0xbcbd22, 0x17becf,
        0xaec7e8, 0xffbb78, 0x98df8a, 0xff9896, 0xc5b0d5, 0xc49c94, 0xf7b6d2, 0xdbdb8d, 0x9edae5,
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
        if (i < TAB20.length) {
            return new Color(TAB20[i]);
        }
        int j = i - TAB20.length;
        // The golden angle spreads any number of hues evenly without knowing how many will come; an offset
        // keeps the first ones away from tab20's blue and orange.
        float hue = (float) ((0.11 + j * 0.381966011) % 1.0);
        float brightness = (j & 1) == 0 ? 0.78f : 0.58f;
        return Color.getHSBColor(hue, 0.62f, brightness);
    }

    /** {@code #rrggbb} of a colour, for CSS. */
    static String hex(Color c) {
        return String.format(Locale.ROOT, "#%06x", c.getRGB() & 0xffffff);
    }
}
