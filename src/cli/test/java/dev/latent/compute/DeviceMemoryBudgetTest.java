package dev.latent.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The device memory budget's arithmetic, parsing and thread safety (the CUDA use is in CudaBackendTest). */
class DeviceMemoryBudgetTest {
    @Test
    void reservationsPastTheBudgetAreRefusedAndReserveNothing() {
        DeviceMemoryBudget b = DeviceMemoryBudget.of(100L << 20, 8L << 20);
        b.reserve(60L << 20, "first matrix");
        DeviceMemoryBudgetException e = assertThrows(DeviceMemoryBudgetException.class,
                () -> b.reserve(41L << 20, "second matrix"));
        assertEquals("second matrix needs 42991616 bytes of device memory, but 62914560 of the budget's 104857600 are"
                + " in use (set latent.cuda.memory or DeviceMemoryBudget.of to change it)", e.getMessage());
        assertEquals(60L << 20, b.used());
        b.reserve(40L << 20, "exactly the rest");
        assertEquals(100L << 20, b.used());
        b.release(100L << 20);
        assertEquals(0, b.used());
        assertThrows(IllegalStateException.class, () -> b.release(1));
        assertThrows(IllegalArgumentException.class, () -> b.reserve(-1, "negative"));
    }

    @Test
    void scratchDefaultsToAQuarterWithinItsBounds() {
        assertEquals(1L << 30, DeviceMemoryBudget.of(4L << 30).scratchPerMatrix());
        assertEquals(DeviceMemoryBudget.DEFAULT_SCRATCH, DeviceMemoryBudget.of(64L << 30).scratchPerMatrix());
        assertEquals(DeviceMemoryBudget.MIN_SCRATCH, DeviceMemoryBudget.of(2L << 20).scratchPerMatrix());
        assertTrue(DeviceMemoryBudget.unlimited().isUnlimited());
        assertThrows(IllegalArgumentException.class, () -> DeviceMemoryBudget.of(1L << 20, 1L << 19));
        assertThrows(IllegalArgumentException.class, () -> DeviceMemoryBudget.of(1L << 20, 2L << 20));
    }

    @Test
    void sizesParseWithSuffixesAndBadOnesNameTheProperty() {
        assertEquals(123, DeviceMemoryBudget.parseBytes("p", "123"));
        assertEquals(64L << 10, DeviceMemoryBudget.parseBytes("p", "64k"));
        assertEquals(512L << 20, DeviceMemoryBudget.parseBytes("p", " 512M "));
        assertEquals(8L << 30, DeviceMemoryBudget.parseBytes("p", "8g"));
        for (String bad : new String[] {"", "g", "-5m", "0", "1.5g", "8t", "99999999999g"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> DeviceMemoryBudget.parseBytes("latent.cuda.memory", bad), bad);
            assertTrue(e.getMessage().startsWith("latent.cuda.memory must be a positive byte count"), e.getMessage());
        }
    }

    @Test
    void propertiesConfigureTheBudget() {
        String memory = System.getProperty(DeviceMemoryBudget.MEMORY_PROPERTY);
        String scratch = System.getProperty(DeviceMemoryBudget.SCRATCH_PROPERTY);
        try {
            System.clearProperty(DeviceMemoryBudget.MEMORY_PROPERTY);
            System.clearProperty(DeviceMemoryBudget.SCRATCH_PROPERTY);
            assertTrue(DeviceMemoryBudget.fromProperties().isUnlimited());
            System.setProperty(DeviceMemoryBudget.MEMORY_PROPERTY, "8g");
            assertEquals(8L << 30, DeviceMemoryBudget.fromProperties().limit());
            assertEquals(DeviceMemoryBudget.DEFAULT_SCRATCH, DeviceMemoryBudget.fromProperties().scratchPerMatrix());
            System.setProperty(DeviceMemoryBudget.SCRATCH_PROPERTY, "64m");
            assertEquals(64L << 20, DeviceMemoryBudget.fromProperties().scratchPerMatrix());
            System.setProperty(DeviceMemoryBudget.MEMORY_PROPERTY, "lots");
            assertThrows(IllegalArgumentException.class, DeviceMemoryBudget::fromProperties);
        } finally {
            restore(DeviceMemoryBudget.MEMORY_PROPERTY, memory);
            restore(DeviceMemoryBudget.SCRATCH_PROPERTY, scratch);
        }
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }

    @Test
    void concurrentReservationsNeverPassTheBudget() throws Exception {
        long limit = 2_000_000;
        DeviceMemoryBudget b = DeviceMemoryBudget.of(limit, DeviceMemoryBudget.MIN_SCRATCH);
        AtomicLong held = new AtomicLong();
        AtomicLong refused = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> work = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int seed = t;
                work.add(pool.submit(() -> {
                    // Each thread keeps up to 6 reservations of up to 600 kB: one thread alone reaches the
                    // 2 MB budget, so refusals are certain; eight make the updates race.
                    Random rnd = new Random(seed);
                    java.util.ArrayDeque<Long> mine = new java.util.ArrayDeque<>();
                    for (int i = 0; i < 20_000; i++) {
                        if (mine.size() == 6) {
                            long old = mine.removeFirst();
                            held.addAndGet(-old);
                            b.release(old);
                        }
                        long bytes = 1 + rnd.nextInt(600_000);
                        try {
                            b.reserve(bytes, "test");
                        } catch (DeviceMemoryBudgetException e) {
                            refused.incrementAndGet();
                            continue;
                        }
                        mine.addLast(bytes);
                        long now = held.addAndGet(bytes);
                        assertTrue(now <= limit, "held " + now);
                    }
                    for (long old : mine) {
                        held.addAndGet(-old);
                        b.release(old);
                    }
                    return null;
                }));
            }
            for (Future<?> f : work) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdown();
        }
        assertEquals(0, b.used());
        assertTrue(refused.get() > 0, "the budget never refused");
    }
}
