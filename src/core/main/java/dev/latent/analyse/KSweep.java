package dev.latent.analyse;

import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Helps choose k: fits k-means for each k of a range and reports the inertia and a silhouette estimate.
 * The inertia always falls as k grows; look for the elbow where it stops falling fast, and for a high
 * silhouette. Stateless.
 */
public final class KSweep {
    private KSweep() {
    }

    /** One k of the sweep. */
    public record Row(int k, double inertia, double silhouette, int iterations, double seconds) {
    }

    /**
     * @param make             the k-means to run for a given k (same seed and options for every k)
     * @param silhouetteSample points the silhouette is estimated on
     */
    public static List<Row> run(FloatMatrix points, Metric metric, int[] ks, IntFunction<KMeans> make,
            int silhouetteSample, long seed, Backend backend) {
        Backend be = backend != null ? backend : Backends.get();
        List<Row> rows = new ArrayList<>();
        for (int k : ks) {
            try (KMeansResult r = make.apply(k).backend(be).fit(points, metric)) {
                double sil = Silhouette.estimate(points, metric, r.labels(), k, silhouetteSample, seed, be);
                rows.add(new Row(k, r.inertia(), sil, r.iterations(), r.seconds()));
            }
        }
        return rows;
    }

    /**
     * Parses a k range: {@code 8} (one k), {@code 4..64} (powers of two from 4 to 64, and 64), or a
     * comma list {@code 5,10,20}.
     */
    public static int[] parse(String spec) {
        String s = spec.trim();
        try {
            if (s.contains("..")) {
                String[] p = s.split("\\.\\.", -1);
                int lo = Integer.parseInt(p[0].trim());
                int hi = Integer.parseInt(p[1].trim());
                if (lo < 1 || hi < lo) {
                    throw new IllegalArgumentException("k range '" + spec + "' needs 1 <= low <= high");
                }
                List<Integer> ks = new ArrayList<>();
                for (long k = lo; k < hi; k *= 2) {
                    ks.add((int) k);
                }
                ks.add(hi);
                return ks.stream().mapToInt(Integer::intValue).toArray();
            }
            String[] parts = s.split(",");
            int[] ks = new int[parts.length];
            for (int i = 0; i < parts.length; i++) {
                ks[i] = Integer.parseInt(parts[i].trim());
                if (ks[i] < 1) {
                    throw new IllegalArgumentException("k must be >= 1, got " + ks[i] + " in '" + spec + "'");
                }
            }
            return ks;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("cannot read k from '" + spec + "' (expected 8, 4..64 or 5,10,20)");
        }
    }
}
