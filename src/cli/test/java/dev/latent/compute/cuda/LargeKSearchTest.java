package dev.latent.compute.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.latent.core.Metric;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The host-side order of the large-k path: nearest first, ties (and -0/+0) to the lower row, NaN last. */
class LargeKSearchTest {
    private static final long SEED = System.nanoTime();

    @Test
    void packedKeysSortLikeTheMetricsOrder() {
        Random random = new Random(SEED);
        float[] special = {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, Float.MIN_VALUE,
                -Float.MIN_VALUE, Float.MAX_VALUE, -Float.MAX_VALUE, 1f, -1f};
        for (Metric metric : Metric.values()) {
            for (int size : new int[] {1, 7, 1000, 4097}) {
                float[] scores = new float[size];
                for (int i = 0; i < size; i++) {
                    int pick = random.nextInt(4);
                    scores[i] = pick == 0 ? special[random.nextInt(special.length)]
                            : pick == 1 ? random.nextInt(5) - 2 // many exact ties
                            : (float) random.nextGaussian() * 1e3f;
                }
                long[] packed = new long[size];
                Integer[] want = new Integer[size];
                for (int i = 0; i < size; i++) {
                    packed[i] = LargeKSearch.key(scores[i], metric, i);
                    want[i] = i;
                }
                Arrays.sort(packed);
                Arrays.sort(want, Comparator.comparingDouble((Integer i) -> rank(scores[i], metric))
                        .thenComparingInt(i -> i));
                for (int r = 0; r < size; r++) {
                    assertEquals((long) want[r], packed[r] & 0xFFFF_FFFFL,
                            metric + " size " + size + " rank " + r + " seed " + SEED);
                }
            }
        }
    }

    /** The reference order in float64: lower is nearer, NaN counts as +infinity, -0 equals +0. */
    private static double rank(float score, Metric metric) {
        double k = metric.higherIsNearer() ? -(double) score : score;
        return Double.isNaN(k) ? Double.POSITIVE_INFINITY : k + 0.0;
    }
}
