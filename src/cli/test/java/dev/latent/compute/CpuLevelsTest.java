package dev.latent.compute;

import dev.latent.compute.cpu.CpuBackend;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/**
 * Base of the tests that run the native CPU kernels at every level this CPU supports: opens the backend
 * once and restores the automatic level and thread count after each test.
 */
abstract class CpuLevelsTest {
    static CpuBackend cpu;

    @BeforeAll
    static void openCpu() throws BackendUnavailableException {
        cpu = CpuBackend.open();
    }

    @AfterEach
    void restoreLevelAndThreads() {
        CpuBackend.useIsa("auto");
        CpuBackend.useThreads(0);
    }

    /** The kernel levels this CPU supports, best first. */
    static List<String> isas() {
        return CpuBackend.supportedIsas();
    }
}
