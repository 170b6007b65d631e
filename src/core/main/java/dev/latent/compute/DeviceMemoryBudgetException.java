package dev.latent.compute;

/**
 * An upload or append would pass the backend's {@link DeviceMemoryBudget}; thrown before any device memory
 * is taken, so what was resident stays as it was. Its {@link #code()} is {@link #NO_CODE}: the JVM side refused.
 */
public final class DeviceMemoryBudgetException extends DeviceException {
    private final long requested;
    private final long used;
    private final long limit;

    public DeviceMemoryBudgetException(String what, long requested, long used, long limit) {
        super("cuda", NO_CODE, what + " needs " + requested + " bytes of device memory, but " + used + " of the budget's " + limit
                + " are in use (set " + DeviceMemoryBudget.MEMORY_PROPERTY + " or DeviceMemoryBudget.of to change it)");
        this.requested = requested;
        this.used = used;
        this.limit = limit;
    }

    /** Bytes the refused call needed. */
    public long requested() {
        return requested;
    }

    /** Bytes reserved when it was refused. */
    public long used() {
        return used;
    }

    /** The budget. */
    public long limit() {
        return limit;
    }
}
