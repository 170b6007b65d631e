package dev.latent.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.compute.DeviceException;
import dev.latent.compute.ResidentCodes;
import dev.latent.compute.ResidentMatrix;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The IVF index contract on the pure-Java backend (float64 accumulators), and its answers when a device fails. */
class IvfIndexJavaTest extends IvfIndexContract {
    @Override
    Backend backend() {
        return Backends.java();
    }

    /**
     * A backend named {@code cuda} that computes with the Java reference, except that its searches and
     * assignments throw {@link DeviceException} while {@link #failing} is above zero (each failure counts it
     * down); likewise its uploads of 8-bit codes while {@link #failingUploads} is, and the searches of those codes
     * while {@link #failingCodes} is.
     */
    static final class FailingDevice {
        final AtomicInteger failing = new AtomicInteger();
        final AtomicInteger failingUploads = new AtomicInteger();
        final AtomicInteger failingCodes = new AtomicInteger();
        final AtomicInteger failures = new AtomicInteger();
        private final Backend real = Backends.java();
        private final Map<Object, Object> unwrap = Collections.synchronizedMap(new IdentityHashMap<>());
        private static final Set<String> DEVICE_CALLS = Set.of("search", "range", "assign");
        private static final Set<String> CODE_CALLS = Set.of("search", "searchGrouped");
        final Backend backend = proxy(Backend.class, real, (method, result) ->
                method.getName().equals("upload") ? wrap((ResidentMatrix) result)
                        : method.getName().equals("uploadCodes") ? wrapCodes((ResidentCodes) result) : result);

        private ResidentMatrix wrap(ResidentMatrix m) {
            ResidentMatrix w = proxy(ResidentMatrix.class, m, (method, result) ->
                    method.getName().equals("backend") ? backend : result);
            unwrap.put(w, m);
            return w;
        }

        private ResidentCodes wrapCodes(ResidentCodes c) {
            return proxy(ResidentCodes.class, c, (method, result) -> method.getName().equals("backend") ? backend : result);
        }

        /** The counter that decides whether this call fails, or null for a call that never does. */
        private AtomicInteger counter(Class<?> type, String method) {
            if (type == ResidentCodes.class) {
                return CODE_CALLS.contains(method) ? failingCodes : null;
            }
            if (method.equals("uploadCodes")) {
                return failingUploads;
            }
            return DEVICE_CALLS.contains(method) ? failing : null;
        }

        private interface After {
            Object apply(Method method, Object result);
        }

        private <T> T proxy(Class<T> type, T target, After after) {
            Object p = Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (self, method, args) -> {
                if (method.getName().equals("name")) {
                    return "cuda";
                }
                AtomicInteger counter = counter(type, method.getName());
                if (counter != null && counter.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    failures.incrementAndGet();
                    throw new DeviceException("cuda", 2, "CUDA " + method.getName() + " failed: 2 (out of memory): injected");
                }
                Object[] a = args == null ? null : args.clone();
                for (int i = 0; a != null && i < a.length; i++) {
                    a[i] = unwrap.getOrDefault(a[i], a[i]);
                }
                try {
                    return after.apply(method, method.invoke(target, a));
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            });
            return type.cast(p);
        }
    }

    @Test
    void aFailedDeviceSearchOrAssignmentIsAnsweredOnTheHost() {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        FailingDevice device = new FailingDevice();
        Planted p = planted(rnd, 600, 6, 8, 0.5);
        float[][] qs = queries(rnd, p, 7, 0.5);
        Map<Long, float[]> live = p.live();
        try (FloatMatrix m = p.matrix(); IvfIndex index = IvfIndex.build(p.ids(), m, Metric.L2, 10, seed, device.backend);
                FloatMatrix q = FloatMatrix.of(qs)) {
            Neighbors before = (Neighbors) index.search(q, SearchParams.topK(5).nprobe(3));
            // The probe of the centroids fails; then both the probe and the scan of the lists.
            device.failing.set(1);
            Neighbors probeFailed = (Neighbors) index.search(q, SearchParams.topK(5).nprobe(3));
            assertEquals(1, device.failures.get(), "seed " + seed);
            device.failing.set(2);
            Neighbors bothFailed = (Neighbors) index.search(q, SearchParams.topK(5).nprobe(3));
            assertEquals(3, device.failures.get(), "seed " + seed);
            for (int i = 0; i < qs.length; i++) {
                assertArrayEquals(before.ids(i), probeFailed.ids(i), "seed " + seed);
                assertArrayEquals(before.ids(i), bothFailed.ids(i), "seed " + seed);
            }
            // An add whose assignment fails on the device places the vectors on the host.
            device.failing.set(1);
            float[][] more = {near(rnd, p.centres()[0], 0.5), near(rnd, p.centres()[1], 0.5)};
            try (FloatMatrix add = FloatMatrix.of(more)) {
                index.add(new long[] {-1_000, -1_001}, add);
            }
            assertEquals(4, device.failures.get(), "seed " + seed);
            live.put(-1_000L, more[0]);
            live.put(-1_001L, more[1]);
            Neighbors all = (Neighbors) index.search(q, SearchParams.topK(9).nprobe(index.lists()));
            for (int i = 0; i < qs.length; i++) {
                FlatIndexTest.assertMatchesReference(live, qs[i], 9, Metric.L2, all.ids(i), "seed " + seed);
            }
            assertTrue(index.contains(-1_001L));
        }
    }

    /**
     * With 8-bit codes on the device: a failed search of the codes (per-query lists for a few queries, probed
     * lists for a batch) is answered on the host, and codes the device cannot take (a failed upload) stay on the
     * host, so later searches do not reach the device's codes. A re-rank wider than the probed rows makes the
     * answers independent of which codes ranked the candidates, so they must equal the first ones exactly.
     */
    @Test
    void aFailedDeviceSearchOrUploadOfTheCodesIsAnsweredOnTheHost() {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        FailingDevice device = new FailingDevice();
        Planted p = planted(rnd, 600, 6, 8, 0.5);
        float[][] qs = queries(rnd, p, 20, 0.5);
        try (FloatMatrix m = p.matrix(); IvfIndex index = IvfIndex.build(p.ids(), m, Metric.L2, 10, seed, device.backend);
                FloatMatrix q = FloatMatrix.of(qs); FloatMatrix few = q.rowsView(0, 7)) {
            index.encodeSq8();
            SearchParams at = SearchParams.topK(5).nprobe(3).rerank(1000);
            Neighbors batch = (Neighbors) index.search(q, at);     // 20 queries: the probed lists, grouped
            Neighbors single = (Neighbors) index.search(few, at);  // 7 queries: a candidate list each
            assertEquals(0, device.failures.get(), "seed " + seed);
            device.failingCodes.set(1);
            Neighbors batchFailed = (Neighbors) index.search(q, at);
            assertEquals(1, device.failures.get(), "seed " + seed);
            device.failingCodes.set(1);
            Neighbors singleFailed = (Neighbors) index.search(few, at);
            assertEquals(2, device.failures.get(), "seed " + seed);
            // New codes whose upload fails: encoded on the host and kept there.
            index.encodeSq8();
            device.failingUploads.set(1);
            Neighbors uploadFailed = (Neighbors) index.search(q, at);
            assertEquals(3, device.failures.get(), "seed " + seed);
            device.failingCodes.set(5);
            Neighbors onHost = (Neighbors) index.search(q, at);
            assertEquals(3, device.failures.get(), "the codes stayed on the host, seed " + seed);
            for (int i = 0; i < qs.length; i++) {
                assertArrayEquals(batch.ids(i), batchFailed.ids(i), "seed " + seed);
                assertArrayEquals(batch.ids(i), uploadFailed.ids(i), "seed " + seed);
                assertArrayEquals(batch.ids(i), onHost.ids(i), "seed " + seed);
            }
            for (int i = 0; i < few.rows(); i++) {
                assertArrayEquals(single.ids(i), singleFailed.ids(i), "seed " + seed);
                assertArrayEquals(batch.ids(i), single.ids(i), "seed " + seed);
            }
        }
    }
}
