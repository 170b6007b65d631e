package dev.latent.space.format;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/** Shared test helpers: whether python3 with numpy can make and check fixtures here. */
public final class NpyTestSupport {
    private static Boolean available;

    private NpyTestSupport() {
    }

    public static synchronized boolean numpyAvailable() {
        if (available == null) {
            try {
                Process p = new ProcessBuilder("python3", "-c", "import numpy").redirectErrorStream(true).start();
                p.getInputStream().readAllBytes();
                available = p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
            } catch (IOException | InterruptedException e) {
                available = false;
            }
        }
        return available;
    }
}
