package dev.latent.serve;

import dev.latent.engine.EngineClosedException;
import dev.latent.engine.EngineRejectedException;
import dev.latent.engine.EngineTimeoutException;

/**
 * A request the endpoint refuses: its HTTP status and the message answered as {@code {"error": "..."}}. It is an
 * answer, not a fault, so it carries no stack trace. {@link #of} is the one mapping of what the engine throws to
 * a status. Immutable.
 */
final class HttpError extends Exception {
    final int status;

    HttpError(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    /**
     * What {@code e}, thrown by the engine or completing one of its futures, answers, its message after
     * {@code prefix}: 503 when the engine's queue is full or it is closed, 504 when a request's deadline passed in
     * the queue, 400 for arguments the engine refuses, 500 for anything else (logged). An HttpError stays itself.
     */
    static HttpError of(Throwable e, String prefix) {
        if (e instanceof HttpError h) {
            return h;
        }
        if (e instanceof EngineRejectedException || e instanceof EngineClosedException) {
            return new HttpError(503, prefix + e.getMessage());
        }
        if (e instanceof EngineTimeoutException) {
            return new HttpError(504, prefix + e.getMessage());
        }
        if (e instanceof IllegalArgumentException) {
            return new HttpError(400, prefix + e.getMessage());
        }
        HttpEndpoint.LOG.warn("request failed", e);
        return new HttpError(500, prefix + "internal error: " + e);
    }
}
