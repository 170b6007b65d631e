package dev.latent.engine;

/**
 * Back-pressure from an {@link Engine}: the operation's queue was full (and, when the engine is built to
 * wait, stayed full for the whole wait, or the waiting thread was interrupted). Nothing was queued; the
 * caller may retry later. Thrown at once by the submitting call, never through a future.
 */
public final class EngineRejectedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final EngineMetrics.Operation operation;

    EngineRejectedException(EngineMetrics.Operation operation, String message) {
        super(message);
        this.operation = operation;
    }

    /** The operation whose queue was full. */
    public EngineMetrics.Operation operation() {
        return operation;
    }
}
