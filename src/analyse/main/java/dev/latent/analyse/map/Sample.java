package dev.latent.analyse.map;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The points a map draws when it cannot draw them all: a uniform random sample of a fixed size, drawn with a
 * fixed seed (the same data and seed give the same sample), that keeps every outlier (they are few and the
 * reason to look), in the points' own order.
 *
 * @param rows     the chosen points, ascending
 * @param total    all points
 * @param outliers outliers among the chosen points
 * @param allOutliers outliers among all points
 * @param sampled  whether some points were left out
 */
record Sample(int[] rows, int total, int outliers, int allOutliers, boolean sampled) {

    /** Every point of {@code data} when there are at most {@code limit}, else a sample of {@code limit}. */
    static Sample of(MapData data, int limit, long seed) {
        if (limit < 1) {
            throw new IllegalArgumentException("the point limit must be >= 1, got " + limit);
        }
        int n = data.size();
        boolean[] outlier = data.outlier();
        int outliers = data.outlierCount();
        if (n <= limit) {
            int[] all = new int[n];
            for (int i = 0; i < n; i++) {
                all[i] = i;
            }
            return new Sample(all, n, outliers, outliers, false);
        }
        SplittableRandom random = new SplittableRandom(seed);
        boolean[] chosen = new boolean[n];
        // Outliers first: all of them when they fit, else a sample of them and nothing else.
        int keepOutliers = Math.min(outliers, limit);
        select(outlier, true, outliers, keepOutliers, chosen, random);
        select(outlier, false, n - outliers, limit - keepOutliers, chosen, random);
        int[] rows = new int[limit];
        int r = 0;
        for (int i = 0; i < n; i++) {
            if (chosen[i]) {
                rows[r++] = i;
            }
        }
        return new Sample(rows, n, keepOutliers, outliers, true);
    }

    /**
     * Selection sampling (Knuth's algorithm S): walks the {@code candidates} points whose outlier flag is
     * {@code which} and takes each with probability needed / remaining, so exactly {@code take} are taken,
     * every subset equally likely, in one pass without extra memory.
     */
    private static void select(boolean[] outlier, boolean which, int candidates, int take, boolean[] chosen,
            SplittableRandom random) {
        int remaining = candidates;
        int needed = take;
        for (int i = 0; i < outlier.length && needed > 0; i++) {
            if (outlier[i] != which) {
                continue;
            }
            if (random.nextInt(remaining) < needed) {
                chosen[i] = true;
                needed--;
            }
            remaining--;
        }
    }

    /** Points drawn. */
    int size() {
        return rows.length;
    }

    /**
     * What a reader must be told, such as {@code "showing 100,000 of 1,000,000 points (random sample; all
     * 1,204 outliers kept)"}; empty when every point is drawn.
     */
    String note() {
        if (!sampled) {
            return "";
        }
        String s = String.format(Locale.ROOT, "showing %,d of %,d points (random sample", rows.length, total);
        if (outliers > 0 && outliers == allOutliers) {
            return s + String.format(Locale.ROOT, "; all %,d outliers kept)", outliers);
        }
        return s + ")";
    }
}
