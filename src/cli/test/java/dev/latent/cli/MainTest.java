package dev.latent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.space.format.Npy;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line, run in process: exit codes, messages, and index + search against a float64 brute force. */
class MainTest {
    @TempDir
    Path dir;

    record Result(int code, String out, String err) {
    }

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), args);
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static float[][] gaussian(Random rnd, int n, int d) {
        float[][] a = new float[n][d];
        for (float[] row : a) {
            for (int j = 0; j < d; j++) {
                row[j] = (float) rnd.nextGaussian();
            }
        }
        return a;
    }

    private static double score(float[] q, float[] x, Metric m) {
        double dot = 0, qq = 0, xx = 0, l2 = 0;
        for (int i = 0; i < q.length; i++) {
            dot += (double) q[i] * x[i];
            qq += (double) q[i] * q[i];
            xx += (double) x[i] * x[i];
            double t = (double) q[i] - x[i];
            l2 += t * t;
        }
        return m == Metric.INNER_PRODUCT ? dot : m == Metric.COSINE ? dot / Math.sqrt(qq * xx) : l2;
    }

    @Test
    void indexThenSearchNpyHasRecallOneAgainstFloat64BruteForce() throws Exception {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        int n = 2000, d = 67, nq = 25, k = 10;
        float[][] db = gaussian(rnd, n, d);
        float[][] qs = gaussian(rnd, nq, d);
        Path dbNpy = dir.resolve("db.npy");
        Path qNpy = dir.resolve("q.npy");
        Path idsFile = dir.resolve("db.ids");
        try (FloatMatrix m = FloatMatrix.of(db); FloatMatrix q = FloatMatrix.of(qs)) {
            Npy.write(dbNpy, m);
            Npy.write(qNpy, q);
        }
        long[] ids = new long[n];
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            ids[i] = 1_000_003L * i + 17;
            sb.append(ids[i]).append('\n');
        }
        Files.writeString(idsFile, sb);
        for (Metric metric : Metric.values()) {
            String name = metric == Metric.INNER_PRODUCT ? "ip" : metric.name().toLowerCase();
            Path idx = dir.resolve(name + ".lidx");
            Result r = run("index", dbNpy.toString(), "--ids", idsFile.toString(), "-o", idx.toString(), "--metric", name);
            assertEquals(0, r.code(), r.err());
            assertTrue(r.out().startsWith("indexed 2000 vectors of dimension 67"), r.out());
            Path res = dir.resolve(name + ".jsonl");
            r = run("search", idx.toString(), "--queries-npy", qNpy.toString(), "-k", Integer.toString(k),
                    "--format", "jsonl", "-o", res.toString(), "--quiet");
            assertEquals(0, r.code(), r.err());
            List<Set<Long>> got = new ArrayList<>();
            for (int i = 0; i < nq; i++) {
                got.add(new HashSet<>());
            }
            ObjectMapper json = new ObjectMapper();
            for (String line : Files.readAllLines(res)) {
                JsonNode o = json.readTree(line);
                got.get(o.get("query").asInt()).add(o.get("id").asLong());
            }
            for (int q = 0; q < nq; q++) {
                double[] s = new double[n];
                List<Integer> order = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    s[i] = score(qs[q], db[i], metric);
                    order.add(i);
                }
                order.sort((a, b) -> metric.higherIsNearer() ? Double.compare(s[b], s[a]) : Double.compare(s[a], s[b]));
                Set<Long> want = order.subList(0, k).stream().map(i -> ids[i]).collect(Collectors.toSet());
                assertEquals(want, got.get(q), "recall@" + k + " must be 1.0: metric " + metric + " query " + q + " seed " + seed);
            }
        }
        // TSV to standard output: a header and k lines per query.
        Result tsv = run("search", dir.resolve("l2.lidx").toString(), "--queries-npy", qNpy.toString(), "-k", "3");
        assertEquals(0, tsv.code(), tsv.err());
        String[] lines = tsv.out().split("\n");
        assertEquals("query\trank\tid\tscore", lines[0]);
        assertEquals(1 + 3 * nq, lines.length);
        assertTrue(tsv.err().startsWith("searched 25 queries over 2000 vectors"), tsv.err());
        try (Stream<Path> s = Files.list(dir)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().endsWith(".part")), "no temporary files left");
        }
    }

    @Test
    void numpyMadeFloat64DataAndNumpyOracle() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.latent.space.format.NpyTestSupport.numpyAvailable(), "python3 with numpy not available");
        // numpy writes float64 vectors (read and narrowed to float32 by Latent) and its own float64 top-k.
        String script = String.join("\n",
                "import numpy as np, sys",
                "d = sys.argv[1]",
                "rng = np.random.default_rng(1234)",
                "db = rng.standard_normal((3000, 48))",
                "q = rng.standard_normal((40, 48))",
                "np.save(d + '/db64.npy', db)",
                "np.save(d + '/q64.npy', q)",
                "db32 = db.astype(np.float32).astype(np.float64); q32 = q.astype(np.float32).astype(np.float64)",
                "s = q32 @ db32.T",
                "top = np.argsort(-s, axis=1, kind='stable')[:, :10]",
                "np.savetxt(d + '/expected.txt', top, fmt='%d')");
        Process p = new ProcessBuilder("python3", "-c", script, dir.toString()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS) && p.exitValue() == 0, log);
        Path idx = dir.resolve("np.lidx");
        Result r = run("index", dir.resolve("db64.npy").toString(), "-o", idx.toString(), "--metric", "ip");
        assertEquals(0, r.code(), r.err());
        r = run("search", idx.toString(), "--queries-npy", dir.resolve("q64.npy").toString(), "-k", "10", "--quiet");
        assertEquals(0, r.code(), r.err());
        List<Set<Long>> got = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            got.add(new HashSet<>());
        }
        String[] lines = r.out().split("\n");
        for (int i = 1; i < lines.length; i++) {
            String[] f = lines[i].split("\t");
            got.get(Integer.parseInt(f[0])).add(Long.parseLong(f[2]));
        }
        List<String> expected = Files.readAllLines(dir.resolve("expected.txt"));
        for (int q = 0; q < 40; q++) {
            Set<Long> want = new HashSet<>();
            for (String t : expected.get(q).trim().split("\\s+")) {
                want.add(Long.parseLong(t));
            }
            assertEquals(want, got.get(q), "recall@10 must be 1.0 for query " + q);
        }
    }

    @Test
    void rangeSearchFromTheCommandLine() throws Exception {
        Path npy = dir.resolve("v.npy");
        try (FloatMatrix m = FloatMatrix.of(new float[][] {{0, 0}, {1, 0}, {0, 2}, {3, 3}})) {
            Npy.write(npy, m);
        }
        Path idx = dir.resolve("v.lidx");
        assertEquals(0, run("index", npy.toString(), "-o", idx.toString(), "--metric", "l2").code());
        Path q = dir.resolve("q.npy");
        try (FloatMatrix m = FloatMatrix.of(new float[][] {{0, 0}})) {
            Npy.write(q, m);
        }
        Result r = run("search", idx.toString(), "--queries-npy", q.toString(), "--radius", "4", "--quiet");
        assertEquals(0, r.code(), r.err());
        assertEquals("query\trank\tid\tscore\n0\t1\t0\t0.0\n0\t2\t1\t1.0\n0\t3\t2\t4.0\n", r.out());
    }

    @Test
    void exitCodesAndOneLineErrors() throws Exception {
        Result none = run();
        assertEquals(2, none.code());
        assertEquals(2, run("frobnicate").code());
        assertEquals(2, run("search", "x.lidx", "--bogus").code());
        Result noQueries = run("search", "x.lidx");
        assertEquals(2, noQueries.code());
        assertTrue(noQueries.err().startsWith("error: "), noQueries.err());
        assertEquals(2, run("embed", "corpus.txt").code(), "embed needs an output");
        assertEquals(2, run("index", "v.npy", "-o", "x.lidx", "--metric", "manhattan").code());

        Result missing = run("search", dir.resolve("nope.lidx").toString(), "--queries-npy", "q.npy");
        assertEquals(1, missing.code());
        assertEquals("error: no such file: " + dir.resolve("nope.lidx") + "\n", missing.err());

        Path junk = dir.resolve("junk.lidx");
        Files.writeString(junk, "not an index");
        Result bad = run("search", junk.toString(), "--queries-npy", "q.npy");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("not a Latent index file") && !bad.err().contains("\tat "), bad.err());
        Result verbose = run("search", junk.toString(), "--queries-npy", "q.npy", "--verbose");
        assertEquals(1, verbose.code());
        assertTrue(verbose.err().contains("\tat "), "stack trace with --verbose");

        assertEquals(0, run("--help").code());
        assertEquals(0, run("search", "--help").code());
    }

    /**
     * latent --help lists each command with a whole one-line summary (its header: one sentence, ending with a
     * full stop, on one line of the list), and each command's help starts with that summary.
     */
    @Test
    void helpListsEveryCommandWithAWholeSummary() {
        Result help = run("--help");
        assertEquals(0, help.code());
        List<String> lines = help.out().lines().toList();
        int at = lines.indexOf("Commands:");
        assertTrue(at >= 0, help.out());
        List<String> commands = lines.subList(at + 1, lines.size()).stream().filter(l -> !l.isBlank()).toList();
        assertTrue(commands.size() >= 13, help.out());
        for (String line : commands) {
            assertTrue(line.matches("  [a-z]+ +\\S.*"), "a summary wrapped onto a second line: '" + line + "'\n" + help.out());
            String name = line.trim().split(" +", 2)[0];
            if (name.equals("help")) {
                continue;  // picocli's own
            }
            assertTrue(line.endsWith("."), "summary of " + name + " is not a whole sentence: '" + line + "'");
            Result own = run(name, "--help");
            assertEquals(0, own.code(), name);
            String summary = line.trim().substring(name.length()).trim();
            assertEquals(summary, own.out().lines().findFirst().orElse(""), name + " --help starts with its summary");
        }
    }

    @Test
    void corpusProblemsNameTheLine() throws Exception {
        Path jsonl = dir.resolve("c.jsonl");
        Files.writeString(jsonl, "{\"id\": 1, \"text\": \"one\"}\n{\"id\": 2, \"text\": \"two\"}\n{\"id\": 3, \"text\": \"thr\n");
        Result r = run("embed", jsonl.toString(), "-o", dir.resolve("v.npy").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("error: " + jsonl + ":3: malformed JSON"), r.err());

        Files.writeString(jsonl, "{\"id\": 1, \"text\": \"one\"}\n{\"id\": 2, \"text\": \"  \"}\n");
        r = run("embed", jsonl.toString(), "-o", dir.resolve("v.npy").toString());
        assertEquals(1, r.code());
        assertEquals("error: " + jsonl + ":2: empty text\n", r.err());

        Files.writeString(jsonl, "{\"id\": 1, \"txt\": \"one\"}\n");
        r = run("embed", jsonl.toString(), "-o", dir.resolve("v.npy").toString());
        assertTrue(r.err().contains(":1: no \"text\""), r.err());

        Path txt = dir.resolve("c.txt");
        Files.writeString(txt, "first\n\nthird\n");
        r = run("embed", txt.toString(), "-o", dir.resolve("v.npy").toString());
        assertEquals(1, r.code());
        assertEquals("error: " + txt + ":2: empty text\n", r.err());

        r = run("embed", dir.resolve("absent.txt").toString(), "-o", dir.resolve("v.npy").toString());
        assertEquals(1, r.code());
        assertEquals("error: no such file: " + dir.resolve("absent.txt") + "\n", r.err());
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(2, s.count(), "only the two corpus files: no outputs, no temporary files");
        }
    }

    @Test
    void indexRejectsBadIdsFiles() throws Exception {
        Path npy = dir.resolve("v.npy");
        try (FloatMatrix m = FloatMatrix.of(new float[][] {{1, 0}, {0, 1}})) {
            Npy.write(npy, m);
        }
        Path ids = dir.resolve("ids.txt");
        Files.writeString(ids, "5\nfive\n");
        Result r = run("index", npy.toString(), "--ids", ids.toString(), "-o", dir.resolve("x.lidx").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains(":2: id 'five' is not a 64-bit integer"), r.err());
        Files.writeString(ids, "5\n5\n");
        r = run("index", npy.toString(), "--ids", ids.toString(), "-o", dir.resolve("x.lidx").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("duplicate id 5"), r.err());
        Files.writeString(ids, "5\n");
        r = run("index", npy.toString(), "--ids", ids.toString(), "-o", dir.resolve("x.lidx").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("2 rows but 1 ids"), r.err());
        assertFalse(Files.exists(dir.resolve("x.lidx")));
    }
}
