package dev.latent.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.compute.cpu.CpuBackend;
import dev.latent.compute.cpu.CpuNative;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
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

    /**
     * The constants CpuNative copies from native/cpu/latent_cpu.h (ABI version, ISA levels, status codes, the
     * largest dimension of 8-bit codes) have the header's values, and the last one is HostCodes' limit.
     */
    @Test
    void constantsMatchTheHeader() throws Exception {
        Path header = Path.of("native", "cpu", "latent_cpu.h");
        Assumptions.assumeTrue(Files.isRegularFile(header), "source tree not present: " + header.toAbsolutePath());
        Matcher m = Pattern.compile("(?m)^#define LATENT_CPU_(\\w+) \\(?(-?\\d+)\\)?").matcher(Files.readString(header));
        int checked = 0;
        while (m.find()) {
            String field = m.group(1);
            assertEquals(Integer.parseInt(m.group(2)), CpuNative.class.getField(field).getInt(null),
                    "CpuNative." + field + " vs LATENT_CPU_" + field);
            checked++;
        }
        assertEquals(12, checked, "constants parsed from " + header);
        assertEquals(CpuNative.SQ8_MAX_D, HostCodes.MAX_DIMENSION);
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
