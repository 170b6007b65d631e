package dev.latent.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * With {@code -Dlatent.test.requireBackend=NAME} (the GPU bundle's run.sh sets it), the process-wide
 * backend must be NAME: a silent fall-back (for example from CUDA to the CPU) fails the suite
 * instead of quietly testing the wrong backend. Skipped, with that reason, when the property is unset.
 */
class RequiredBackendTest {
    @Test
    void theRequiredBackendIsTheOneInUse() {
        String required = System.getProperty("latent.test.requireBackend");
        Assumptions.assumeTrue(required != null && !required.isBlank(),
                "no backend required (-Dlatent.test.requireBackend unset)");
        String actual;
        try {
            actual = Backends.get().name();
        } catch (RuntimeException e) {
            throw new AssertionError("backend " + required + " is required but none could be chosen: "
                    + e.getMessage(), e);
        }
        assertEquals(required, actual, "backend " + required + " is required (-Dlatent.test.requireBackend) but "
                + Backends.get().description() + " is in use");
    }
}
