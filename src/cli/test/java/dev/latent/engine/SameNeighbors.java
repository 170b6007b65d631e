package dev.latent.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.latent.core.Neighbors;

/**
 * Compares an engine result with the single-query answer of the same index. Ids must match exactly; scores
 * within 4 float32 ulps of 1 (4.8e-7): the native CPU backend runs a lone query and a block of queries
 * through different micro-kernels, whose sums round differently in the last bit (seen: 0.62748194 alone,
 * 0.6274819 in a batch). Scores of these tests are cosines, at most 1 in magnitude.
 */
final class SameNeighbors {
    private static final float TOLERANCE = 4 * Math.ulp(1f);

    private SameNeighbors() {
    }

    static void assertSame(Neighbors want, Neighbors got, String what) {
        assertEquals(1, got.queries(), what);
        assertEquals(want.count(), got.count(), what + ": result count");
        assertArrayEquals(want.ids(0), got.ids(0), what + ": ids");
        assertArrayEquals(want.scores(0), got.scores(0), TOLERANCE, what + ": scores");
    }
}
