package dev.latent.compute;

/**
 * A device (GPU) failed a call that was not the caller's fault: a CUDA error, device memory exhausted, a
 * scratch or memory budget refused. It carries the backend's name and the native status code (the
 * {@code LATENT_CUDA_E_*} codes of {@code latent_cuda.h}, or {@link #NO_CODE} where the refusal came from the
 * JVM side, as a {@link DeviceMemoryBudget} does), as ONNX Runtime's {@code OrtException} carries its
 * {@code OrtErrorCode}.
 *
 * <p>An index whose device fails answers the same call on the host (see {@code FlatIndex}); code that
 * holds a backend itself catches this type, never compares backend names. It extends
 * {@link IllegalStateException}, which device failures were before it existed.
 */
public class DeviceException extends IllegalStateException {
    /** {@link #code()} of a failure that no native call reported. */
    public static final int NO_CODE = 0;

    private final String backend;
    private final int code;

    public DeviceException(String backend, int code, String message) {
        super(message);
        this.backend = backend;
        this.code = code;
    }

    public DeviceException(String backend, int code, String message, Throwable cause) {
        super(message, cause);
        this.backend = backend;
        this.code = code;
    }

    /** The name of the backend whose device failed ({@link Backend#name()}). */
    public String backend() {
        return backend;
    }

    /** The native status code, or {@link #NO_CODE}. */
    public int code() {
        return code;
    }
}
