package dev.latent.bench;

import dev.latent.compute.Backend;
import dev.latent.compute.Backends;

/**
 * Prints the compute backend this process gets ({@code -Dlatent.backend=...} honoured) as
 * {@code backend: <description>} and exits 0, or {@code unavailable: <reason>} and exits 1 when a
 * forced backend cannot run. The GPU bundle's {@code run.sh} calls it first, so a missing driver or
 * device is named before anything else runs.
 */
public final class BackendProbe {
    private BackendProbe() {
    }

    public static void main(String[] args) {
        System.out.println("java: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.version")
                + ", " + System.getProperty("os.arch") + ", " + Runtime.getRuntime().availableProcessors()
                + " processors");
        try {
            Backend b = Backends.get();
            System.out.println("backend: " + b.description());
        } catch (RuntimeException e) {
            System.out.println("unavailable: " + e.getMessage());
            System.exit(1);
        }
    }
}
