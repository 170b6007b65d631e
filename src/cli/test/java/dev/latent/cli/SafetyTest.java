package dev.latent.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.cli.MainTest.Result;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.index.FlatIndex;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a user owns is never destroyed and a failed or interrupted run changes nothing: outputs that
 * collide with inputs (named, derived, linked), outputs that collide with each other, directories
 * given for files, unknown commands, NaN radii, ids that would break row alignment, a SIGTERM in the
 * middle of a run, a wide radius search and an out-of-memory under a small heap.
 */
class SafetyTest {
    @TempDir
    Path dir;

    private Path write(String name, String content) throws IOException {
        return write(dir, name, content);
    }

    /** Writes {@code content} as UTF-8 to {@code dir/name}. */
    static Path write(Path dir, String name, String content) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, content, StandardCharsets.UTF_8);
        return p;
    }

    /** Every file under dir with its bytes, to show that a refused run changed nothing. */
    private Map<String, byte[]> snapshot() throws IOException {
        Map<String, byte[]> m = new TreeMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.collect(Collectors.toList())) {
                m.put(p.getFileName().toString(), Files.isRegularFile(p) ? Files.readAllBytes(p) : new byte[0]);
            }
        }
        return m;
    }

    private void assertUnchanged(Map<String, byte[]> before) throws IOException {
        Map<String, byte[]> after = snapshot();
        assertEquals(before.keySet(), after.keySet(), "files appeared or vanished");
        for (String k : before.keySet()) {
            assertArrayEquals(before.get(k), after.get(k), k + " changed");
        }
    }

    private Path smallIndex(String name, int n, int d) throws IOException {
        Path p = dir.resolve(name);
        Random rnd = new Random(n);
        try (FlatIndex index = new FlatIndex(d, Metric.COSINE)) {
            float[] v = new float[d];
            for (int i = 0; i < n; i++) {
                for (int c = 0; c < d; c++) {
                    v[c] = (float) rnd.nextGaussian();
                }
                index.add(i, v);
            }
            index.save(p);
        }
        return p;
    }

    private Path npy(String name, int n, int d) throws IOException {
        return npy(dir, name, n, d);
    }

    /** An {@code n × d} float32 {@code .npy} of standard normal values at {@code dir/name}. */
    static Path npy(Path dir, String name, int n, int d) throws IOException {
        Path p = dir.resolve(name);
        Random rnd = new Random(7);
        float[] flat = new float[n * d];
        for (int i = 0; i < flat.length; i++) {
            flat[i] = (float) rnd.nextGaussian();
        }
        try (FloatMatrix m = FloatMatrix.of(flat, d)) {
            Npy.write(p, m);
        }
        return p;
    }

    @Test
    void anOutputNeverReplacesAnInput() throws Exception {
        Path corpusIds = write("corpus.ids", "a text\nanother text\n");
        Path idx = smallIndex("x.lidx", 20, 8);
        Path q = npy("q.npy", 2, 8);
        Path v = npy("v.npy", 30, 8);
        Map<String, byte[]> before = snapshot();

        // The default ids path of -o corpus.npy is corpus.ids: the input.
        Result r = MainTest.run("embed", corpusIds.toString(), "-o", dir.resolve("corpus.npy").toString(), "--quiet");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("ids output (default for -o)") && r.err().contains("input corpus"), r.err());

        r = MainTest.run("search", idx.toString(), "--queries-npy", q.toString(), "-o", idx.toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("results output (-o)") && r.err().contains("is the index"), r.err());

        r = MainTest.run("index", v.toString(), "-o", v.toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("index output (-o)") && r.err().contains("input vectors"), r.err());

        r = MainTest.run("search", idx.toString(), "--queries-npy", q.toString(), "-o", q.toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--queries-npy file"), r.err());

        // Through a symbolic link, and through a hard link.
        Path sym = Files.createSymbolicLink(dir.resolve("sym.lidx"), idx);
        r = MainTest.run("search", idx.toString(), "--queries-npy", q.toString(), "-o", sym.toString());
        assertEquals(2, r.code(), r.err());
        Path hard = Files.createLink(dir.resolve("hard.npy"), v);
        r = MainTest.run("index", v.toString(), "-o", hard.toString());
        assertEquals(2, r.code(), r.err());
        Files.delete(sym);
        Files.delete(hard);
        assertUnchanged(before);
    }

    @Test
    void twoOutputsOfOneCommandNeverShareAFile() throws Exception {
        Path corpus = write("c.txt", "one text\ntwo texts\n");
        Map<String, byte[]> before = snapshot();
        Path a = dir.resolve("a");
        Result r = MainTest.run("embed", corpus.toString(), "-o", a.toString(), "--ids", a.toString(), "--quiet");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("is also the vectors output (-o)"), r.err());
        r = MainTest.run("embed", corpus.toString(), "-o", dir.resolve("b.npy").toString(),
                "--index", dir.resolve("b.ids").toString(), "--quiet");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("index output (--index)") && r.err().contains("ids output (default for -o)"), r.err());
        // Through a directory link: same file, other path.
        Path sub = Files.createDirectory(dir.resolve("sub"));
        Path subLink = Files.createSymbolicLink(dir.resolve("sublink"), sub);
        r = MainTest.run("embed", corpus.toString(), "-o", sub.resolve("v.npy").toString(),
                "--index", subLink.resolve("v.npy").toString(), "--quiet");
        assertEquals(2, r.code(), r.err());
        Files.delete(subLink);
        Files.delete(sub);
        assertUnchanged(before);
    }

    @Test
    void replacingAPreviousOutputIsAllowed() throws Exception {
        Path idx = smallIndex("x.lidx", 20, 8);
        Path q = npy("q.npy", 2, 8);
        Path out = dir.resolve("hits.tsv");
        assertEquals(0, MainTest.run("search", idx.toString(), "--queries-npy", q.toString(), "-o", out.toString(),
                "-k", "3", "--quiet").code());
        assertEquals(0, MainTest.run("search", idx.toString(), "--queries-npy", q.toString(), "-o", out.toString(),
                "-k", "4", "--quiet").code());
        assertEquals(1 + 2 * 4, Files.readAllLines(out).size());
    }

    @Test
    void directoriesUnknownCommandsAndNanAreUsageErrors() throws Exception {
        Path idx = smallIndex("x.lidx", 20, 8);
        Path sub = Files.createDirectory(dir.resolve("folder"));
        Result r = MainTest.run("search", sub.toString(), "--queries-npy", npy("q.npy", 1, 8).toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("index " + sub + " is a directory"), r.err());
        r = MainTest.run("embed", sub.toString(), "-o", dir.resolve("v.npy").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("input corpus " + sub + " is a directory"), r.err());

        r = MainTest.run("nosuchcommand", "--help");
        assertEquals(2, r.code(), r.err());
        assertEquals("", r.out());
        assertTrue(r.err().contains("unknown command 'nosuchcommand'"), r.err());

        r = MainTest.run("search", idx.toString(), "--queries-npy", dir.resolve("q.npy").toString(), "--radius", "NaN");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--radius must be a number"), r.err());
        r = MainTest.run("search", idx.toString(), "--queries-npy", dir.resolve("q.npy").toString(), "-k", "0");
        assertEquals(2, r.code(), r.err());
    }

    @Test
    void idsThatWouldBreakRowAlignmentAreRefusedWithTheirLine() throws Exception {
        String[][] cases = {
            {"{\"id\": \"a\\nb\", \"text\": \"x\"}", "line break"},
            {"{\"id\": \"a\\rb\", \"text\": \"x\"}", "carriage return"},
            {"{\"id\": \"a\\tb\", \"text\": \"x\"}", "tab"},
            {"{\"id\": \"\", \"text\": \"x\"}", "empty \"id\""},
        };
        for (String[] c : cases) {
            Path corpus = write("ids.jsonl", "{\"id\": \"ok\", \"text\": \"fine\"}\n" + c[0] + "\n");
            Result r = MainTest.run("embed", corpus.toString(), "-o", dir.resolve("v.npy").toString(), "--quiet");
            assertEquals(1, r.code(), r.err());
            assertTrue(r.err().contains(corpus + ":2: ") && r.err().contains(c[1]), r.err());
            assertFalse(Files.exists(dir.resolve("v.npy")));
        }
    }

    @Test
    void aBadUtf8ByteIsReportedAtItsRealLine() throws Exception {
        Path corpus = dir.resolve("bad.txt");
        StringBuilder sb = new StringBuilder();
        for (int i = 1; i < 4000; i++) {
            sb.append("line number ").append(i).append(" is plain text\n");
        }
        byte[] head = sb.toString().getBytes(StandardCharsets.UTF_8);
        byte[] tail = "and then \u00e9t\u00e9 and more\n".getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[head.length + tail.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(tail, 0, all, head.length, tail.length);
        all[head.length + 9] = (byte) 0xC3;   // é's first byte kept,
        all[head.length + 10] = (byte) 0x28;  // its continuation byte broken
        Files.write(corpus, all);
        Result r = MainTest.run("embed", corpus.toString(), "-o", dir.resolve("v.npy").toString(), "--quiet");
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains(corpus + ":4000: not valid UTF-8 (byte 0xc3 at byte 10 of the line)"), r.err());
    }

    @Test
    void aWideRadiusSearchUnderASmallHeapEndsWithOneLine() throws Exception {
        // Every vector is within radius -1 under cosine: 300,000 results for one query, against a limit of
        // 100,000 (by default the limit is a 64th of the heap: about a million results for -Xmx64m).
        Path idx = dir.resolve("wide.lidx");
        try (FlatIndex index = new FlatIndex(2, Metric.COSINE)) {
            int n = 300_000;
            long[] ids = new long[n];
            float[] flat = new float[2 * n];
            for (int i = 0; i < n; i++) {
                ids[i] = i;
                flat[2 * i] = 1;
                flat[2 * i + 1] = i % 7;
            }
            try (FloatMatrix m = FloatMatrix.of(flat, 2)) {
                index.add(ids, m);
            }
            index.save(idx);
        }
        Path q = dir.resolve("q.npy");
        try (FloatMatrix m = FloatMatrix.of(new float[] {1, 0}, 2)) {
            Npy.write(q, m);
        }
        Path out = dir.resolve("hits.tsv");
        ChildResult r = runChild(List.of("-Xmx64m", "-Dlatent.search.maxRangeResults=100000"), "search", idx.toString(),
                "--queries-npy", q.toString(), "--radius", "-1", "-o", out.toString());
        assertEquals(1, r.code, r.err);
        assertTrue(r.err.startsWith("error: query 1 has more than 100000 vectors within --radius -1.0"), r.err);
        assertTrue(r.err.contains("narrow the radius"), r.err);
        assertEquals(1, r.err.strip().lines().count(), "one line, no stack trace: " + r.err);
        assertFalse(Files.exists(out));
        // Within the limit the same search streams every result.
        r = runChild(List.of("-Xmx64m"), "search", idx.toString(), "--queries-npy", q.toString(), "--radius", "-1",
                "-o", out.toString(), "--quiet");
        assertEquals(0, r.code, r.err);
        assertEquals(1 + 300_000, Files.readAllLines(out).size());
    }

    @Test
    void outOfMemoryIsOneLineWithARemedy() throws Exception {
        // 3 million ids need a 24 MB array plus its copies: more than a 16 MB heap holds.
        Path ids = dir.resolve("many.ids");
        try (var w = Files.newBufferedWriter(ids)) {
            for (int i = 0; i < 3_000_000; i++) {
                w.write(Integer.toString(i));
                w.write('\n');
            }
        }
        Path v = npy("v.npy", 3, 4);
        ChildResult r = runChild(List.of("-Xmx16m"), "index", v.toString(), "--ids", ids.toString(),
                "-o", dir.resolve("x.lidx").toString());
        assertEquals(1, r.code, r.err);
        assertTrue(r.err.startsWith("error: out of memory (Java heap space)"), r.err);
        assertTrue(r.err.contains("-Xmx"), r.err);
        assertEquals(1, r.err.strip().lines().count(), "one line: " + r.err);
    }

    @Test
    void anIndexCannotMakeSearchOpenLocalFiles() throws Exception {
        // The model's own files, copied to disk as a user's export would be.
        Path onnx = dir.resolve("model.onnx");
        Path tok = dir.resolve("tokenizer.json");
        try (var a = SafetyTest.class.getResourceAsStream("/all-minilm-l6-v2-q.onnx");
             var b = SafetyTest.class.getResourceAsStream("/all-minilm-l6-v2-q-tokenizer.json")) {
            org.junit.jupiter.api.Assumptions.assumeTrue(a != null && b != null, "model jar not on the class path");
            Files.copy(a, onnx);
            Files.copy(b, tok);
        }
        Path corpus = write("c.txt", "the cat sat on the mat\nstocks fell sharply\n");
        Path idx = dir.resolve("own.lidx");
        Result r = MainTest.run("embed", corpus.toString(), "--index", idx.toString(), "--onnx", onnx.toString(),
                "--tokenizer", tok.toString(), "--quiet");
        assertEquals(0, r.code(), r.err());
        r = MainTest.run("search", idx.toString(), "--query", "a cat", "-k", "1", "--quiet");
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("does not open local files by itself") && r.err().contains("--onnx " + onnx)
                && r.err().contains("--use-index-model-paths"), r.err());
        r = MainTest.run("search", idx.toString(), "--query", "a cat", "-k", "1", "--quiet", "--use-index-model-paths");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().split("\n")[1].startsWith("a cat\t1\t0\t"), r.out());
        r = MainTest.run("search", idx.toString(), "--query", "stock market", "-k", "1", "--quiet",
                "--onnx", onnx.toString(), "--tokenizer", tok.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().split("\n")[1].startsWith("stock market\t1\t1\t"), r.out());
    }

    @Test
    void theBuildSaysItNeedsACompiler() throws Exception {
        Path script = Path.of("native", "build.sh");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(script), "native/build.sh not here");
        ProcessBuilder pb = new ProcessBuilder("bash", script.toString(), dir.resolve("w").toString(),
                dir.resolve("o").toString()).redirectErrorStream(true);
        pb.environment().put("CXX", "/nonexistent/g++");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue(), out);
        assertTrue(out.contains("the build needs a C++17 compiler") && out.contains("apt-get install g++"), out);
    }

    @Test
    void sigtermMidRunLeavesNoFiles() throws Exception {
        // The sample corpus takes seconds to embed: long enough to be interrupted while writing.
        Path corpus = dir.resolve("corpus.jsonl");
        try (var in = SafetyTest.class.getResourceAsStream("/dev/latent/encode/models/corpus/wordnet-glosses.jsonl")) {
            org.junit.jupiter.api.Assumptions.assumeTrue(in != null, "sample corpus not on the class path");
            Files.copy(in, corpus);
        }
        Path outDir = Files.createDirectory(dir.resolve("out"));
        Process p = childProcess(List.of(), "embed", corpus.toString(), "-o", outDir.resolve("v.npy").toString(),
                "--index", outDir.resolve("v.lidx").toString(), "--quiet");
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline && listing(outDir).stream().noneMatch(f -> f.endsWith(".part"))) {
                assertTrue(p.isAlive(), "the run ended before it was interrupted");
                Thread.sleep(20);
            }
            assertTrue(listing(outDir).stream().anyMatch(f -> f.endsWith(".part")), "no temporary file seen");
            p.destroy();   // SIGTERM
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
        assertEquals(Set.of(), listing(outDir), "a SIGTERM mid-run leaves nothing behind");
    }

    private static Set<String> listing(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(x -> x.getFileName().toString()).collect(Collectors.toSet());
        }
    }

    record ChildResult(int code, String out, String err) {
    }

    /** Runs the command line in a fresh JVM (own heap limit, own signals). */
    static Process childProcess(List<String> jvmArgs, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).start();
    }

    static ChildResult runChild(List<String> jvmArgs, String... args) throws Exception {
        Process p = childProcess(jvmArgs, args);
        var err = new java.io.ByteArrayOutputStream();
        Thread drain = new Thread(() -> {
            try {
                p.getErrorStream().transferTo(err);
            } catch (IOException ignored) {
                // the process ended
            }
        });
        drain.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child did not finish");
        drain.join();
        String e = err.toString(StandardCharsets.UTF_8).lines()
                .filter(l -> !l.startsWith("WARNING:") && !l.startsWith("SLF4J"))
                .collect(Collectors.joining("\n"));
        return new ChildResult(p.exitValue(), out, e);
    }
}
