package dev.latent.index;

import dev.latent.compute.Backend;
import dev.latent.compute.CudaForTests;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The IVF index contract on the CUDA backend. Skipped with the driver's reason when CUDA is unavailable, failed
 * instead when {@code -Dlatent.test.requireBackend=cuda} is set ({@link CudaForTests} decides before each test).
 */
@ExtendWith(CudaForTests.class)
class IvfIndexCudaTest extends IvfIndexContract {
    @Override
    Backend backend() {
        return CudaForTests.require();
    }
}
