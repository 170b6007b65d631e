package dev.latent.engine;

import dev.latent.core.Neighbors;

/** One query vector (the engine's own copy) and its k. */
final class SearchRequest extends Request<Neighbors> {
    final float[] query;
    final int k;

    SearchRequest(float[] query, int k, long deadline) {
        super(deadline);
        this.query = query;
        this.k = k;
    }
}
