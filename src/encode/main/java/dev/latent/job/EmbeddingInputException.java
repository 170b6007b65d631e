package dev.latent.job;

import java.io.IOException;

/**
 * The input of an embedding job could not be read, or the model refused it: an image that cannot be decoded,
 * a rows file that cannot be parsed, a row that is not finite, a corpus of which no image could be read. Thrown
 * before any target is written, so every target still holds what it held before. The message names the file
 * (and the line or row) and what is wrong with it, in one line.
 */
public final class EmbeddingInputException extends IOException {
    private static final long serialVersionUID = 1L;

    /** A problem described by {@code message}, caused by {@code cause} (may be null). */
    public EmbeddingInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
