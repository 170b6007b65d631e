package dev.latent.compute;

/** A compute backend cannot run here; the message says why (no device, library missing, ...). */
public class BackendUnavailableException extends Exception {
    private final int nativeCode;

    public BackendUnavailableException(String reason) {
        this(reason, 0, null);
    }

    public BackendUnavailableException(String reason, int nativeCode, Throwable cause) {
        super(reason, cause);
        this.nativeCode = nativeCode;
    }

    /** The native error code behind the failure (for example a cudaError_t), or 0. */
    public int nativeCode() {
        return nativeCode;
    }
}
