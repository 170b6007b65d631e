package dev.latent.cli;

import dev.latent.index.VectorIndex;
import dev.latent.job.ShardedEmbedding;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.latent.cli.MainTest.Result;
import dev.latent.core.Metric;
import dev.latent.index.FlatIndex;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The edges a hostile probe found past the first safety tests, each through the command line: sharded and
 * direct runs agree on ids; {@code ..} after a linked folder; inputs reached through folders, list files, ids
 * files and manifests; devices, FIFOs and descriptor links as outputs; resumes of edited corpora, edited
 * manifests, foreign shard names, another metric, a run still writing; ids that only look like integers; file
 * names and ids that would break a line; truncated JPEGs; indexes cut short; modes, long names, trailing
 * slashes, lone carriage returns, non-ASCII digits, bad list files and invisible texts.
 */
class TrustTest {
    @TempDir
    Path dir;

    private Path write(String name, String content) throws IOException {
        return SafetyTest.write(dir, name, content);
    }

    private Path npy(String name, int n, int d) throws IOException {
        return SafetyTest.npy(dir, name, n, d);
    }

    private Path digits(int count) {
        Path d = dir.resolve("digits");
        Result r = MainTest.run("digits", d.toString(), "--count", String.valueOf(count));
        assertEquals(0, r.code(), r.err());
        return d;
    }

    private static void ok(Result r) {
        assertEquals(0, r.code(), r.out() + r.err());
    }

    private static void refused(int code, Result r, String... words) {
        assertEquals(code, r.code(), r.out() + r.err());
        for (String w : words) {
            assertTrue(r.err().contains(w), "expected '" + w + "' in: " + r.err());
        }
    }

    // 0. One id rule for every path.

    /** Each hit as rank, id, corpus id and text (scores may differ in the last bits between batchings). */
    private static List<String> hits(Result r) {
        List<String> out = new ArrayList<>();
        for (String line : r.out().split("\n")) {
            String[] f = line.split("\t", -1);
            if (f.length >= 6 && !f[0].equals("query")) {
                out.add(f[0] + "|" + f[1] + "|" + f[2] + "|" + f[4] + "|" + f[5]);
            }
        }
        return out;
    }

    @Test
    void aShardedRunKeepsTheCorpusIdsLikeADirectRun() throws Exception {
        String[] texts = {"green pear", "black night", "a red apple", "the blue sea", "white snow", "yellow sun"};
        for (int base : new int[] {0, 1000}) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < texts.length; i++) {
                sb.append("{\"id\": ").append(base + texts.length - 1 - i).append(", \"text\": \"").append(texts[i]).append("\"}\n");
            }
            Path corpus = write("c" + base + ".jsonl", sb.toString());
            Path direct = dir.resolve("direct" + base + ".lidx");
            Path shards = dir.resolve("shards" + base);
            ok(MainTest.run("embed", corpus.toString(), "--index", direct.toString(), "--quiet"));
            ok(MainTest.run("embed", corpus.toString(), "--shards", shards.toString(), "--shard-size", "2", "--block", "2",
                    "--quiet"));
            for (String index : new String[] {direct.toString(), shards.resolve("manifest.json").toString()}) {
                try (VectorIndex idx = ShardedEmbedding.openIndex(Path.of(index))) {
                    long[] ids = idx.ids();
                    Arrays.sort(ids);
                    assertEquals(base, ids[0], index);
                    assertEquals(base + 5, ids[5], index);
                }
            }
            List<String> a = hits(MainTest.run("search", direct.toString(), "--query", "a fruit", "--query", "the dark",
                    "-k", "6", "--corpus", corpus.toString(), "--quiet"));
            List<String> b = hits(MainTest.run("search", shards.resolve("manifest.json").toString(), "--query", "a fruit",
                    "--query", "the dark", "-k", "6", "--corpus", corpus.toString(), "--quiet"));
            assertEquals(12, a.size(), a.toString());
            assertEquals(a, b, "the merged shards find the same records as the direct index");
            // Each hit's id is the record's own: id and corpus id agree, and the text is that record's.
            for (String h : a) {
                String[] f = h.split("\\|");
                assertEquals(f[2], f[3], h);
                int record = texts.length - 1 - (Integer.parseInt(f[2]) - base);
                assertEquals(texts[record], f[4], h);
            }
        }
    }

    // 2. ".." after a linked folder.

    @Test
    void dotDotAfterALinkedFolderNeverReplacesTheInput() throws Exception {
        Path v = npy("v.npy", 30, 8);
        byte[] before = Files.readAllBytes(v);
        Path b = Files.createDirectories(dir.resolve("a").resolve("b"));
        Files.createSymbolicLink(dir.resolve("sub"), b);
        // A previous output where the OS resolves sub/../v.npy: dir/a/v.npy.
        Files.write(dir.resolve("a").resolve("v.npy"), new byte[] {1, 2, 3});
        ok(MainTest.run("index", v.toString(), "-o", dir + "/sub/../v.npy"));
        assertArrayEquals(before, Files.readAllBytes(v), "the input is untouched");
        try (FlatIndex idx = FlatIndex.load(dir.resolve("a").resolve("v.npy"))) {
            assertEquals(30, idx.size(), "the output went where the OS resolves the path");
        }
    }

    // 3. Inputs reached through folders, list files, ids files and manifests.

    @Test
    void imagesInAFolderOrAListAreInputsToo() throws Exception {
        Path d = digits(20);
        Path image = d.resolve("3").resolve("0003.png");
        byte[] before = Files.readAllBytes(image);
        refused(2, MainTest.run("embed", "--model", "digits-ae", d.toString(), "-o", image.toString()),
                "input image", "an output never replaces an input");
        Path list = write("list.txt", "digits/1/0001.png\ndigits/3/0003.png\n");
        refused(2, MainTest.run("embed", "--model", "digits-ae", list.toString(), "--index", image.toString()),
                "input image");
        refused(2, MainTest.run("reconstruct", "--model", "digits-ae", d.toString(), "-o", image.toString()),
                "input image");
        assertArrayEquals(before, Files.readAllBytes(image));

        Path idx = dir.resolve("d.lidx");
        ok(MainTest.run("embed", "--model", "digits-ae", d.toString(), "-o", dir.resolve("d.npy").toString(),
                "--index", idx.toString(), "--metric", "l2"));
        // map -o NAME writes NAME.png: here an image the ids file leads to.
        refused(2, MainTest.run("map", idx.toString(), "--image-ids", dir.resolve("d.ids").toString(), "--image-root",
                d.toString(), "-o", d.resolve("3").resolve("0003").toString(), "--quiet"), "image (--image-ids)");
        // path --decode onto its own FROM image.
        refused(2, MainTest.run("path", idx.toString(), image.toString(), d.resolve("8").resolve("0008.png").toString(),
                "--decode", image.toString()), "point image");
        assertArrayEquals(before, Files.readAllBytes(image));
    }

    @Test
    void shardsListedByAManifestAreInputsAndTheCorpusMayNotSitInTheShardsFolder() throws Exception {
        Path corpus = write("c.txt", "one text\ntwo texts\nthree texts\n");
        Path shards = dir.resolve("shards");
        ok(MainTest.run("embed", corpus.toString(), "--shards", shards.toString(), "--shard-size", "2", "--block", "1",
                "--quiet"));
        Path manifest = shards.resolve("manifest.json");
        Path shard = shards.resolve("shard-00000.npy");
        byte[] before = Files.readAllBytes(shard);
        refused(2, MainTest.run("index", manifest.toString(), "-o", shard.toString()), "shard shard-00000.npy");
        refused(2, MainTest.run("search", manifest.toString(), "--query", "one", "-o",
                shards.resolve("shard-00001.ids").toString()), "shard shard-00001.ids");
        assertArrayEquals(before, Files.readAllBytes(shard));

        Path real = Files.createDirectory(dir.resolve("real"));
        Path link = Files.createSymbolicLink(dir.resolve("link"), real);
        Path inside = Files.copy(corpus, real.resolve("c.txt"));
        refused(2, MainTest.run("embed", inside.toString(), "--shards", link.toString(), "--quiet"),
                "lies inside the --shards folder");
        try (var s = Files.list(real)) {
            assertEquals(List.of(inside), s.toList());
        }
    }

    // 4. Devices, FIFOs and descriptor links.

    @Test
    void aFifoOrADescriptorLinkIsNeverReplaced() throws Exception {
        Path v = npy("v.npy", 10, 4);
        Path fifo = dir.resolve("fifo");
        Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
        Assumptions.assumeTrue(mk.waitFor() == 0, "mkfifo is not available");
        refused(2, MainTest.run("index", v.toString(), "-o", fifo.toString()), "FIFO");
        assertTrue(Files.exists(fifo) && !Files.isRegularFile(fifo), "still a FIFO");
        Path link = Files.createSymbolicLink(dir.resolve("out.lidx"), Path.of("/proc/self/fd/1"));
        refused(2, MainTest.run("index", v.toString(), "-o", link.toString()), "regular file");
        assertTrue(Files.isSymbolicLink(link), "still a link");
        // Standard output redirected to a file: the descriptor link leads to that file, which is still not replaced.
        Path stdout = write("stdout.txt", "");
        Object inode = Files.getAttribute(stdout, "unix:ino");
        java.util.List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "index", v.toString(), "-o",
                link.toString()));
        Process p = new ProcessBuilder(cmd).redirectOutput(stdout.toFile()).redirectError(dir.resolve("stderr.txt").toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, p.exitValue(), Files.readString(dir.resolve("stderr.txt")));
        assertEquals(inode, Files.getAttribute(stdout, "unix:ino"), "the file behind standard output is the same file");
        assertEquals(0, Files.size(stdout));
    }

    // 7. Resume: fingerprints, checksums, names, metric, a lock.

    private Path brokenRun(Path shards, String line1, String line7) throws IOException {
        Path corpus = write("resume.txt", line1 + "\nbeta two\ngamma three\ndelta four\nepsilon five\nzeta six\n" + line7
                + "\neta eight\n");
        Result r = MainTest.run("embed", corpus.toString(), "--shards", shards.toString(), "--shard-size", "2", "--block",
                "2", "--quiet");
        refused(1, r, "resume.txt:7: empty text");
        return corpus;
    }

    @Test
    void aResumeRefusesACorpusEditedInPlaceAndAnotherMetric() throws Exception {
        Path shards = dir.resolve("shards");
        Path corpus = brokenRun(shards, "alpha one", "   ");
        assertEquals(3, new ObjectMapper().readTree(shards.resolve("manifest.json").toFile()).path("shards").size());
        // The bad line mended, and the first (already embedded) line changed: same size, other content.
        Files.writeString(corpus, Files.readString(corpus).replace("alpha one", "ALPHA ONE").replace("\n   \n", "\nabc\n"));
        refused(2, MainTest.run("embed", corpus.toString(), "--shards", shards.toString(), "--shard-size", "2", "--block",
                "2", "--quiet", "--resume"), "the corpus was edited");
        Files.writeString(corpus, Files.readString(corpus).replace("ALPHA ONE", "alpha one"));
        refused(2, MainTest.run("embed", corpus.toString(), "--shards", shards.toString(), "--shard-size", "2", "--block",
                "2", "--quiet", "--resume", "--metric", "l2"), "records --metric cosine");
        ok(MainTest.run("embed", corpus.toString(), "--shards", shards.toString(), "--shard-size", "2", "--block", "2",
                "--quiet", "--resume"));
        try (VectorIndex idx = ShardedEmbedding.openIndex(shards.resolve("manifest.json"))) {
            assertEquals(8, idx.size());
        }
        // Every shard's fingerprint, those written before and after the resume, is the hash of the corpus up to its end.
        byte[] all = Files.readAllBytes(corpus);
        for (var shard : new ObjectMapper().readTree(shards.resolve("manifest.json").toFile()).path("shards")) {
            int end = shard.path("endOffset").asInt();
            String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Arrays.copyOf(all, end)));
            assertEquals(expected, shard.path("corpusSha256").asText(), shard.toString());
        }
    }

    @Test
    void anEditedManifestOrAShardNameOutsideTheRunIsRefused() throws Exception {
        Path corpus = write("c.txt", "one text\ntwo texts\nthree texts\n");
        Path shards = dir.resolve("shards");
        ok(MainTest.run("embed", corpus.toString(), "--shards", shards.toString(), "--shard-size", "1", "--block", "1",
                "--quiet"));
        Path manifest = shards.resolve("manifest.json");
        String original = Files.readString(manifest);
        ObjectMapper json = new ObjectMapper();
        ObjectNode m = (ObjectNode) json.readTree(original);
        ((ObjectNode) m.path("shards").get(1)).put("firstRow", 7);
        Files.writeString(manifest, json.writerWithDefaultPrettyPrinter().writeValueAsString(m));
        refused(2, MainTest.run("index", manifest.toString(), "-o", dir.resolve("x.lidx").toString()), "checksum");

        // A name leading out of the folder, with a checksum that matches: refused by the name rule.
        Path elsewhere = Files.createDirectory(dir.resolve("elsewhere"));
        Files.copy(shards.resolve("shard-00000.npy"), elsewhere.resolve("shard-00000.npy"));
        Files.copy(shards.resolve("shard-00000.ids"), elsewhere.resolve("shard-00000.ids"));
        m = (ObjectNode) json.readTree(original);
        ((ObjectNode) m.path("shards").get(0)).put("name", "../elsewhere/shard-00000");
        m.remove("manifestSha256");
        m.put("manifestSha256", HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(json.writeValueAsBytes(m))));
        Files.writeString(manifest, json.writerWithDefaultPrettyPrinter().writeValueAsString(m));
        refused(2, MainTest.run("index", manifest.toString(), "-o", dir.resolve("x.lidx").toString()),
                "shards are shard-NNNNN files of the run's own folder");
        assertFalse(Files.exists(dir.resolve("x.lidx")));
    }

    @Test
    void aResumeWhileTheFirstRunStillWritesIsLockedOut() throws Exception {
        Path corpus = dir.resolve("corpus.jsonl");
        try (var in = TrustTest.class.getResourceAsStream("/dev/latent/encode/models/corpus/wordnet-glosses.jsonl")) {
            Assumptions.assumeTrue(in != null, "sample corpus not on the class path");
            Files.copy(in, corpus);
        }
        Path shards = dir.resolve("shards");
        String[] args = {"embed", corpus.toString(), "--shards", shards.toString(), "--shard-size", "256", "--block", "64",
            "--quiet"};
        Process p = SafetyTest.childProcess(List.of(), args);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline && !Files.exists(shards.resolve("manifest.json"))) {
                assertTrue(p.isAlive(), "the first run ended before the second started");
                Thread.sleep(20);
            }
            assertTrue(p.isAlive(), "the first run ended before the second started");
            List<String> resume = new ArrayList<>(List.of(args));
            resume.add("--resume");
            refused(2, MainTest.run(resume.toArray(new String[0])), "another run is writing");
        } finally {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    // 8. Only JSON numbers are integer ids.

    @Test
    void idStringsThatLookLikeIntegersStayStrings() throws Exception {
        Path corpus = write("ids.jsonl", "{\"id\": \"007\", \"text\": \"first\"}\n{\"id\": \"+8\", \"text\": \"second\"}\n"
                + "{\"id\": \"\u0663\", \"text\": \"third\"}\n{\"id\": \"-0\", \"text\": \"fourth\"}\n"
                + "{\"id\": \"0\", \"text\": \"fifth\"}\n");
        Path idx = dir.resolve("x.lidx");
        ok(MainTest.run("embed", corpus.toString(), "--index", idx.toString(), "-o", dir.resolve("x.npy").toString(),
                "--quiet"));
        try (FlatIndex index = FlatIndex.load(idx)) {
            assertArrayEquals(new long[] {0, 1, 2, 3, 4}, index.ids(), "string ids: records numbered in order");
        }
        assertEquals(List.of("007", "+8", "\u0663", "-0", "0"), Files.readAllLines(dir.resolve("x.ids")));

        Path big = write("big.jsonl", "{\"id\": 1, \"text\": \"first\"}\n{\"id\": 18446744073709551616, \"text\": \"second\"}\n");
        refused(1, MainTest.run("embed", big.toString(), "--index", dir.resolve("y.lidx").toString(), "--quiet"),
                "big.jsonl:2", "beyond the 64-bit integer range");
        // -0 as a number is the integer 0.
        Path zero = write("zero.jsonl", "{\"id\": -0, \"text\": \"first\"}\n{\"id\": 0, \"text\": \"second\"}\n");
        refused(1, MainTest.run("embed", zero.toString(), "--index", dir.resolve("z.lidx").toString(), "--quiet"),
                "duplicate id 0");
    }

    // 9 and 12. Names and ids that would break the one-line-per-row promise.

    @Test
    void imageNamesAndIdsThatWouldBreakALineAreRefused() throws Exception {
        Path d = digits(10);
        Files.copy(d.resolve("1").resolve("0001.png"), d.resolve("1").resolve("bad\nname.png"));
        refused(2, MainTest.run("embed", "--model", "digits-ae", d.toString(), "-o", dir.resolve("v.npy").toString()),
                "line break");
        assertFalse(Files.exists(dir.resolve("v.ids")));
        String[][] cases = {{"\\u2028", "U+2028"}, {"\\u0085", "U+0085"}, {"\\u000b", "U+000B"}, {"\\u0000", "U+0000"},
            {"\\u000c", "U+000C"}};
        for (String[] c : cases) {
            Path corpus = write("ids.jsonl", "{\"id\": \"ok\", \"text\": \"fine\"}\n{\"id\": \"a" + c[0] + "b\", \"text\": \"x\"}\n");
            refused(1, MainTest.run("embed", corpus.toString(), "-o", dir.resolve("v.npy").toString(), "--quiet"),
                    corpus + ":2: ", c[1]);
            assertFalse(Files.exists(dir.resolve("v.npy")));
        }
    }

    // 10. A truncated JPEG is unreadable.

    @Test
    void aTruncatedJpegIsUnreadable() throws Exception {
        Path d = digits(10);
        BufferedImage img = ImageIO.read(d.resolve("2").resolve("0002.png").toFile());
        BufferedImage big = new BufferedImage(256, 256, BufferedImage.TYPE_INT_RGB);
        big.createGraphics().drawImage(img, 0, 0, 256, 256, null);
        ByteArrayOutputStream jpg = new ByteArrayOutputStream();
        ImageIO.write(big, "jpg", jpg);
        byte[] bytes = jpg.toByteArray();
        Files.write(d.resolve("2").resolve("cut.jpg"), Arrays.copyOf(bytes, bytes.length * 2 / 3));
        refused(1, MainTest.run("embed", "--model", "digits-ae", d.toString(), "-o", dir.resolve("v.npy").toString()),
                "cut.jpg", "truncated");
        Result r = MainTest.run("embed", "--model", "digits-ae", d.toString(), "-o", dir.resolve("v.npy").toString(),
                "--skip-unreadable");
        ok(r);
        assertTrue(r.err().contains("skipped: ") && r.err().contains("cut.jpg"), r.err());
        assertFalse(Files.readString(dir.resolve("v.ids")).contains("cut.jpg"));
    }

    // 11. Lengths before contents.

    @Test
    void anIndexCutShortSaysTruncated() throws Exception {
        Path idx = dir.resolve("x.lidx");
        try (FlatIndex index = new FlatIndex(4, Metric.COSINE)) {
            index.add(0, new float[] {1, 2, 3, 4});
            index.putMetadata("model", "a model name long enough to cut the metadata in the middle");
            index.save(idx);
        }
        byte[] whole = Files.readAllBytes(idx);
        Path q = npy("q.npy", 1, 4);
        Path cut = dir.resolve("cut.lidx");
        Files.write(cut, Arrays.copyOf(whole, 40 + 20));
        refused(1, MainTest.run("search", cut.toString(), "--queries-npy", q.toString()), "truncated");
        Path huge = dir.resolve("huge.lidx");
        byte[] h = whole.clone();
        ByteBuffer.wrap(h).order(ByteOrder.LITTLE_ENDIAN).putLong(24, 1L << 40);
        Files.write(huge, h);
        refused(1, MainTest.run("search", huge.toString(), "--queries-npy", q.toString()), "truncated",
                "1099511627776 vectors");
    }

    // 12. The rest.

    @Test
    void aReplacedOutputKeepsItsMode() throws Exception {
        Path v = npy("v.npy", 10, 4);
        Path out = dir.resolve("x.lidx");
        ok(MainTest.run("index", v.toString(), "-o", out.toString()));
        Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rw-------"));
        ok(MainTest.run("index", v.toString(), "-o", out.toString()));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(out)));
    }

    @Test
    void longNamesAndTrailingSlashes() throws Exception {
        Path v = npy("v.npy", 10, 4);
        Path longName = dir.resolve("x".repeat(239) + ".lidx");
        ok(MainTest.run("index", v.toString(), "-o", longName.toString()));
        try (FlatIndex idx = FlatIndex.load(longName)) {
            assertEquals(10, idx.size());
        }
        refused(2, MainTest.run("index", v.toString(), "-o", dir + "/out.lidx/"), "names a directory");
        assertFalse(Files.exists(dir.resolve("out.lidx")));
    }

    @Test
    void loneCarriageReturnsAndInvisibleTextsAreRefused() throws Exception {
        Path mac = write("mac.txt", "first text\rsecond text\rthird text\r");
        refused(1, MainTest.run("embed", mac.toString(), "-o", dir.resolve("v.npy").toString(), "--quiet"),
                "mac.txt:1", "carriage return");
        for (String invisible : new String[] {"\u00a0\u00a0", "\u200b", "\u2007\ufeff\u202f"}) {
            Path c = write("c.txt", "a text\n" + invisible + "\n");
            refused(1, MainTest.run("embed", c.toString(), "-o", dir.resolve("v.npy").toString(), "--quiet"),
                    "c.txt:2: empty text");
            Path j = write("c.jsonl", "{\"text\": \"a text\"}\n{\"text\": \"" + invisible + "\"}\n");
            refused(1, MainTest.run("embed", j.toString(), "-o", dir.resolve("v.npy").toString(), "--quiet"),
                    "c.jsonl:2: empty text");
        }
        Path idx = dir.resolve("q.lidx");
        try (FlatIndex index = new FlatIndex(384, Metric.COSINE)) {
            float[] v = new float[384];
            v[0] = 1;
            index.add(0, v);
            index.save(idx);
        }
        refused(2, MainTest.run("search", idx.toString(), "--query", "\u00a0\u200b"), "query 1 is empty");
        assertFalse(Files.exists(dir.resolve("v.npy")));
    }

    @Test
    void npyShapesTakeAsciiDigitsOnly() throws Exception {
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (\u0663, 4), }";
        byte[] head = dict.getBytes(StandardCharsets.UTF_8);
        int total = 12 + head.length + 1;
        int pad = (64 - total % 64) % 64;
        ByteBuffer b = ByteBuffer.allocate(total + pad + 3 * 4 * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 3, 0}).putInt(head.length + pad + 1).put(head);
        for (int i = 0; i < pad; i++) {
            b.put((byte) ' ');
        }
        b.put((byte) '\n');
        for (int i = 0; i < 12; i++) {
            b.putFloat(i);
        }
        Path bad = dir.resolve("bad.npy");
        Files.write(bad, b.array());
        refused(1, MainTest.run("index", bad.toString(), "-o", dir.resolve("x.lidx").toString()), "expected an integer");
        assertFalse(Files.exists(dir.resolve("x.lidx")));
    }

    @Test
    void aListFileWithABadByteIsNamed() throws Exception {
        digits(5);
        Path list = dir.resolve("list.txt");
        byte[] good = "digits/1/0001.png\n".getBytes(StandardCharsets.UTF_8);
        byte[] bad = {'d', (byte) 0xff, '.', 'p', 'n', 'g', '\n'};
        byte[] all = Arrays.copyOf(good, good.length + bad.length);
        System.arraycopy(bad, 0, all, good.length, bad.length);
        Files.write(list, all);
        refused(2, MainTest.run("embed", "--model", "digits-ae", list.toString(), "-o", dir.resolve("v.npy").toString()),
                list + ":2: not valid UTF-8");
    }
}
