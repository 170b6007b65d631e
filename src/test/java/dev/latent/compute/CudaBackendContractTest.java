package dev.latent.compute;

import dev.latent.compute.cuda.CudaBackend;
import org.junit.jupiter.api.BeforeEach;

/**
 * The Backend contract for the CUDA backend. Skipped with the reason when CUDA is unavailable,
 * failed instead when {@code -Dlatent.test.requireBackend=cuda} is set.
 */
class CudaBackendContractTest extends BackendContractTest {
    private CudaBackend cuda;

    /** Decides before each test (not inside its assertThrows lambdas) whether it can run. */
    @BeforeEach
    void requireCuda() {
        cuda = CudaForTests.require();
    }

    @Override
    Backend backend() {
        return cuda;
    }
}
