package dev.latent.index;

import dev.latent.compute.Backend;
import dev.latent.compute.Backends;

/** The IVF index contract on the pure-Java backend (float64 accumulators). */
class IvfIndexJavaTest extends IvfIndexContract {
    @Override
    Backend backend() {
        return Backends.java();
    }
}
