package dev.latent.analyse;

import dev.latent.compute.Backend;
import dev.latent.compute.BackendUnavailableException;
import dev.latent.compute.cpu.CpuBackend;

/** The analyses on the native CPU backend. */
class CpuAnalyseTest extends AnalyseContractTest {
    private static Backend cpu;

    @Override
    synchronized Backend backend() {
        if (cpu == null) {
            try {
                cpu = CpuBackend.open();
            } catch (BackendUnavailableException e) {
                throw new AssertionError("the native CPU backend must load in this build: " + e.getMessage(), e);
            }
        }
        return cpu;
    }
}
