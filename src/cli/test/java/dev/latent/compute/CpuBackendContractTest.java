package dev.latent.compute;

import dev.latent.compute.cpu.CpuBackend;

/** The Backend contract for the native CPU backend at its default kernel level. */
class CpuBackendContractTest extends BackendContractTest {
    @Override
    Backend backend() {
        try {
            return CpuBackend.open();
        } catch (BackendUnavailableException e) {
            throw new AssertionError("the native CPU backend must load in this build: " + e.getMessage(), e);
        }
    }
}
