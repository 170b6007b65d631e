package dev.latent.engine;

import dev.latent.compute.Assignment;
import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.compute.LabelSums;
import dev.latent.compute.RangeHits;
import dev.latent.compute.ResidentMatrix;
import dev.latent.compute.ScanParams;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend that calls itself {@code cuda} and computes with the Java reference, except that its searches
 * fail, as a device failure does (a {@link dev.latent.compute.DeviceException} from "cuda"), while {@link #failing}
 * is above zero; each failure counts it down.
 */
final class FailingDeviceBackend implements Backend {
    final AtomicInteger failing = new AtomicInteger();
    final AtomicInteger failures = new AtomicInteger();
    /** Extends (appends to the resident copy) that fail, as past a device memory budget, counted down. */
    final AtomicInteger failingExtends = new AtomicInteger();
    private final Backend reference = Backends.java();

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public String description() {
        return "CUDA: injected failures";
    }

    @Override
    public ResidentMatrix upload(FloatMatrix rows, Metric metric) {
        ResidentMatrix m = reference.upload(rows, metric);
        Backend self = this;
        return new ResidentMatrix() {
            @Override
            public Backend backend() {
                return self;
            }

            @Override
            public Metric metric() {
                return m.metric();
            }

            @Override
            public long rows() {
                return m.rows();
            }

            @Override
            public int dimension() {
                return m.dimension();
            }

            @Override
            public Neighbors search(FloatMatrix queries, ScanParams params) {
                if (failing.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    failures.incrementAndGet();
                    throw new dev.latent.compute.DeviceException("cuda", 2, "CUDA search failed: 2 (out of memory): injected");
                }
                return m.search(queries, params);
            }

            @Override
            public RangeHits range(FloatMatrix queries, ScanParams params) {
                return m.range(queries, params);
            }

            @Override
            public void distances(FloatMatrix queries, long fromRow, long toRow, FloatMatrix out) {
                m.distances(queries, fromRow, toRow, out);
            }

            @Override
            public void extend(FloatMatrix all) {
                if (failingExtends.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    throw new dev.latent.compute.DeviceMemoryBudgetException("appending rows", 1L << 20, 0, 1L << 20);
                }
                m.extend(all);
            }

            @Override
            public void close() {
                m.close();
            }
        };
    }

    @Override
    public Assignment assign(ResidentMatrix points, ResidentMatrix targets) {
        throw new UnsupportedOperationException("not used by these tests");
    }

    @Override
    public LabelSums accumulate(ResidentMatrix points, int[] labels, int k) {
        throw new UnsupportedOperationException("not used by these tests");
    }

    @Override
    public double[] gram(ResidentMatrix points, double[] mean) {
        throw new UnsupportedOperationException("not used by these tests");
    }

    @Override
    public void close() {
    }
}
