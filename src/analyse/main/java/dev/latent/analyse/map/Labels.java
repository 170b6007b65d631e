package dev.latent.analyse.map;

import java.awt.Rectangle;
import java.util.Arrays;

/**
 * Where each segment's name goes on a map picture: at the segment's densest region, without two names
 * overlapping. Pure geometry in pixels, for {@link MapPng}.
 *
 * <ol>
 *   <li><b>Densest region.</b> The plot is cut into square cells of {@code cell} pixels; each segment's points are
 *       counted per cell and the counts summed over each 3 × 3 block of cells. The anchor is the mean position of
 *       the segment's points in the block with the largest sum (ties to the lower row, then column), so it lies on
 *       the segment's points rather than between two of its clumps.</li>
 *   <li><b>Greedy placement.</b> Segments in the order given (the largest first, say) each take the first free
 *       spot among rectangles centred on the anchor, then on points of rings around it (8, 16, 24, ... positions,
 *       rings a label's height apart) up to {@code maxRings}: free means inside the plot and clear of every name
 *       placed before, with a gap of {@value #GAP} pixels. A segment with no free spot gets no name.</li>
 * </ol>
 *
 * Stateless.
 */
final class Labels {
    /** Pixels kept clear between two names. */
    static final int GAP = 3;

    private Labels() {
    }

    /**
     * The anchor (x, y in pixels) of each segment's densest region, or null for a segment without points inside the
     * plot.
     *
     * @param px       x of each point in pixels
     * @param py       y of each point in pixels
     * @param segment  segment of each point ({@link MapData#NONE} for none: ignored)
     * @param segments number of segments
     * @param plot     the plot area
     * @param cell     cell size in pixels (at least 1)
     */
    static double[][] anchors(double[] px, double[] py, int[] segment, int segments, Rectangle plot, int cell) {
        int cols = Math.max(1, (plot.width + cell - 1) / cell);
        int rows = Math.max(1, (plot.height + cell - 1) / cell);
        int[][] counts = new int[segments][];
        for (int i = 0; i < px.length; i++) {
            int s = segment[i];
            if (s < 0 || !plot.contains(px[i], py[i])) {
                continue;
            }
            if (counts[s] == null) {
                counts[s] = new int[cols * rows];
            }
            int cx = Math.min(cols - 1, (int) ((px[i] - plot.x) / cell));
            int cy = Math.min(rows - 1, (int) ((py[i] - plot.y) / cell));
            counts[s][cy * cols + cx]++;
        }
        int[] bestCell = new int[segments];
        Arrays.fill(bestCell, -1);
        for (int s = 0; s < segments; s++) {
            if (counts[s] == null) {
                continue;
            }
            int best = -1;
            int bestSum = 0;
            for (int cy = 0; cy < rows; cy++) {
                for (int cx = 0; cx < cols; cx++) {
                    int sum = 0;
                    for (int dy = -1; dy <= 1; dy++) {
                        for (int dx = -1; dx <= 1; dx++) {
                            int x = cx + dx;
                            int y = cy + dy;
                            if (x >= 0 && y >= 0 && x < cols && y < rows) {
                                sum += counts[s][y * cols + x];
                            }
                        }
                    }
                    if (sum > bestSum) {
                        bestSum = sum;
                        best = cy * cols + cx;
                    }
                }
            }
            bestCell[s] = best;
        }
        double[] sx = new double[segments];
        double[] sy = new double[segments];
        int[] in = new int[segments];
        for (int i = 0; i < px.length; i++) {
            int s = segment[i];
            if (s < 0 || bestCell[s] < 0 || !plot.contains(px[i], py[i])) {
                continue;
            }
            int cx = Math.min(cols - 1, (int) ((px[i] - plot.x) / cell));
            int cy = Math.min(rows - 1, (int) ((py[i] - plot.y) / cell));
            if (Math.abs(cx - bestCell[s] % cols) <= 1 && Math.abs(cy - bestCell[s] / cols) <= 1) {
                sx[s] += px[i];
                sy[s] += py[i];
                in[s]++;
            }
        }
        double[][] out = new double[segments][];
        for (int s = 0; s < segments; s++) {
            if (in[s] > 0) {
                out[s] = new double[] {sx[s] / in[s], sy[s] / in[s]};
            }
        }
        return out;
    }

    /**
     * Places the names greedily (see the class comment).
     *
     * @param anchors  each segment's anchor, or null for none
     * @param widths   each name's width in pixels
     * @param height   the names' height in pixels
     * @param order    the segments in the order they choose their spots
     * @param plot     the area names must stay inside
     * @param maxRings rings of spots tried around an anchor
     * @return each segment's rectangle, or null where a name did not fit
     */
    static Rectangle[] place(double[][] anchors, int[] widths, int height, int[] order, Rectangle plot, int maxRings) {
        Rectangle[] out = new Rectangle[anchors.length];
        java.util.List<Rectangle> taken = new java.util.ArrayList<>();
        for (int s : order) {
            if (anchors[s] == null) {
                continue;
            }
            int w = widths[s];
            spots:
            for (int ring = 0; ring <= maxRings; ring++) {
                int spots = ring == 0 ? 1 : 8 * ring;
                for (int k = 0; k < spots; k++) {
                    double angle = 2 * Math.PI * k / spots;
                    double cx = anchors[s][0] + ring * height * 1.1 * Math.cos(angle) * 1.6;
                    double cy = anchors[s][1] + ring * height * 1.1 * Math.sin(angle);
                    Rectangle r = new Rectangle((int) Math.round(cx - w / 2.0), (int) Math.round(cy - height / 2.0), w,
                            height);
                    if (!plot.contains(r)) {
                        continue;
                    }
                    Rectangle padded = new Rectangle(r.x - GAP, r.y - GAP, r.width + 2 * GAP, r.height + 2 * GAP);
                    boolean clear = true;
                    for (Rectangle t : taken) {
                        if (t.intersects(padded)) {
                            clear = false;
                            break;
                        }
                    }
                    if (clear) {
                        out[s] = r;
                        taken.add(r);
                        break spots;
                    }
                }
            }
        }
        return out;
    }
}
