package dev.latent.index;

import dev.latent.compute.Backend;
import dev.latent.compute.BackendUnavailableException;
import dev.latent.compute.Backends;

/** The IVF index contract on the native CPU backend, which must load in this build. */
class IvfIndexCpuTest extends IvfIndexContract {
    @Override
    Backend backend() {
        try {
            return Backends.cpu();
        } catch (BackendUnavailableException e) {
            throw new AssertionError("the native CPU backend must load in this build: " + e.getMessage(), e);
        }
    }
}
