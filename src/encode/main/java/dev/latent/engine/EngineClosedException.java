package dev.latent.engine;

/**
 * The {@link Engine} was closed: thrown by calls made after {@link Engine#close()}, and the cause of
 * futures whose requests were still queued (not started) when it closed.
 */
public final class EngineClosedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    EngineClosedException(String message) {
        super(message);
    }
}
