package dev.latent.space;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Snapshots pin rows and ids in O(1); later adds, removes and growth never change what they hold. */
class VectorSetSnapshotTest {
    private static final int D = 5;

    /** The vector stored under {@code id}: a function of the id, so any (id, row) pairing can be checked. */
    static float[] vectorOf(long id) {
        Random r = new Random(id * 0x9E3779B97F4A7C15L);
        float[] v = new float[D];
        for (int i = 0; i < D; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    private static void add(VectorSet set, long... ids) {
        float[][] rows = new float[ids.length][];
        for (int i = 0; i < ids.length; i++) {
            rows[i] = vectorOf(ids[i]);
        }
        try (FloatMatrix m = FloatMatrix.of(rows)) {
            set.add(ids, m);
        }
    }

    /** What a snapshot must hold: the ids in row order, as they were when it was taken. */
    private static void assertHolds(VectorSet.Snapshot s, long[] expectedIds) {
        assertEquals(expectedIds.length, s.size());
        assertArrayEquals(expectedIds, Arrays.copyOf(s.idsShared(), s.size()));
        try (FloatMatrix rows = s.rows()) {
            assertEquals(expectedIds.length, rows.rows());
            for (int r = 0; r < expectedIds.length; r++) {
                assertArrayEquals(vectorOf(expectedIds[r]), rows.getRow(r), "row " + r + " of a snapshot");
            }
        }
    }

    @Test
    void randomAddsRemovesAndGrowthNeverChangeAnOpenSnapshot() {
        Random rnd = new Random(20261126);
        for (int trial = 0; trial < 20; trial++) {
            try (VectorSet set = new VectorSet(D, Metric.L2)) {
                long next = 1;
                List<Long> live = new ArrayList<>();
                Map<VectorSet.Snapshot, long[]> open = new LinkedHashMap<>();
                for (int step = 0; step < 200; step++) {
                    int op = rnd.nextInt(10);
                    if (op < 4) {                       // add 1..1500 (sometimes past the capacity)
                        int n = 1 + (rnd.nextInt(4) == 0 ? rnd.nextInt(1500) : rnd.nextInt(7));
                        long[] ids = new long[n];
                        for (int i = 0; i < n; i++) {
                            ids[i] = next++;
                            live.add(ids[i]);
                        }
                        add(set, ids);
                    } else if (op < 7 && !live.isEmpty()) { // remove a few, anywhere (holes in pinned rows)
                        int n = 1 + rnd.nextInt(Math.min(live.size(), 9));
                        long[] ids = new long[n];
                        for (int i = 0; i < n; i++) {
                            ids[i] = live.remove(rnd.nextInt(live.size()));
                        }
                        assertEquals(n, set.remove(ids));
                    } else if (op < 9) {
                        open.put(set.snapshot(), set.ids());
                    } else if (!open.isEmpty()) {
                        VectorSet.Snapshot s = open.keySet().iterator().next();
                        assertHolds(s, open.remove(s));
                        s.close();
                    }
                    // the set itself stays right: each row holds its id's vector
                    long[] ids = set.ids();
                    assertEquals(live.size(), ids.length);
                    for (int r = 0; r < ids.length; r += 1 + ids.length / 50) {
                        assertArrayEquals(vectorOf(ids[r]), set.vector(ids[r]));
                    }
                }
                for (Map.Entry<VectorSet.Snapshot, long[]> e : open.entrySet()) {
                    assertHolds(e.getKey(), e.getValue());
                    e.getKey().close();
                }
            }
        }
    }

    @Test
    void removalsAndAddsInPlaceLeaveTheSnapshotAlone() {
        try (VectorSet set = new VectorSet(D, Metric.L2)) {
            set.reserve(100);                 // no growth below: every add writes in place
            add(set, 1, 2, 3, 4);
            set.remove(4);
            try (VectorSet.Snapshot s = set.snapshot()) {
                add(set, 8);                  // row 3, past the pinned rows: shared storage
                set.remove(8);
                set.remove(1);                // moves the last row into row 0, pinned: copies first
                add(set, 5, 6);
                set.remove(2);
                assertHolds(s, new long[] {1, 2, 3});
                assertArrayEquals(new long[] {3, 6, 5}, set.ids());
            }
            assertArrayEquals(new long[] {3, 6, 5}, set.ids());
            assertArrayEquals(vectorOf(6), set.vector(6));
        }
    }

    @Test
    void aSnapshotOutlivesItsSetAndClosesOnce() {
        VectorSet.Snapshot s;
        try (VectorSet set = new VectorSet(D, Metric.COSINE)) {
            add(set, 10, 20, 30);
            s = set.snapshot();
        }
        assertHolds(s, new long[] {10, 20, 30});
        s.close();
        s.close();
        assertThrows(IllegalStateException.class, s::rows);
    }

    @Test
    void aFailedAddLeavesSetAndSnapshotAsTheyWere() {
        try (VectorSet set = new VectorSet(D, Metric.L2)) {
            add(set, 1, 2, 3);
            set.remove(3);
            try (VectorSet.Snapshot s = set.snapshot()) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> add(set, 7, 1));
                assertEquals("id 1 is already in the index", e.getMessage());
                assertArrayEquals(new long[] {1, 2}, set.ids());
                assertHolds(s, new long[] {1, 2});
            }
        }
    }
}
