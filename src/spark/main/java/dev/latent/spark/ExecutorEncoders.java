package dev.latent.spark;

import dev.latent.encode.text.TextEncoder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * One encoder per model per executor JVM: created by the first task that needs it, reused by every later
 * task (an ONNX Runtime session takes seconds to open and hundreds of MB to hold), closed when the JVM
 * exits. Tasks running at once on one executor share the encoder, whose calls run one after another on
 * its worker threads.
 *
 * <p>Thread-safe.
 */
final class ExecutorEncoders {
    private static final ConcurrentMap<TextModel, TextEncoder> OPEN = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ExecutorEncoders::closeAll, "latent-encoders-close"));
    }

    private ExecutorEncoders() {
    }

    static TextEncoder get(TextModel model) {
        return OPEN.computeIfAbsent(model, m -> {
            try {
                return m.open();
            } catch (IOException e) {
                throw new UncheckedIOException("model file missing: " + e.getMessage(), e);
            }
        });
    }

    /** Closes every encoder (at JVM exit; tests call it to start clean). */
    static void closeAll() {
        for (TextModel m : OPEN.keySet()) {
            TextEncoder e = OPEN.remove(m);
            if (e != null) {
                e.close();
            }
        }
    }
}
