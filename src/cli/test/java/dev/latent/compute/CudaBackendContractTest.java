package dev.latent.compute;

import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The Backend contract for the CUDA backend. Skipped with the driver's reason when CUDA is unavailable, failed instead when
 * {@code -Dlatent.test.requireBackend=cuda} is set ({@link CudaForTests} decides before each test).
 */
@ExtendWith(CudaForTests.class)
class CudaBackendContractTest extends BackendContractTest {
    @Override
    Backend backend() {
        return CudaForTests.require();
    }
}
