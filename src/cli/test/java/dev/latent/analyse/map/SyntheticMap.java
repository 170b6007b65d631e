package dev.latent.analyse.map;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Gaussian blobs in the plane with made-up texts, one segment per blob, and a few far-out outliers. */
final class SyntheticMap {
    static final String[][] TOPICS = {
        {"fish", "shark", "marine", "reef", "coral"},
        {"football", "league", "goal", "coach", "season"},
        {"election", "vote", "senate", "campaign", "policy"},
        {"recipe", "flour", "oven", "butter", "bake"},
        {"galaxy", "telescope", "orbit", "planet", "nebula"},
    };
    static final float[][] CENTRES = {{-6, 4}, {5, 5}, {0, -5}, {-7, -4}, {7, -3}};

    private SyntheticMap() {
    }

    /** {@code n} points in 5 blobs, every 500th point (and at least 3) an outlier far from all blobs. */
    static MapData blobs(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        float[] y = new float[n];
        String[] ids = new String[n];
        String[] texts = new String[n];
        int[] seg = new int[n];
        boolean[] out = new boolean[n];
        long[] sizes = new long[TOPICS.length];
        int outliers = Math.max(3, n / 500);
        for (int i = 0; i < n; i++) {
            // Unequal blobs: segment 0 is the largest.
            int s = Math.min(TOPICS.length - 1, (int) Math.floor(Math.pow(r.nextDouble(), 1.6) * TOPICS.length));
            double spread = 0.8 + 0.3 * s;
            x[i] = (float) (CENTRES[s][0] + r.nextGaussian() * spread);
            y[i] = (float) (CENTRES[s][1] + r.nextGaussian() * spread);
            seg[i] = s;
            ids[i] = "doc-" + i;
            String[] words = TOPICS[s];
            texts[i] = "A note about " + words[r.nextInt(words.length)] + " and " + words[r.nextInt(words.length)]
                    + " (#" + i + ")";
            if (i % (n / outliers) == n / outliers - 1 && i / (n / outliers) < outliers) {
                double a = r.nextDouble() * 2 * Math.PI;
                x[i] = (float) (13 * Math.cos(a));
                y[i] = (float) (11 * Math.sin(a));
                out[i] = true;
                seg[i] = r.nextInt(3) == 0 ? MapData.NONE : s;
                texts[i] = "Odd one out: quantum " + words[0] + " (#" + i + ")";
            }
            if (seg[i] >= 0) {
                sizes[seg[i]]++;
            }
        }
        List<MapData.Segment> segments = new ArrayList<>();
        for (int s = 0; s < TOPICS.length; s++) {
            segments.add(new MapData.Segment(String.join(", ", TOPICS[s]), sizes[s]));
        }
        return new MapData(x, y, ids, texts, seg, out, segments, "Synthetic corpus: five topics",
                "UMAP of 384-d embeddings (synthetic), k-means k=5, LOF outliers at the 99th percentile");
    }
}
