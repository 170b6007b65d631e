package dev.latent.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The CUDA half without a GPU: the real kernel and host sources compiled with g++ over the host
 * simulator (native/cuda/sim), checked against float64 references. {@code cuda_check_sim} is the
 * GPU bundle's checks driver going through the C API of liblatentcuda (host code, batching, plans,
 * merges, argument checks, leak check); {@code topk_sim} drives the kernels directly. Each run uses a
 * fresh seed, printed in the failure message. Skipped, with the reason, where the native sources or
 * g++ are absent (as inside the GPU bundle, which runs the real thing instead).
 */
class CudaSimulatorTest {
    private static final Path NATIVE = Path.of("native", "cuda");

    private static void requireSources() {
        Assumptions.assumeTrue(Files.isDirectory(NATIVE.resolve("sim")),
                "native/cuda sources not here (working directory " + Path.of("").toAbsolutePath() + ")");
        Assumptions.assumeTrue(onPath("g++"), "g++ not on the PATH");
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    /** Runs a command in the project folder; returns its output; fails on a non-zero exit or timeout. */
    private static String run(long timeoutSeconds, Map<String, String> env, String... command)
            throws IOException, InterruptedException {
        return run(timeoutSeconds, env, 0, command);
    }

    /** As {@link #run(long, Map, String...)}, but the command must exit with {@code expectedExit} (any non-zero: -1). */
    private static String run(long timeoutSeconds, Map<String, String> env, int expectedExit, String... command)
            throws IOException, InterruptedException {
        Path log = Files.createTempFile("latent-sim", ".log");
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().putAll(env);
            Process p = pb.start();
            boolean finished = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
            if (!finished) {
                p.destroyForcibly().waitFor();
            }
            String out = Files.readString(log, StandardCharsets.UTF_8);
            String what = String.join(" ", command) + " " + env;
            assertTrue(finished, what + " ran past " + timeoutSeconds + " s:\n" + tail(out));
            if (expectedExit == -1) {
                assertTrue(p.exitValue() != 0, what + " exited 0 but should have failed:\n" + tail(out));
            } else {
                assertEquals(expectedExit, p.exitValue(), what + " failed:\n" + tail(out));
            }
            return out;
        } finally {
            Files.deleteIfExists(log);
        }
    }

    private static String tail(String s) {
        List<String> lines = s.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    @Test
    void checksDriverPassesOnTheSimulatedLibrary() throws Exception {
        requireSources();
        Path out = Path.of("target", "cuda-sim");
        run(300, Map.of(), "bash", NATIVE.resolve("check/build.sh").toString(), "sim", out.toString());
        String seed = Integer.toString(new Random().nextInt(1_000_000_000));
        String log = run(600, Map.of(), out.resolve("cuda_check_sim").toString(), "--seed", seed);
        assertTrue(log.contains(" 0 failures"), "seed " + seed + ":\n" + tail(log));
        assertTrue(log.contains("ok   every simulated device allocation was freed"), tail(log));
    }

    @Test
    void kernelSimulationPasses() throws Exception {
        requireSources();
        String seed = Integer.toString(new Random().nextInt(1_000_000_000));
        String log = run(600, Map.of("LATENT_SIM_SEED", seed), "bash", NATIVE.resolve("sim/run.sh").toString(),
                Path.of("target", "topk-sim").toString());
        assertTrue(log.contains("ALL OK"), "seed " + seed + ":\n" + tail(log));
    }

    /**
     * The tensor-core path's checks can fail: built with two TF32 fragment registers exchanged, or with no
     * candidate margin, the simulator's tensor-core cases must report failures (results that differ from the
     * float32 path, keys outside the bound), while the same cases pass on the real kernels (above).
     */
    @Test
    void tensorCoreChecksCatchPlantedBugs() throws Exception {
        requireSources();
        for (String plant : List.of("mma-layout", "tc-margin")) {
            String log = run(300, Map.of("LATENT_SIM_PLANT", plant, "LATENT_SIM_MODE", "tensor", "LATENT_SIM_SEED", "42"),
                    -1, "bash", NATIVE.resolve("sim/run.sh").toString(), Path.of("target", "topk-sim-" + plant).toString());
            assertTrue(log.contains("FAILURES"), plant + ":\n" + tail(log));
            assertTrue(log.lines().anyMatch(l -> l.startsWith("FAIL") && l.contains("tensor cores")),
                    plant + ": no tensor-core case failed:\n" + tail(log));
        }
    }
}
