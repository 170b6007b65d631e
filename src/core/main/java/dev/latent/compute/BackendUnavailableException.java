package dev.latent.compute;

/** A compute backend cannot run here; the message says why (no device, library missing, ...). */
public class BackendUnavailableException extends Exception {
    private final int nativeCode;
    private final boolean misconfigured;

    public BackendUnavailableException(String reason) {
        this(reason, 0, null);
    }

    public BackendUnavailableException(String reason, int nativeCode, Throwable cause) {
        this(reason, nativeCode, cause, false);
    }

    /**
     * @param misconfigured true when the user's own setting made the backend unavailable (for example a
     *     CPU kernel level this CPU lacks): {@link Backends} then reports it instead of falling back
     */
    public BackendUnavailableException(String reason, int nativeCode, Throwable cause, boolean misconfigured) {
        super(reason, cause);
        this.nativeCode = nativeCode;
        this.misconfigured = misconfigured;
    }

    /** Whether a setting of the user's, not the machine, made the backend unavailable. */
    public boolean misconfigured() {
        return misconfigured;
    }

    /** The native error code behind the failure (for example a cudaError_t), or 0. */
    public int nativeCode() {
        return nativeCode;
    }
}
