package dev.latent.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.latent.compute.java.JavaBackend;
import dev.latent.compute.ResidentMatrix;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The benchmark driver: cases in, timings and checkable neighbours out, bad input named. */
class KnnBenchTest {
    @TempDir
    Path dir;

    private final ObjectMapper json = new ObjectMapper();

    private int run(String... args) {
        CommandLine cl = new CommandLine(new KnnBench());
        cl.setErr(new java.io.PrintWriter(new ByteArrayOutputStream()));
        return cl.execute(args);
    }

    private List<JsonNode> results(Path out) throws Exception {
        List<JsonNode> list = new ArrayList<>();
        for (String line : Files.readAllLines(out)) {
            list.add(json.readTree(line));
        }
        return list;
    }

    @Test
    void timesEveryCaseAndDumpsTheExactNeighbours() throws Exception {
        Path cases = dir.resolve("cases.jsonl");
        Files.writeString(cases, String.join("\n",
                "{\"id\": \"a\", \"n\": 1000, \"d\": 7, \"q\": 5, \"k\": 10, \"metric\": \"ip\"}",
                "{\"id\": \"b\", \"n\": 1000, \"d\": 7, \"q\": 40, \"k\": 2000, \"metric\": \"ip\"}",
                "",
                "{\"id\": \"c\", \"n\": 1, \"d\": 4097, \"q\": 1, \"k\": 3, \"metric\": \"l2\"}"));
        Path out = dir.resolve("out.jsonl");
        Path dump = dir.resolve("dump");
        assertEquals(0, run("--cases", cases.toString(), "--out", out.toString(), "--dump", dump.toString(),
                "--seed", "5", "--check-queries", "32", "--repeats", "2", "--min-seconds", "0"));
        List<JsonNode> r = results(out);
        assertEquals(3, r.size());
        for (JsonNode n : r) {
            assertEquals("ok", n.get("status").asText(), n.toString());
            assertTrue(n.get("times_ms").size() >= 2, n.toString());
            assertTrue(n.get("min_ms").asDouble() <= n.get("median_ms").asDouble());
            assertTrue(n.get("median_ms").asDouble() <= n.get("max_ms").asDouble());
            assertTrue(n.get("prepare_ms").asDouble() >= 0);
        }
        // Case b: k > n gives n results; the dump holds the first 32 of 40 queries, and they are the
        // float64 reference's neighbours of the same BenchData.
        long[] ids = longs(Files.readAllBytes(dump.resolve("b.ids")));
        float[] scores = floats(Files.readAllBytes(dump.resolve("b.scores")));
        assertEquals(32 * 1000, ids.length);
        assertEquals(ids.length, scores.length);
        JavaBackend java = new JavaBackend();
        try (FloatMatrix db = BenchData.matrix(1000, 7, 5, BenchData.DATABASE, 2);
             FloatMatrix q = BenchData.matrix(32, 7, 5, BenchData.QUERIES, 2);
             ResidentMatrix p = java.upload(db, Metric.INNER_PRODUCT)) {
            Neighbors want = p.search(q, 2000);
            for (int i = 0; i < 32; i++) {
                for (int j = 0; j < 1000; j += 37) {
                    assertEquals(want.score(i, j), scores[i * 1000 + j], 1e-4, "query " + i + " rank " + j);
                }
                assertEquals(want.id(i, 0), ids[i * 1000]);
            }
        }
        assertArrayEquals(new long[] {0}, longs(Files.readAllBytes(dump.resolve("c.ids"))));
    }

    @Test
    void groupsPastTheBudgetAreSkippedNotLost() throws Exception {
        Path cases = dir.resolve("cases.jsonl");
        Files.writeString(cases, "{\"id\": \"a\", \"n\": 300, \"d\": 3, \"q\": 2, \"k\": 1, \"metric\": \"l2\"}\n"
                + "{\"id\": \"b\", \"n\": 301, \"d\": 3, \"q\": 2, \"k\": 1, \"metric\": \"l2\"}\n");
        Path out = dir.resolve("out.jsonl");
        assertEquals(0, run("--cases", cases.toString(), "--out", out.toString(), "--budget-seconds", "1e-9",
                "--repeats", "1", "--min-seconds", "0"));
        List<JsonNode> r = results(out);
        assertEquals("ok", r.get(0).get("status").asText());
        assertEquals("skipped", r.get(1).get("status").asText());
        assertTrue(r.get(1).get("error").asText().contains("budget"));
    }

    @Test
    void badCasesAreNamedWithTheirLine() throws Exception {
        Path cases = dir.resolve("bad.jsonl");
        Path out = dir.resolve("out.jsonl");
        String[][] bad = {
            {"{\"id\": \"a\", \"n\": 3, \"d\": 3, \"q\": 1, \"k\": 1, \"metric\": \"hamming\"}", "metric must be"},
            {"{\"id\": \"a\", \"n\": 3, \"d\": 3, \"q\": 1, \"metric\": \"ip\"}", "missing field \"k\""},
            {"{\"id\": \"../x\", \"n\": 3, \"d\": 3, \"q\": 1, \"k\": 1, \"metric\": \"ip\"}", "plain name"},
            {"{\"id\": \"a\", \"n\": 0, \"d\": 3, \"q\": 1, \"k\": 1, \"metric\": \"ip\"}", ">= 1"},
            {"not json", "not JSON"},
        };
        for (String[] b : bad) {
            Files.writeString(cases, "\n" + b[0] + "\n");
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            CommandLine cl = new CommandLine(new KnnBench());
            cl.setErr(new java.io.PrintWriter(new PrintStream(err, true, StandardCharsets.UTF_8), true));
            int code = cl.execute("--cases", cases.toString(), "--out", out.toString());
            String msg = err.toString(StandardCharsets.UTF_8);
            assertTrue(code != 0, b[0]);
            assertTrue(msg.contains(cases + ":2: ") && msg.contains(b[1]), msg);
        }
        assertTrue(Files.notExists(out), "nothing written for bad cases");
    }

    private static long[] longs(byte[] b) {
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        long[] a = new long[b.length / 8];
        for (int i = 0; i < a.length; i++) {
            a[i] = buf.getLong();
        }
        return a;
    }

    private static float[] floats(byte[] b) {
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        float[] a = new float[b.length / 4];
        for (int i = 0; i < a.length; i++) {
            a[i] = buf.getFloat();
        }
        return a;
    }
}
