package dev.latent.compute;

import static org.junit.jupiter.api.Assertions.fail;

import dev.latent.compute.cuda.CudaBackend;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;

/**
 * The Backend contract for the CUDA backend. Skipped with the reason when CUDA is unavailable,
 * failed instead when {@code -Dlatent.test.requireBackend=cuda} is set.
 */
class CudaBackendContractTest extends BackendContractTest {
    private static CudaBackend cuda;
    private static String unavailable;

    /** Decides before each test (not inside its assertThrows lambdas) whether it can run. */
    @BeforeEach
    void requireCuda() {
        synchronized (CudaBackendContractTest.class) {
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
    }

    @Override
    Backend backend() {
        return cuda;
    }
}
