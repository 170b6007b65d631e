package dev.latent.analyse.map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Rectangle;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Segment names on the picture: anchored at each segment's dense core, never overlapping, inside the plot. */
class LabelsTest {
    private static final Rectangle PLOT = new Rectangle(10, 20, 800, 600);

    @Test
    void anchorsSitOnTheDenseCoreNotTheMean() {
        // Each segment: a tight core of 200 points and 300 points scattered over the whole plot, so the mean of
        // the segment lies near the plot's centre while its densest region is the core.
        double[][] cores = {{100, 100}, {700, 550}, {400, 450}, {650, 120}};
        SplittableRandom r = new SplittableRandom(2);
        List<double[]> pts = new ArrayList<>();
        List<Integer> seg = new ArrayList<>();
        for (int s = 0; s < cores.length; s++) {
            for (int i = 0; i < 200; i++) {
                pts.add(new double[] {cores[s][0] + r.nextGaussian() * 6, cores[s][1] + r.nextGaussian() * 6});
                seg.add(s);
            }
            for (int i = 0; i < 300; i++) {
                pts.add(new double[] {PLOT.x + r.nextDouble(PLOT.width), PLOT.y + r.nextDouble(PLOT.height)});
                seg.add(s);
            }
        }
        pts.add(new double[] {300, 300});
        seg.add(MapData.NONE);
        double[] px = pts.stream().mapToDouble(p -> p[0]).toArray();
        double[] py = pts.stream().mapToDouble(p -> p[1]).toArray();
        int[] s = seg.stream().mapToInt(Integer::intValue).toArray();
        double[][] anchors = Labels.anchors(px, py, s, cores.length + 1, PLOT, 24);
        for (int k = 0; k < cores.length; k++) {
            double off = Math.hypot(anchors[k][0] - cores[k][0], anchors[k][1] - cores[k][1]);
            assertTrue(off < 12, "segment " + k + " anchored " + off + " px from its core");
        }
        assertNull(anchors[cores.length], "a segment without points gets no anchor");
    }

    @Test
    void crowdedNamesNeverOverlapAndStayInside() {
        // Thirteen names all anchored near one spot, one near the plot's corner, widths of odd sizes.
        int n = 14;
        double[][] anchors = new double[n][];
        int[] widths = new int[n];
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            anchors[i] = new double[] {400 + (i % 3), 300 + (i % 5)};
            widths[i] = 41 + 17 * i;
            order[i] = n - 1 - i;
        }
        anchors[n - 1] = new double[] {PLOT.x + 2, PLOT.y + 2};
        Rectangle[] spots = Labels.place(anchors, widths, 19, order, PLOT, 6);
        List<Rectangle> placed = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (spots[i] != null) {
                assertTrue(PLOT.contains(spots[i]), "name " + i + " inside the plot: " + spots[i]);
                assertEquals(widths[i], spots[i].width);
                placed.add(spots[i]);
            }
        }
        for (int a = 0; a < placed.size(); a++) {
            for (int b = a + 1; b < placed.size(); b++) {
                Rectangle ra = placed.get(a);
                Rectangle rb = placed.get(b);
                Rectangle grown = new Rectangle(ra.x - Labels.GAP, ra.y - Labels.GAP, ra.width + 2 * Labels.GAP,
                        ra.height + 2 * Labels.GAP);
                assertTrue(!grown.intersects(rb), "names overlap: " + ra + " and " + rb);
            }
        }
        assertTrue(placed.size() >= 10, "most names find a spot: " + placed.size());
        // The first to choose (the last index here) takes its anchor's own spot, pushed inside at the corner.
        assertNotNull(spots[n - 1]);
        Rectangle first = spots[n - 2];
        assertNotNull(first);
        assertEquals(400 + (n - 2) % 3, first.getCenterX(), 1.0, "first name centred on its anchor");
    }

    @Test
    void aNameThatFitsNowhereIsLeftOut() {
        Rectangle small = new Rectangle(0, 0, 100, 40);
        double[][] anchors = {{50, 20}, {50, 20}, {50, 20}};
        Rectangle[] spots = Labels.place(anchors, new int[] {90, 90, 200}, 15, new int[] {0, 1, 2}, small, 6);
        assertNotNull(spots[0]);
        assertNull(spots[2], "wider than the plot");
        if (spots[1] != null) {
            assertTrue(!spots[1].intersects(spots[0]));
        }
    }
}
