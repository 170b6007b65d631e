package dev.latent.index;

import dev.latent.compute.CudaForTests;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Filtered search on the CUDA backend against the float64 brute force of {@link RecordsTest}, for both index kinds.
 * Skipped with the driver's reason when CUDA is unavailable ({@link CudaForTests}).
 */
@ExtendWith(CudaForTests.class)
class RecordsCudaTest {
    @Test
    void filteredFlatSearchEqualsBruteForce() {
        RecordsTest.filteredSearchEqualsBruteForce(CudaForTests.require(), "flat");
    }

    @Test
    void filteredIvfSearchEqualsBruteForce() {
        RecordsTest.filteredSearchEqualsBruteForce(CudaForTests.require(), "ivf");
    }
}
