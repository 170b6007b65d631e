package dev.latent.encode.onnx;

import java.util.Locale;

/** Which ONNX Runtime execution provider a caller asks for. */
public enum Provider {
    /** CUDA when this ONNX Runtime build has it and a device accepts the session, else CPU. */
    AUTO,
    CPU,
    /** CUDA or an error: never a silent fall back. */
    CUDA;

    /** Parses {@code auto}, {@code cpu} or {@code cuda}, any case. */
    public static Provider parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown execution provider '" + s + "' (expected auto, cpu or cuda)");
        }
    }
}
