package dev.latent.compute;

import static org.junit.jupiter.api.Assertions.fail;

import dev.latent.compute.cuda.CudaBackend;
import org.junit.jupiter.api.Assumptions;

/**
 * The CUDA backend shared by the CUDA test classes, opened once. Without a usable GPU a test skips with the
 * driver's reason, unless {@code -Dlatent.test.requireBackend=cuda} asks for CUDA, where it fails.
 */
public final class CudaForTests {
    private static CudaBackend cuda;
    private static String unavailable;

    private CudaForTests() {}

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
