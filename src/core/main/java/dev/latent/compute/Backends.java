package dev.latent.compute;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses the process-wide compute {@link Backend} once, on first use of {@link #get()}.
 *
 * <p>The system property {@value #PROPERTY} selects it: {@code auto} (default: CUDA when a device
 * is present and the library loads, else the native CPU backend, else the Java reference),
 * {@code cuda}, {@code cpu} or {@code java}. A forced backend that cannot run makes {@link #get()}
 * throw with the reason; {@code auto} falls through and says why in its one INFO log line, for
 * example {@code compute backend: native CPU: AVX2, 2 threads (auto; CUDA: CUDA backend not in
 * this build)}.
 *
 * <p>The CUDA backend is reached reflectively through {@code CudaBackend.open()},
 * so this class compiles and runs in builds without it. Thread-safe.
 */
public final class Backends {
    /** System property that forces a backend: auto, cuda, cpu or java. */
    public static final String PROPERTY = "latent.backend";

    private static final Logger LOG = LoggerFactory.getLogger("dev.latent.compute");
    private static final String JAVA_CLASS = "dev.latent.compute.java.JavaBackend";
    private static final String CPU_CLASS = "dev.latent.compute.cpu.CpuBackend";
    private static final String CUDA_CLASS = "dev.latent.compute.cuda.CudaBackend";

    private static Backend chosen;

    private Backends() {
    }

    /** A choice and the reason for it, as logged. */
    static final class Selection {
        final Backend backend;
        final String reason;

        Selection(Backend backend, String reason) {
            this.backend = backend;
            this.reason = reason;
        }

        String logLine() {
            return "compute backend: " + backend.description() + " (" + reason + ")";
        }
    }

    /**
     * The process-wide backend, chosen on the first call from {@value #PROPERTY}. The returned
     * backend is shared: do not close it.
     *
     * @throws IllegalStateException when a forced backend cannot run (the message says why)
     * @throws IllegalArgumentException when the property names no backend
     */
    public static synchronized Backend get() {
        if (chosen == null) {
            Selection s = select(System.getProperty(PROPERTY, "auto"));
            LOG.info(s.logLine());
            chosen = s.backend;
        }
        return chosen;
    }

    /** Forgets the choice so that the next {@link #get()} chooses again (tests). */
    static synchronized void reset() {
        chosen = null;
    }

    /** Chooses a backend for a property value without logging or caching it. */
    static Selection select(String value) {
        String v = value == null ? "auto" : value.trim().toLowerCase(Locale.ROOT);
        switch (v) {
            case "":
            case "auto":
                return auto();
            case "java":
                return new Selection(java(), PROPERTY + "=java");
            case "cpu":
                try {
                    return new Selection(cpu(), PROPERTY + "=cpu");
                } catch (BackendUnavailableException e) {
                    throw new IllegalStateException(PROPERTY + "=cpu but the native CPU backend is unavailable: "
                            + e.getMessage(), e);
                }
            case "cuda":
                try {
                    return new Selection(cuda(), PROPERTY + "=cuda");
                } catch (BackendUnavailableException e) {
                    throw new IllegalStateException(PROPERTY + "=cuda but the CUDA backend is unavailable: "
                            + e.getMessage(), e);
                }
            default:
                throw new IllegalArgumentException("unknown " + PROPERTY + " '" + value
                        + "' (expected auto, cuda, cpu or java)");
        }
    }

    private static Selection auto() {
        String cudaWhy;
        try {
            return new Selection(cuda(), "auto; CUDA device found");
        } catch (BackendUnavailableException e) {
            cudaWhy = e.getMessage();
            LOG.debug("CUDA backend unavailable", e);
        }
        String cpuWhy;
        try {
            return new Selection(cpu(), "auto; CUDA: " + cudaWhy);
        } catch (BackendUnavailableException e) {
            if (e.misconfigured()) {
                // A kernel level forced by the user and not available: a configuration error, not a fallback.
                throw new IllegalStateException("native CPU backend: " + e.getMessage(), e);
            }
            cpuWhy = e.getMessage();
            LOG.warn("native CPU backend unavailable, using the slow Java backend: " + cpuWhy, e);
        }
        return new Selection(java(), "auto; CUDA: " + cudaWhy + "; native CPU: " + cpuWhy);
    }

    /** The pure-Java reference backend (always available). */
    public static Backend java() {
        try {
            return open(JAVA_CLASS);
        } catch (BackendUnavailableException e) {
            throw new LinkageError("the Java backend is missing from this build: " + e.getMessage(), e);
        }
    }

    /** The native CPU backend, through {@code CpuBackend.open()}. */
    public static Backend cpu() throws BackendUnavailableException {
        return open(CPU_CLASS);
    }

    /** The CUDA backend, through {@code CudaBackend.open()}. */
    public static Backend cuda() throws BackendUnavailableException {
        return open(CUDA_CLASS);
    }

    /**
     * A backend by class name, through its {@code public static Backend open()}. Backends are reached by
     * name so that this package depends on none of them (they depend on it).
     */
    private static Backend open(String className) throws BackendUnavailableException {
        Class<?> c;
        try {
            c = Class.forName(className);
        } catch (ClassNotFoundException e) {
            throw new BackendUnavailableException(className.substring(className.lastIndexOf('.') + 1)
                    + " not in this build");
        }
        try {
            Method open = c.getMethod("open");
            return (Backend) open.invoke(null);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof BackendUnavailableException) {
                throw (BackendUnavailableException) cause;
            }
            if (cause instanceof LinkageError && CUDA_CLASS.equals(className)) {
                throw new BackendUnavailableException("CUDA library did not load: " + cause.getMessage(), 0, cause);
            }
            if (cause instanceof RuntimeException) {
                throw (RuntimeException) cause;
            }
            if (cause instanceof Error) {
                throw (Error) cause;
            }
            throw new IllegalStateException(className + ".open() failed", cause);
        } catch (ReflectiveOperationException | ClassCastException e) {
            throw new LinkageError(className + " does not offer public static Backend open(): " + e, e);
        }
    }
}
