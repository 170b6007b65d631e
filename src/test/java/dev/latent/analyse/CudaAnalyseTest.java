package dev.latent.analyse;

import dev.latent.compute.Backend;
import dev.latent.compute.CudaForTests;
import dev.latent.compute.cuda.CudaBackend;
import org.junit.jupiter.api.BeforeEach;

/**
 * The analyses on the CUDA backend. Skipped with the driver's reason when CUDA is unavailable, failed
 * instead when {@code -Dlatent.test.requireBackend=cuda} is set.
 */
class CudaAnalyseTest extends AnalyseContractTest {
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
