package dev.latent.analyse;

import dev.latent.compute.Backend;
import dev.latent.compute.CudaForTests;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The analyses on the CUDA backend. Skipped with the driver's reason when CUDA is unavailable, failed instead when
 * {@code -Dlatent.test.requireBackend=cuda} is set ({@link CudaForTests} decides before each test).
 */
@ExtendWith(CudaForTests.class)
class CudaAnalyseTest extends AnalyseContractTest {
    @Override
    Backend backend() {
        return CudaForTests.require();
    }
}
