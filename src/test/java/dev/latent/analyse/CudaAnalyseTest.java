package dev.latent.analyse;

import static org.junit.jupiter.api.Assertions.fail;

import dev.latent.compute.Backend;
import dev.latent.compute.BackendUnavailableException;
import dev.latent.compute.cuda.CudaBackend;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;

/**
 * The analyses on the CUDA backend. Skipped with the driver's reason when CUDA is unavailable, failed
 * instead when {@code -Dlatent.test.requireBackend=cuda} is set.
 */
class CudaAnalyseTest extends AnalyseContractTest {
    private static CudaBackend cuda;
    private static String unavailable;

    @BeforeEach
    void requireCuda() {
        synchronized (CudaAnalyseTest.class) {
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
