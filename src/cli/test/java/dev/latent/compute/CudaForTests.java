package dev.latent.compute;

import static org.junit.jupiter.api.Assertions.fail;

import dev.latent.compute.cuda.CudaBackend;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The CUDA backend shared by the CUDA test classes, opened once. Without a usable GPU a test skips with the
 * driver's reason, unless {@code -Dlatent.test.requireBackend=cuda} asks for CUDA, where it fails.
 *
 * <p>As an extension ({@code @ExtendWith(CudaForTests.class)}) it decides before each test, so a test body (and its
 * {@code assertThrows} lambdas) may call {@link #require()} and always get the backend.
 */
public final class CudaForTests implements BeforeEachCallback {
    private static CudaBackend cuda;
    private static String unavailable;

    /** For {@code @ExtendWith}; the backend itself is shared by every instance. */
    public CudaForTests() {}

    @Override
    public void beforeEach(ExtensionContext context) {
        require();
    }

    /** The backend, or a skip (or failure) naming why there is none. Call it before each test, not inside a lambda. */
    public static CudaBackend require() {
        synchronized (CudaForTests.class) {
            if (cuda == null && unavailable == null) {
                try {
                    cuda = CudaBackend.open();
                } catch (BackendUnavailableException e) {
                    unavailable = e.getMessage();
                }
            }
        }
        if (cuda == null && "cuda".equals(System.getProperty("latent.test.requireBackend"))) {
            fail("CUDA is required (-Dlatent.test.requireBackend=cuda) but unavailable: " + unavailable);
        }
        Assumptions.assumeTrue(cuda != null, () -> "CUDA unavailable: " + unavailable);
        return cuda;
    }
}
