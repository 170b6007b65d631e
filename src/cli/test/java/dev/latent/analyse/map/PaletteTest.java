package dev.latent.analyse.map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * The palette's colours can be told apart: the smallest pairwise CIEDE2000 distance of the first twelve segment
 * colours with normal vision and under the Machado et al. (2009) simulations of deuteranopia and protanopia
 * (severity 1, applied to linear sRGB). The colour difference is checked first against Sharma, Wu and Dalal's
 * (2005) published test pairs.
 */
class PaletteTest {
    /** Machado et al. 2009, severity 1.0, for linear RGB. */
    private static final double[][] DEUTERANOPIA = {
        {0.367322, 0.860646, -0.227968}, {0.280085, 0.672501, 0.047413}, {-0.011820, 0.042940, 0.968881}};
    private static final double[][] PROTANOPIA = {
        {0.152286, 1.052583, -0.204868}, {0.114503, 0.786281, 0.099216}, {-0.003882, -0.048116, 1.051998}};

    @Test
    void ciede2000MatchesSharmasTestData() {
        double[][][] pairs = {
            {{50, 2.6772, -79.7751}, {50, 0, -82.7485}, {2.0425}},
            {{50, 3.1571, -77.2803}, {50, 0, -82.7485}, {2.8615}},
            {{50, 0, 0}, {50, -1, 2}, {2.3669}},
            {{50, 2.5, 0}, {73, 25, -18}, {27.1492}},
            {{50, 2.5, 0}, {61, -5, 29}, {22.8977}},
            {{50, 2.5, 0}, {56, -27, -3}, {31.9030}},
            {{50, 2.5, 0}, {58, 24, 15}, {19.4535}},
            {{60.2574, -34.0099, 36.2677}, {60.4626, -34.1751, 39.4387}, {1.2644}},
        };
        for (double[][] p : pairs) {
            assertEquals(p[2][0], ciede2000(p[0], p[1]), 5e-5);
            assertEquals(p[2][0], ciede2000(p[1], p[0]), 5e-5, "symmetric");
        }
    }

    @Test
    void twelveColoursStayApartInEveryVision() {
        double[] min = minimumDistances(12);
        System.out.printf(Locale.ROOT, "palette, first 12 colours: smallest CIEDE2000 normal %.1f, deuteranopia %.1f, "
                + "protanopia %.1f%n", min[0], min[1], min[2]);
        assertTrue(min[0] >= 14, "normal vision: " + min[0]);
        assertTrue(min[1] >= 12, "deuteranopia: " + min[1]);
        assertTrue(min[2] >= 12, "protanopia: " + min[2]);
        // The twelve stand apart from the grey of 'no segment' and from black, in every vision.
        for (int s = 0; s < 12; s++) {
            for (double[][] m : new double[][][] {null, DEUTERANOPIA, PROTANOPIA}) {
                double[] c = lab(Palette.segment(s), m);
                assertTrue(ciede2000(c, lab(Palette.NONE, m)) >= 12, "segment " + s + " against the grey");
                assertTrue(ciede2000(c, lab(Palette.OUTLIER, m)) >= 20, "segment " + s + " against black");
            }
        }
    }

    @Test
    void theCheckCatchesAPaletteThatDeuteranopesCannotRead() {
        // matplotlib's tab20 without greys, the order used before: red and green collapse under deuteranopia.
        int[] tab = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0xbcbd22, 0x17becf,
            0xaec7e8, 0xffbb78, 0x98df8a};
        double worst = Double.POSITIVE_INFINITY;
        for (int i = 0; i < tab.length; i++) {
            for (int j = i + 1; j < tab.length; j++) {
                worst = Math.min(worst, ciede2000(lab(new Color(tab[i]), DEUTERANOPIA), lab(new Color(tab[j]), DEUTERANOPIA)));
            }
        }
        assertTrue(worst < 5, "tab20's worst deuteranope pair " + worst);
    }

    /** The smallest pairwise distance of the first {@code k} colours: normal, deuteranopia, protanopia. */
    static double[] minimumDistances(int k) {
        double[] out = new double[3];
        double[][][] ms = {null, DEUTERANOPIA, PROTANOPIA};
        for (int v = 0; v < 3; v++) {
            double min = Double.POSITIVE_INFINITY;
            for (int i = 0; i < k; i++) {
                for (int j = i + 1; j < k; j++) {
                    min = Math.min(min, ciede2000(lab(Palette.segment(i), ms[v]), lab(Palette.segment(j), ms[v])));
                }
            }
            out[v] = min;
        }
        return out;
    }

    /** CIELAB (D65) of a colour as seen through {@code sim} (null: normal vision). */
    static double[] lab(Color c, double[][] sim) {
        double[] rgb = {linear(c.getRed()), linear(c.getGreen()), linear(c.getBlue())};
        if (sim != null) {
            double[] s = new double[3];
            for (int i = 0; i < 3; i++) {
                s[i] = Math.max(0, Math.min(1, sim[i][0] * rgb[0] + sim[i][1] * rgb[1] + sim[i][2] * rgb[2]));
            }
            rgb = s;
        }
        double x = (0.4124564 * rgb[0] + 0.3575761 * rgb[1] + 0.1804375 * rgb[2]) / 0.95047;
        double y = 0.2126729 * rgb[0] + 0.7151522 * rgb[1] + 0.0721750 * rgb[2];
        double z = (0.0193339 * rgb[0] + 0.1191920 * rgb[1] + 0.9503041 * rgb[2]) / 1.08883;
        double fx = f(x);
        double fy = f(y);
        double fz = f(z);
        return new double[] {116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)};
    }

    private static double f(double t) {
        double d = 6.0 / 29;
        return t > d * d * d ? Math.cbrt(t) : t / (3 * d * d) + 4.0 / 29;
    }

    private static double linear(int v) {
        double c = v / 255.0;
        return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    }

    /** CIEDE2000 (Sharma, Wu and Dalal 2005), kL = kC = kH = 1. */
    static double ciede2000(double[] p, double[] q) {
        double c1 = Math.hypot(p[1], p[2]);
        double c2 = Math.hypot(q[1], q[2]);
        double cb = (c1 + c2) / 2;
        double g = 0.5 * (1 - Math.sqrt(Math.pow(cb, 7) / (Math.pow(cb, 7) + Math.pow(25, 7))));
        double a1 = (1 + g) * p[1];
        double a2 = (1 + g) * q[1];
        double c1p = Math.hypot(a1, p[2]);
        double c2p = Math.hypot(a2, q[2]);
        double h1 = hue(p[2], a1);
        double h2 = hue(q[2], a2);
        double dL = q[0] - p[0];
        double dC = c2p - c1p;
        double dh = 0;
        if (c1p * c2p != 0) {
            dh = h2 - h1;
            if (dh > 180) {
                dh -= 360;
            } else if (dh < -180) {
                dh += 360;
            }
        }
        double dH = 2 * Math.sqrt(c1p * c2p) * Math.sin(Math.toRadians(dh / 2));
        double lb = (p[0] + q[0]) / 2;
        double cbp = (c1p + c2p) / 2;
        double hb = h1 + h2;
        if (c1p * c2p != 0) {
            hb = Math.abs(h1 - h2) <= 180 ? hb / 2 : hb < 360 ? (hb + 360) / 2 : (hb - 360) / 2;
        }
        double t = 1 - 0.17 * Math.cos(Math.toRadians(hb - 30)) + 0.24 * Math.cos(Math.toRadians(2 * hb))
                + 0.32 * Math.cos(Math.toRadians(3 * hb + 6)) - 0.20 * Math.cos(Math.toRadians(4 * hb - 63));
        double dTheta = 30 * Math.exp(-Math.pow((hb - 275) / 25, 2));
        double rc = 2 * Math.sqrt(Math.pow(cbp, 7) / (Math.pow(cbp, 7) + Math.pow(25, 7)));
        double sl = 1 + 0.015 * (lb - 50) * (lb - 50) / Math.sqrt(20 + (lb - 50) * (lb - 50));
        double sc = 1 + 0.045 * cbp;
        double sh = 1 + 0.015 * cbp * t;
        double rt = -Math.sin(Math.toRadians(2 * dTheta)) * rc;
        return Math.sqrt(Math.pow(dL / sl, 2) + Math.pow(dC / sc, 2) + Math.pow(dH / sh, 2)
                + rt * (dC / sc) * (dH / sh));
    }

    private static double hue(double b, double a) {
        if (a == 0 && b == 0) {
            return 0;
        }
        double h = Math.toDegrees(Math.atan2(b, a));
        return h < 0 ? h + 360 : h;
    }
}
