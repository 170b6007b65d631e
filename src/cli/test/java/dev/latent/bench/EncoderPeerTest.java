package dev.latent.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.latent.core.FloatMatrix;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The encoder benchmark and its torch peer, on the CPU: {@link EncodeBench} dumps 32 texts' tokens, our
 * float32 vectors and timings; {@code encoder_peer.py} rebuilds the model from the ONNX file's weights, must give
 * our vectors (cosine at least 0.9999) and print the comparison table; with a planted weight error
 * ({@code --perturb}: one of the 36 weight matrices scaled by 1.1) the same gate must fail. The peer needs a
 * python3 with torch and onnx (Debian: python3-torch python3-onnx); those tests are skipped, with that reason,
 * without one. (With Debian's torch 1.13 on the reference BLAS, some 7 GFLOP/s, the peer takes most of this
 * test's time.)
 */
class EncoderPeerTest {
    private static final Path PEER = Path.of("native", "cuda", "gpu", "encoder_peer.py");
    private static final Pattern CHECK = Pattern.compile(
            "check eager float32 over (\\d+) texts: cosine to ours min ([0-9.]+)");

    @TempDir
    static Path dir;

    private static Path dump;
    private static String benchOutput;

    private record Result(int code, String output) {
    }

    @BeforeAll
    static void dumpThirtyTwoTexts() {
        dump = dir.resolve("dump");
        Result r = bench("--texts", "32", "--batches", "16", "--seconds", "0", "--check-texts", "32",
                "--dump", dump.toString());
        assertEquals(0, r.code(), r.output());
        benchOutput = r.output();
    }

    private static Result bench(String... args) {
        StringWriter out = new StringWriter();
        CommandLine cl = new CommandLine(new EncodeBench());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(out));
        int code = cl.execute(args);
        return new Result(code, out.toString());
    }

    @Test
    void dumpHoldsTheBatchesTheVectorsAndTheTimings() throws Exception {
        ObjectMapper json = new ObjectMapper();
        JsonNode manifest = json.readTree(dump.resolve("manifest.json").toFile());
        assertEquals(EncodeBench.FORMAT, manifest.get("format").asText());
        assertEquals("CPU", manifest.get("provider").asText());
        assertEquals(2, manifest.at("/sets/b16/batches").asInt(), manifest.toString());
        assertEquals(32, manifest.at("/sets/check/texts").asInt(), manifest.toString());
        assertTrue(Files.isRegularFile(dump.resolve(manifest.get("onnx").asText())));
        try (FloatMatrix v = Npy.read(dump.resolve("embeddings.npy"))) {
            assertEquals(32, v.rows());
            assertEquals(384, v.cols());
        }
        JsonNode timing = json.readTree(dump.resolve("timing.json").toFile());
        List<String> paths = new ArrayList<>();
        for (JsonNode r : timing.get("results")) {
            paths.add(r.get("path").asText() + " " + r.get("batch").asInt());
            assertTrue(r.get("texts_per_s").asDouble() > 0 && r.get("p50_batch_ms").asDouble() > 0, r.toString());
        }
        assertEquals(List.of("run 16", "bound 16"), paths);
        assertTrue(benchOutput.contains("padded with id 0 and mask 0 to its longest text"), benchOutput);
    }

    @Test
    void referenceGateFailsOnOtherVectors() throws Exception {
        // Our own vectors with every row rotated a little: the gate must name the cosine and fail.
        Path bad = dir.resolve("bad.npy");
        try (FloatMatrix v = Npy.read(dump.resolve("embeddings.npy"))) {
            for (int r = 0; r < v.rows(); r++) {
                v.set(r, 0, v.get(r, 0) + 0.05f);
            }
            Npy.write(bad, v);
        }
        Result same = bench("--texts", "16", "--batches", "16", "--paths", "run", "--seconds", "0",
                "--check-texts", "16", "--reference", dump.resolve("embeddings.npy").toString());
        assertEquals(0, same.code(), same.output());
        assertTrue(same.output().contains("cosine to reference"), same.output());
        Result r = bench("--texts", "16", "--batches", "16", "--paths", "run", "--seconds", "0",
                "--check-texts", "16", "--reference", bad.toString());
        assertEquals(1, r.code(), r.output());
        assertTrue(r.output().contains("FAILED, below 0.9999"), r.output());
    }

    @Test
    void peerGivesOurVectorsAndTheTable() throws Exception {
        String python = python();
        Path out = dir.resolve("peer");
        Result r = run(python, PEER.toString(), "--data", dump.toString(), "--device", "cpu", "--seconds", "0",
                "--out", out.toString());
        assertEquals(0, r.code(), r.output());
        Matcher m = CHECK.matcher(r.output());
        assertTrue(m.find(), r.output());
        assertEquals(32, Integer.parseInt(m.group(1)));
        assertTrue(Double.parseDouble(m.group(2)) >= 0.9999, r.output());
        for (String row : List.of("who     path/mode", "latent  run        float32      16     32",
                "latent  bound      float32      16     32", "torch   eager      float32      16     32")) {
            assertTrue(r.output().contains(row), "no line '" + row + "' in\n" + r.output());
        }
        List<String> tsv = Files.readAllLines(out.resolve("results.tsv"), StandardCharsets.UTF_8);
        assertEquals(4, tsv.size(), tsv.toString());
        assertTrue(Files.readString(out.resolve("results.json")).contains("\"vs_torch_fp32_eager\""));
    }

    @Test
    void plantedWeightErrorFailsTheCheck() throws Exception {
        String python = python();
        Result r = run(python, PEER.toString(), "--data", dump.toString(), "--device", "cpu", "--check-only",
                "--perturb", "0.1");
        assertEquals(1, r.code(), r.output());
        Matcher m = CHECK.matcher(r.output());
        assertTrue(m.find(), r.output());
        assertTrue(Double.parseDouble(m.group(2)) < 0.9999, r.output());
        assertTrue(r.output().contains("FAILED, below 0.9999"), r.output());
    }

    /** A python3 that imports numpy, torch and onnx, else the test is skipped with the packages to install. */
    private static String python() throws InterruptedException {
        Assumptions.assumeTrue(Files.isRegularFile(PEER), PEER + " not here (working directory "
                + Path.of("").toAbsolutePath() + ")");
        for (String candidate : List.of("/usr/bin/python3", "python3")) {
            try {
                if (run(candidate, "-c", "import numpy, torch, onnx").code() == 0) {
                    return candidate;
                }
            } catch (IOException notThere) {
                // try the next one
            }
        }
        Assumptions.abort("no python3 with numpy, torch and onnx here (Debian: apt-get install python3-numpy "
                + "python3-torch python3-onnx)");
        return null;
    }

    private static Result run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), String.join(" ", command) + " did not finish");
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
