package dev.latent.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.compute.cpu.CpuBackend;
import dev.latent.compute.cpu.CpuNative;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** LATENT_CPU_ISA is read by the native library at start-up: checked in child JVMs. */
class IsaEnvTest {
    /** Child JVM entry point: prints the chosen level or the error. */
    public static final class Probe {
        public static void main(String[] args) {
            try {
                CpuBackend.open();
                System.out.println("isa=" + CpuBackend.isa());
            } catch (BackendUnavailableException e) {
                System.out.println("unavailable(" + e.nativeCode() + "): " + e.getMessage());
            }
        }
    }

    private static String run(String isaEnv) throws IOException, InterruptedException {
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"),
                Probe.class.getName()));
        pb.environment().put("LATENT_CPU_ISA", isaEnv);
        // Standard error goes to a file: newer JDKs print native-access warnings there, and only the
        // probe's own line on standard output is compared.
        Path err = Files.createTempFile("latent-isa-probe", ".err");
        try {
            pb.redirectError(err.toFile());
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "probe JVM did not finish");
            assertEquals(0, p.exitValue(), () -> "probe JVM failed: " + readQuietly(err));
            return out;
        } finally {
            Files.deleteIfExists(err);
        }
    }

    private static String readQuietly(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "(standard error unreadable: " + e + ")";
        }
    }

    @Test
    void forcedLevelsAreHonouredOrRefused() throws Exception {
        CpuBackend.open();
        assertEquals("isa=scalar", run("scalar"));
        String bogus = run("sse9");
        assertTrue(bogus.contains("unavailable(" + CpuNative.EISA_NAME + "): LATENT_CPU_ISA=sse9"), bogus);
        for (String isa : new String[] {"avx2", "avx512"}) {
            String out = run(isa);
            if (CpuBackend.supportedIsas().contains(isa)) {
                assertEquals("isa=" + isa, out);
            } else {
                assertTrue(out.contains("unavailable(" + CpuNative.EISA + "): LATENT_CPU_ISA=" + isa
                        + ": this CPU does not support it"), out);
            }
        }
    }
}
