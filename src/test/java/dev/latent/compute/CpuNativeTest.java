package dev.latent.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.compute.cpu.CpuBackend;
import dev.latent.compute.cpu.CpuNative;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The JNI library in the build really loads and its functions are the ones these classes expect. */
class CpuNativeTest {
    @BeforeAll
    static void load() throws BackendUnavailableException {
        CpuBackend.open();
    }

    @Test
    void abiVersionMatchesTheClassFiles() {
        assertEquals(CpuNative.ABI_VERSION, CpuNative.latent_cpu_abi_version());
    }

    @Test
    void isaLevelsAreReported() {
        assertEquals("scalar", CpuNative.latent_cpu_isa_name(CpuNative.ISA_SCALAR));
        assertEquals("avx2", CpuNative.latent_cpu_isa_name(CpuNative.ISA_AVX2));
        assertEquals("avx512", CpuNative.latent_cpu_isa_name(CpuNative.ISA_AVX512));
        assertEquals(1, CpuNative.latent_cpu_isa_supported(CpuNative.ISA_SCALAR));
        String best = CpuNative.latent_cpu_isa_name(CpuNative.latent_cpu_isa_best());
        assertEquals(best, CpuBackend.supportedIsas().get(0));
        assertTrue(CpuBackend.supportedIsas().contains(CpuBackend.isa()), CpuBackend.isa());
        assertTrue(CpuNative.latent_cpu_threads() >= 1);
    }

    @Test
    void unsupportedLevelIsRefused() {
        for (int isa = CpuNative.ISA_SCALAR; isa <= CpuNative.ISA_AVX512; isa++) {
            if (CpuNative.latent_cpu_isa_supported(isa) == 0) {
                assertEquals(CpuNative.EISA, CpuNative.latent_cpu_set_isa(isa));
            }
        }
        assertEquals(CpuNative.EISA, CpuNative.latent_cpu_set_isa(7));
    }
}
