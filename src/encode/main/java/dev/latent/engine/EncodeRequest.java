package dev.latent.engine;

import dev.latent.core.Neighbors;
import java.util.concurrent.CompletableFuture;

/** A text to encode, as a passage or a query, with its token count for the batch's budget. */
final class EncodeRequest extends Request<float[]> {
    final String text;
    final boolean query;
    final int tokens;
    /** A text search done in the encode step (the device path): its k and result; else 0 and null. */
    final int searchK;
    final CompletableFuture<Neighbors> neighbors;

    EncodeRequest(String text, boolean query, int tokens, long deadline, int searchK) {
        super(deadline);
        this.text = text;
        this.query = query;
        this.tokens = tokens;
        this.searchK = searchK;
        this.neighbors = searchK > 0 ? new CompletableFuture<>() : null;
    }
}
