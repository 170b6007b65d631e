package dev.latent.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.FloatMatrix;
import org.junit.jupiter.api.Test;

/** BenchData is SplitMix64 exactly, so bench_torch.py (and anyone else) can rebuild its matrices. */
class BenchDataTest {
    /** The first outputs of SplitMix64 seeded with 1234567, as published with its reference code. */
    @Test
    void mixIsSplitMix64() {
        long[] want = {6457827717110365317L, 3203168211198807973L, 0x883EBCE5A3F27C77L, 4593380528125082431L,
            0xE3B8346708CB5ECDL};
        long state = 1234567L;
        for (long w : want) {
            state += BenchData.GOLDEN;
            assertEquals(w, BenchData.mix(state));
        }
        assertEquals(Long.parseUnsignedLong("9817491932198370423"), want[2]);
        assertEquals(Long.parseUnsignedLong("16408922859458223821"), want[4]);
    }

    /** The first values of seed 42, database stream, as bench_torch.bench_matrix builds them. */
    @Test
    void valuesMatchTheDocumentedDefinition() {
        long key = BenchData.key(42, BenchData.DATABASE);
        float[] want = {-0.31341624f, 0.9114934f, -0.027300954f, -0.8652843f, 0.3538314f};
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], BenchData.value(key, i));
            long bits = BenchData.mix(key + BenchData.GOLDEN * (i + 1)) >>> 40;
            assertEquals((bits - 8388608) / 8388608.0, BenchData.value(key, i), 0.0);
        }
    }

    @Test
    void valuesAreInRangeAndUseAll24Bits() {
        long key = BenchData.key(7, BenchData.QUERIES);
        float min = 1, max = -1;
        for (long i = 0; i < 200_000; i++) {
            float v = BenchData.value(key, i);
            assertTrue(v >= -1f && v < 1f, "value " + v);
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        assertTrue(min < -0.999f && max > 0.999f, min + " .. " + max);
    }

    /** The same matrix whatever the thread count; streams and seeds differ. */
    @Test
    void matricesAreDeterministic() {
        try (FloatMatrix a = BenchData.matrix(1000, 7, 42, BenchData.DATABASE, 1);
             FloatMatrix b = BenchData.matrix(1000, 7, 42, BenchData.DATABASE, 3);
             FloatMatrix c = BenchData.matrix(1000, 7, 42, BenchData.QUERIES, 2);
             FloatMatrix one = BenchData.matrix(1, 1, 42, BenchData.DATABASE, 4)) {
            assertArrayEquals(a.copyRows(0, 1000), b.copyRows(0, 1000));
            assertTrue(a.get(0, 0) != c.get(0, 0) || a.get(5, 3) != c.get(5, 3));
            long key = BenchData.key(42, BenchData.DATABASE);
            assertEquals(BenchData.value(key, 999L * 7 + 6), a.get(999, 6));
            assertEquals(a.get(0, 0), one.get(0, 0));
        }
    }
}
