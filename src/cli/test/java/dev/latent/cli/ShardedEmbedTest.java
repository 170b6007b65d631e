package dev.latent.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sharded, resumable embedding: killed child JVMs resume to the uninterrupted run's output, bit for bit. */
class ShardedEmbedTest {
    private static final long SEED = System.nanoTime();
    /** float32: its vectors do not depend on anything but the batch, which resume keeps. */
    private static final String MODEL = "all-minilm-l6-v2";

    @TempDir
    Path dir;

    private Path corpus(int n) throws IOException {
        Path c = dir.resolve("corpus.jsonl");
        List<String> lines = new ArrayList<>();
        try (var in = SafetyTest.class.getClassLoader().getResourceAsStream("dev/latent/encode/models/corpus/wordnet-glosses.jsonl")) {
            String[] all = new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n");
            for (int i = 0; i < n; i++) {
                lines.add(all[i]);
            }
        }
        Files.write(c, lines, StandardCharsets.UTF_8);
        return c;
    }

    private static String[] args(Path corpus, Path shards, boolean resume) {
        List<String> a = new ArrayList<>(List.of("embed", corpus.toString(), "--shards", shards.toString(),
                "--shard-size", "100", "--block", "50", "--model", MODEL, "-q"));
        if (resume) {
            a.add("--resume");
        }
        return a.toArray(new String[0]);
    }

    private static List<Path> files(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.filter(p -> p.getFileName().toString().startsWith("shard-")).sorted().toList();
        }
    }

    /** Shards the manifest in {@code d} lists (0 before it exists). */
    private static int listed(Path d) {
        try {
            return new ObjectMapper().readTree(d.resolve("manifest.json").toFile()).path("shards").size();
        } catch (IOException e) {
            return 0;
        }
    }

    @Test
    void killedRunsResumeToTheUninterruptedOutputBitForBit() throws Exception {
        Path corpus = corpus(1000);
        Path full = dir.resolve("full");
        MainTest.Result r = MainTest.run(args(corpus, full, false));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("10 shards written"), r.out());

        Path part = dir.resolve("part");
        Random rnd = new Random(SEED);
        int kills = 0;
        for (int attempt = 0; kills < 3 && attempt < 12; attempt++) {
            Process p = SafetyTest.childProcess(List.of("-Xmx512m"), args(corpus, part, attempt > 0));
            Thread drain = new Thread(() -> {
                try {
                    p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
                    p.getErrorStream().transferTo(java.io.OutputStream.nullOutputStream());
                } catch (IOException ignored) {
                    // the process was killed
                }
            });
            drain.start();
            // Kill once one or two more shards are listed, at a random moment after: mid-shard, mid-commit or
            // mid-manifest alike.
            int target = listed(part) + 1 + rnd.nextInt(2);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (p.isAlive() && listed(part) < target && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            Thread.sleep(rnd.nextInt(300));
            if (p.isAlive()) {
                p.destroyForcibly(); // kill -9: no shutdown hook runs
                kills++;
            }
            p.waitFor();
            drain.join();
        }
        assertTrue(kills >= 3, "only " + kills + " kills landed before the run completed (seed " + SEED + ")");
        r = MainTest.run(args(corpus, part, true));
        assertEquals(0, r.code(), r.err());
        System.out.printf("sharded embed: %d kills, then: %s (seed %d)%n", kills, r.out().strip(), SEED);
        List<Path> want = files(full);
        List<Path> got = files(part);
        assertEquals(30, want.size());   // per shard: vectors, ids, records
        assertEquals(want.stream().map(Path::getFileName).toList(), got.stream().map(Path::getFileName).toList());
        for (int i = 0; i < want.size(); i++) {
            assertArrayEquals(Files.readAllBytes(want.get(i)), Files.readAllBytes(got.get(i)),
                    got.get(i) + " differs from the uninterrupted run (seed " + SEED + ")");
        }
        // The shards merge into one index, rows in run order, vectors as the shards hold them.
        Path merged = dir.resolve("merged.lidx");
        r = MainTest.run("index", part.resolve("manifest.json").toString(), "-o", merged.toString(), "--metric", "cosine");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("indexed 1000 vectors of dimension 384 (cosine) from the shards of"), r.out());
        try (dev.latent.index.FlatIndex index = dev.latent.index.FlatIndex.load(merged);
             dev.latent.core.FloatMatrix shard3 = dev.latent.space.format.Npy.read(part.resolve("shard-00003.npy"))) {
            assertEquals(1000, index.size());
            assertEquals(MODEL, index.metadata().get("model"));
            for (int i = 0; i < 100; i += 33) {
                assertArrayEquals(shard3.getRow(i), index.vector(300 + i), "row " + (300 + i));
            }
            // the records merged from the shards are those a direct embed stores, byte for byte
            Path direct = dir.resolve("direct.lidx");
            r = MainTest.run("embed", corpus.toString(), "--index", direct.toString(), "--model", MODEL, "-q");
            assertEquals(0, r.code(), r.err());
            try (dev.latent.index.FlatIndex d = dev.latent.index.FlatIndex.load(direct)) {
                for (long id = 0; id < 1000; id++) {
                    assertArrayEquals(d.record(id).encode(), index.record(id).encode(), "record " + id);
                }
            }
        }
        // search, cluster and the rest read the manifest as they read an index file.
        MainTest.Result viaShards = MainTest.run("search", part.resolve("manifest.json").toString(), "--query", "a dog", "-k", "5");
        MainTest.Result viaIndex = MainTest.run("search", merged.toString(), "--query", "a dog", "-k", "5");
        assertEquals(0, viaShards.code(), viaShards.err());
        assertEquals(viaIndex.out(), viaShards.out());
        assertTrue(viaShards.out().lines().count() == 6, viaShards.out());
        JsonNode m = new ObjectMapper().readTree(part.resolve("manifest.json").toFile());
        assertTrue(m.get("complete").asBoolean());
        assertEquals(1000, m.get("rows").asLong());
        try (Stream<Path> s = Files.list(part)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().endsWith(".part")), "no temporary files left");
        }
    }

    @Test
    void resumeRefusesADamagedShardAnotherModelOrAnotherLayout() throws Exception {
        Path corpus = corpus(250);
        Path out = dir.resolve("s");
        MainTest.Result r = MainTest.run(args(corpus, out, false));
        assertEquals(0, r.code(), r.err());
        r = MainTest.run(args(corpus, out, false));
        assertEquals(2, r.code(), r.out());
        assertTrue(r.err().contains("--resume"), r.err());

        r = MainTest.run("embed", corpus.toString(), "--shards", out.toString(), "--shard-size", "100", "--block", "50",
                "--model", "all-minilm-l6-v2-q", "--resume", "-q");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.err().contains("embedded with model all-minilm-l6-v2"), r.err());

        r = MainTest.run("embed", corpus.toString(), "--shards", out.toString(), "--shard-size", "200", "--block", "50",
                "--model", MODEL, "--resume", "-q");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.err().contains("same --shard-size"), r.err());

        // An unfinished run (stopped by a bad record after its first shard) does not merge.
        Path stops = Files.writeString(dir.resolve("stops.txt"), "a first text\n".repeat(100) + "   \n");
        r = MainTest.run("embed", stops.toString(), "--shards", dir.resolve("u").toString(), "--shard-size", "100",
                "--block", "50", "--model", MODEL, "-q");
        assertEquals(1, r.code(), r.out());
        assertTrue(r.err().contains("stops.txt:101: empty text"), r.err());
        Path unfinished = dir.resolve("u").resolve("manifest.json");
        r = MainTest.run("index", unfinished.toString(), "-o", dir.resolve("u.lidx").toString());
        assertEquals(2, r.code(), r.out());
        assertTrue(r.err().contains("not complete") && r.err().contains("--resume"), r.err());

        byte[] ids = Files.readAllBytes(out.resolve("shard-00001.ids"));
        ids[0] ^= 1;
        Files.write(out.resolve("shard-00001.ids"), ids);
        r = MainTest.run(args(corpus, out, true));
        assertEquals(2, r.code(), r.out());
        assertTrue(r.err().contains("shard-00001") && r.err().contains("checksum"), r.err());
        // The ids files give the index ids (JSONL integer ids), so a damaged one stops the merge too.
        r = MainTest.run("index", out.resolve("manifest.json").toString(), "-o", dir.resolve("bad.lidx").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("shard-00001.ids") && r.err().contains("checksum"), r.err());
        assertFalse(Files.exists(dir.resolve("bad.lidx")));

        r = MainTest.run("embed", corpus.toString(), "--shards", dir.resolve("t").toString(), "--shard-size", "120",
                "--block", "50", "-q");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.err().contains("multiple of --block"), r.err());
        r = MainTest.run("embed", corpus.toString(), "--shards", dir.resolve("t").toString(), "-o", dir.resolve("x.npy").toString());
        assertEquals(2, r.code(), r.out());
        // The defaults go together: one shard of the 250 texts.
        r = MainTest.run("embed", corpus.toString(), "--shards", dir.resolve("d").toString(), "-q");
        assertEquals(0, r.code(), r.err());
        assertEquals(List.of("shard-00000.ids", "shard-00000.npy", "shard-00000.records.jsonl"),
                files(dir.resolve("d")).stream().map(p -> p.getFileName().toString()).toList());
    }
}
