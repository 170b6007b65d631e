package dev.latent.space;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class IdMapTest {
    @Test
    void agreesWithHashMapUnderRandomPutsAndRemoves() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        IdMap map = new IdMap(4);
        Map<Long, Integer> ref = new HashMap<>();
        for (int step = 0; step < 200_000; step++) {
            // Small key range so that probe runs collide and removals shift entries back.
            long key = rnd.nextInt(3) == 0 ? rnd.nextLong() : rnd.nextInt(5000) - 2500;
            if (rnd.nextInt(3) == 0) {
                Integer old = ref.remove(key);
                assertEquals(old == null ? -1 : old, map.remove(key), "remove " + key + " seed " + seed);
            } else {
                int v = rnd.nextInt(Integer.MAX_VALUE);
                ref.put(key, v);
                map.put(key, v);
            }
            if (step % 10_000 == 0) {
                for (Map.Entry<Long, Integer> e : ref.entrySet()) {
                    assertEquals((int) e.getValue(), map.get(e.getKey()), "seed " + seed);
                }
            }
        }
        assertEquals(ref.size(), map.size());
        for (Map.Entry<Long, Integer> e : ref.entrySet()) {
            assertEquals((int) e.getValue(), map.get(e.getKey()), "seed " + seed);
        }
    }
}
