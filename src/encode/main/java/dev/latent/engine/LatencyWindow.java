package dev.latent.engine;

import java.util.Arrays;

/** The latest {@code size} latencies (nanoseconds) of one operation, in a ring. */
final class LatencyWindow {
    private final long[] ring;
    private long count;

    LatencyWindow(int size) {
        ring = new long[size];
    }

    synchronized void record(long nanos) {
        ring[(int) (count++ % ring.length)] = nanos;
    }

    /** The given quantiles (nearest rank) of the window; zeros when it is empty. */
    long[] quantiles(double... qs) {
        long[] copy;
        synchronized (this) {
            copy = Arrays.copyOf(ring, (int) Math.min(count, ring.length));
        }
        Arrays.sort(copy);
        long[] out = new long[qs.length];
        for (int i = 0; i < qs.length && copy.length > 0; i++) {
            int rank = (int) Math.ceil(qs[i] * copy.length);
            out[i] = copy[Math.max(0, Math.min(copy.length - 1, rank - 1))];
        }
        return out;
    }
}
