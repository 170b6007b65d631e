package dev.latent.analyse;

import dev.latent.compute.Backend;
import dev.latent.compute.java.JavaBackend;

/** The analyses on the float64 Java reference backend. */
class JavaAnalyseTest extends AnalyseContractTest {
    private static final Backend JAVA = JavaBackend.open();

    @Override
    Backend backend() {
        return JAVA;
    }
}
