package dev.latent.engine;

/**
 * A request's deadline passed before its batch started: it was not computed. A request already running in
 * a batch when its deadline passes completes normally.
 */
public final class EngineTimeoutException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    EngineTimeoutException(String message) {
        super(message);
    }
}
