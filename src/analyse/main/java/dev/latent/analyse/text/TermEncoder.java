package dev.latent.analyse.text;

import dev.latent.core.FloatMatrix;
import java.util.List;
import java.util.function.Function;

/**
 * Turns terms into vectors for {@link SegmentTerms}: the text model that embedded the corpus, seen from the
 * analyses (which do not depend on the encoders). Adapt a text encoder with
 * {@code TermEncoder.of(encoder::encode, encoder.dimension())}.
 */
public interface TermEncoder {
    /** The vectors of {@code terms}: one row per term, in order, {@link #dimension()} columns; the caller closes it. */
    FloatMatrix encode(List<String> terms);

    /** Columns of the vectors. */
    int dimension();

    /** A term encoder from a function and the dimension of the vectors it gives. */
    static TermEncoder of(Function<List<String>, FloatMatrix> encode, int dimension) {
        if (dimension < 1) {
            throw new IllegalArgumentException("a term encoder's dimension must be >= 1, got " + dimension);
        }
        return new TermEncoder() {
            @Override
            public FloatMatrix encode(List<String> terms) {
                return encode.apply(terms);
            }

            @Override
            public int dimension() {
                return dimension;
            }
        };
    }
}
