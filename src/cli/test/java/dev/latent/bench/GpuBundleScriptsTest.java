package dev.latent.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The GPU bundle's scripts, as far as they run without a GPU: shell syntax, run.sh's refusal of a bad
 * option, and bench_torch.py's own tests (shared data, torch's k-NN, the cross-check, the floor), which
 * need a python3 with torch (Debian: python3-torch) and are skipped, with that reason, without one.
 * The whole bundle is built and run by native/cuda/gpu-bundle.sh (docs/gpu.md).
 */
class GpuBundleScriptsTest {
    private static final Path GPU = Path.of("native", "cuda", "gpu");

    private static void requireSources() {
        Assumptions.assumeTrue(Files.isDirectory(GPU), "native/cuda/gpu not here (working directory "
                + Path.of("").toAbsolutePath() + "; inside the GPU bundle the scripts themselves run)");
    }

    private record Result(int code, String output) {
    }

    private static Result run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), String.join(" ", command) + " did not finish");
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    @Test
    void shellScriptsParse() throws Exception {
        requireSources();
        for (Path script : List.of(GPU.resolve("run.sh"), GPU.resolveSibling("gpu-bundle.sh"),
                GPU.resolveSibling("check").resolve("build.sh"))) {
            Result r = run("bash", "-n", script.toString());
            assertEquals(0, r.code(), script + ": " + r.output());
        }
    }

    @Test
    void runShRefusesABadBackendBeforeDoingAnything() throws Exception {
        requireSources();
        Result r = run("bash", GPU.resolve("run.sh").toString(), "--backend", "tpu");
        assertEquals(64, r.code(), r.output());
        assertTrue(r.output().contains("--backend must be cuda or cpu, got 'tpu'"), r.output());
        Result help = run("bash", GPU.resolve("run.sh").toString(), "--help");
        assertEquals(0, help.code(), help.output());
        assertTrue(help.output().contains("--steps"), help.output());
    }

    @Test
    void benchTorchSelfTests() throws Exception {
        requireSources();
        String python = null;
        for (String candidate : List.of("/usr/bin/python3", "python3")) {
            try {
                if (run(candidate, "-c", "import torch").code() == 0) {
                    python = candidate;
                    break;
                }
            } catch (IOException notThere) {
                // try the next one
            }
        }
        Assumptions.assumeTrue(python != null, "no python3 with torch here (Debian: apt-get install python3-torch)");
        Result r = run(python, "-m", "unittest", "-v", GPU.resolve("test_bench_torch.py").toString());
        assertEquals(0, r.code(), r.output());
        assertTrue(r.output().contains("OK"), r.output());
    }
}
