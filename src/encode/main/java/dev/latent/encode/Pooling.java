package dev.latent.encode;

import java.util.Locale;

/** How a sentence vector is made from a transformer's per-token hidden states {@code [B, T, H]}. */
public enum Pooling {
    /** Mean of the token vectors whose attention-mask value is 1 (sentence-transformers' default). */
    MEAN,
    /** The first token's vector ({@code [CLS]}), as BGE and other retrieval models are trained. */
    CLS;

    /** Parses a manifest value ({@code "mean"} or {@code "cls"}, any case). */
    public static Pooling parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown pooling '" + s + "' (expected mean or cls)", e);
        }
    }
}
