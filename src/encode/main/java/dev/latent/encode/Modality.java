package dev.latent.encode;

import java.util.Locale;

/** What a model's input is: decides which encoder opens it and which files its source names. */
public enum Modality {
    /** Texts, through a tokenizer.json: token ids, attention mask and maybe token type ids. */
    TEXT,
    /** Images, decoded and resized to the model's pixel tensor. */
    IMAGE,
    /** Numeric rows given as they are (tabular features, latent vectors for a decoder). */
    TENSOR;

    /** Parses a manifest value ({@code "text"}, {@code "image"} or {@code "tensor"}, any case). */
    public static Modality parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown modality '" + s + "' (expected text, image or tensor)", e);
        }
    }
}
