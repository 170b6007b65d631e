package dev.latent.compute;

import java.util.Locale;

/**
 * A bound on the device memory one backend holds: the rows (and norm terms) of every resident matrix,
 * plus a scratch allowance per matrix that its searches are tiled to fit (query batches, row stripes and
 * candidate lists are cut down until they do; range hits are bounded by the call's result limit
 * instead, and k-means and PCA steps hold one label order per point and k × d sums beside it). An upload or append that would pass the budget throws {@link DeviceMemoryBudgetException}
 * before anything is allocated, so nothing already resident is lost.
 *
 * <p>Configured by {@link #of(long)} or {@link #of(long, long)}, or from the system properties
 * {@code latent.cuda.memory} (the budget) and {@code latent.cuda.scratch} (the scratch per matrix),
 * each a byte count with an optional {@code k}, {@code m} or {@code g} suffix (powers of 1024).
 *
 * <p>Thread-safe: reservations and releases from any thread are atomic.
 */
public final class DeviceMemoryBudget {
    /** System property with the budget in bytes ({@code 8g}, {@code 512m}, ...); unset: unlimited. */
    public static final String MEMORY_PROPERTY = "latent.cuda.memory";
    /** System property with the scratch per resident matrix in bytes; unset: see {@link #of(long)}. */
    public static final String SCRATCH_PROPERTY = "latent.cuda.scratch";
    /** Scratch per matrix without a budget: the size the kernels are tuned for. */
    public static final long DEFAULT_SCRATCH = 2L << 30;
    /** The smallest scratch per matrix the kernels accept. */
    public static final long MIN_SCRATCH = 1L << 20;

    private final long limit;     // Long.MAX_VALUE: unlimited
    private final long scratch;
    private long used;            // guarded by this

    private DeviceMemoryBudget(long limit, long scratch) {
        if (scratch < MIN_SCRATCH) {
            throw new IllegalArgumentException("scratch per matrix must be at least " + MIN_SCRATCH + " bytes, got "
                    + scratch);
        }
        if (limit < scratch) {
            throw new IllegalArgumentException("a device memory budget of " + limit + " bytes cannot hold even the "
                    + scratch + " bytes of one matrix's scratch");
        }
        this.limit = limit;
        this.scratch = scratch;
    }

    /** No bound beyond the device's own memory; each matrix's scratch at {@link #DEFAULT_SCRATCH}. */
    public static DeviceMemoryBudget unlimited() {
        return new DeviceMemoryBudget(Long.MAX_VALUE, DEFAULT_SCRATCH);
    }

    /** At most {@code bytes} in all; each matrix's scratch a quarter of that, within [1 MiB, 2 GiB]. */
    public static DeviceMemoryBudget of(long bytes) {
        return new DeviceMemoryBudget(bytes, Math.max(MIN_SCRATCH, Math.min(DEFAULT_SCRATCH, bytes / 4)));
    }

    /** At most {@code bytes} in all, each matrix's scratch {@code scratchPerMatrix}. */
    public static DeviceMemoryBudget of(long bytes, long scratchPerMatrix) {
        return new DeviceMemoryBudget(bytes, scratchPerMatrix);
    }

    /**
     * From {@value #MEMORY_PROPERTY} and {@value #SCRATCH_PROPERTY}.
     *
     * @throws IllegalArgumentException naming the property for a value that is not a size
     */
    public static DeviceMemoryBudget fromProperties() {
        String memory = System.getProperty(MEMORY_PROPERTY);
        String scratch = System.getProperty(SCRATCH_PROPERTY);
        long limit = memory == null ? Long.MAX_VALUE : parseBytes(MEMORY_PROPERTY, memory);
        if (scratch != null) {
            return new DeviceMemoryBudget(limit, parseBytes(SCRATCH_PROPERTY, scratch));
        }
        return memory == null ? unlimited() : of(limit);
    }

    /** Parses {@code 123}, {@code 64k}, {@code 512m}, {@code 8g} (case-insensitive; powers of 1024). */
    public static long parseBytes(String what, String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        int shift = 0;
        if (!t.isEmpty()) {
            switch (t.charAt(t.length() - 1)) {
                case 'k' -> shift = 10;
                case 'm' -> shift = 20;
                case 'g' -> shift = 30;
                default -> shift = 0;
            }
        }
        String digits = shift == 0 ? t : t.substring(0, t.length() - 1);
        try {
            long v = Long.parseLong(digits);
            if (v <= 0 || v > (Long.MAX_VALUE >> shift)) {
                throw new NumberFormatException();
            }
            return v << shift;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " must be a positive byte count such as 1073741824, 512m or 8g; got '"
                    + text + "'");
        }
    }

    /** The budget in bytes ({@link Long#MAX_VALUE} when unlimited). */
    public long limit() {
        return limit;
    }

    public boolean isUnlimited() {
        return limit == Long.MAX_VALUE;
    }

    /** The scratch each resident matrix is allowed. */
    public long scratchPerMatrix() {
        return scratch;
    }

    /** Bytes reserved now. */
    public synchronized long used() {
        return used;
    }

    /**
     * Reserves {@code bytes} for {@code what}, or throws without reserving anything.
     *
     * @throws DeviceMemoryBudgetException when the reservation would pass the budget
     */
    public synchronized void reserve(long bytes, String what) {
        if (bytes < 0) {
            throw new IllegalArgumentException("cannot reserve " + bytes + " bytes");
        }
        if (bytes > limit - used) {
            throw new DeviceMemoryBudgetException(what, bytes, used, limit);
        }
        used += bytes;
    }

    /** Returns {@code bytes} reserved earlier. */
    public synchronized void release(long bytes) {
        if (bytes < 0 || bytes > used) {
            throw new IllegalStateException("releasing " + bytes + " bytes of a budget with " + used + " reserved");
        }
        used -= bytes;
    }

    @Override
    public String toString() {
        return isUnlimited() ? "DeviceMemoryBudget[unlimited, scratch " + scratch + " per matrix]"
                : "DeviceMemoryBudget[" + used() + " of " + limit + " bytes, scratch " + scratch + " per matrix]";
    }
}
