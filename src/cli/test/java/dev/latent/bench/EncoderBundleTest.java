package dev.latent.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The encoder bundle's travel in parts (native/cuda/gpu: split-parts.sh, which gpu-bundle.sh --encoder uses,
 * stash.sh, join.sh), on a synthetic archive of a few MiB split into 512 KiB parts: the parts join back to
 * the same bytes; a missing part, a damaged part (one byte flipped) and a part or manifest of another bundle
 * are refused by name before anything is joined, and the folder an earlier join made stays as it was. Needs
 * bash, sha256sum, split, tar and xz; skipped, with the reason, without them.
 */
class EncoderBundleTest {
    private static final Path GPU = Path.of("native", "cuda", "gpu");
    private static final int PART = 512 * 1024;

    @TempDir
    Path tmp;

    private record Result(int code, String output) {
    }

    @BeforeAll
    static void tools() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(GPU), "native/cuda/gpu not here (working directory "
                + Path.of("").toAbsolutePath() + ")");
        Result r;
        try {
            r = run(null, "bash", "-c", "for t in sha256sum split tar xz stat cmp; do command -v $t > /dev/null "
                    + "|| echo \"missing: $t\"; done");
        } catch (IOException noBash) {
            Assumptions.abort("bash is not installed: " + noBash.getMessage());
            return;
        }
        Assumptions.assumeTrue(r.code() == 0 && !r.output().contains("missing"),
                "tools the scripts need are missing: " + r.output().trim());
    }

    private static Result run(Path dir, String... command) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        if (dir != null) {
            pb.directory(dir.toFile());
        }
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", command) + " did not finish");
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    private static Result script(String name, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("bash", GPU.resolve(name).toAbsolutePath().toString()));
        cmd.addAll(List.of(args));
        return run(null, cmd.toArray(String[]::new));
    }

    /** A folder with an incompressible file and a small one, packed as .tar.xz and split into 512 KiB parts. */
    private Path bundle(String name, long seed) throws Exception {
        Path src = tmp.resolve(name + "-src");
        Path content = Files.createDirectories(src.resolve("latent-test"));
        byte[] blob = new byte[2 * 1024 * 1024 + 12345];
        new Random(seed).nextBytes(blob);
        Files.write(content.resolve("blob.bin"), blob);
        Files.writeString(content.resolve("note.txt"), "bundle " + name + "\n");
        Path archive = tmp.resolve(name + ".tar.xz");
        Result tar = run(null, "bash", "-c", "tar -C \"$1\" -cf - latent-test | xz -0 -T1 > \"$2\"", "_",
                src.toString(), archive.toString());
        assertEquals(0, tar.code(), tar.output());
        Path parts = tmp.resolve(name + "-parts");
        Result split = script("split-parts.sh", archive.toString(), parts.toString(), "512K");
        assertEquals(0, split.code(), split.output());
        return parts;
    }

    private static List<Path> parts(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList();
        }
    }

    /** Moves every part through stash.sh one at a time, each in its own carried folder with the manifest. */
    private Path stashAll(Path parts, String name) throws Exception {
        Path stash = tmp.resolve(name + "-stash");
        for (Path part : parts(parts)) {
            Path carried = Files.createDirectories(tmp.resolve(name + "-carried-" + part.getFileName()));
            Files.copy(parts.resolve("MANIFEST.sha256"), carried.resolve("MANIFEST.sha256"));
            Files.copy(part, carried.resolve(part.getFileName()));
            Result r = script("stash.sh", carried.toString(), stash.toString());
            assertEquals(0, r.code(), r.output());
            assertFalse(Files.exists(carried.resolve(part.getFileName())), "stash.sh moves the part: " + r.output());
            assertTrue(r.output().contains(part.getFileName() + ": "), r.output());
        }
        return stash;
    }

    private static Map<String, String> snapshot(Path dir) throws Exception {
        Map<String, String> files = new TreeMap<>();
        if (!Files.exists(dir)) {
            return files;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                byte[] sha = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p));
                files.put(dir.relativize(p).toString(), HexFormat.of().formatHex(sha));
            }
        }
        return files;
    }

    private void assertNoJoinLeftovers() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            List<String> left = s.map(p -> p.getFileName().toString()).filter(n -> n.contains(".join.")).toList();
            assertTrue(left.isEmpty(), "temporary folders left beside DEST: " + left);
        }
    }

    @Test
    void partsJoinBackToTheSameBytes() throws Exception {
        Path parts = bundle("a", 1);
        List<Path> list = parts(parts);
        long archiveBytes = Files.size(tmp.resolve("a.tar.xz"));
        assertEquals((archiveBytes + PART - 1) / PART, list.size(), "parts of 512 KiB, the last one shorter");
        assertTrue(list.size() >= 5, "a few MiB in 512 KiB parts: " + list.size());
        for (Path p : list) {
            assertTrue(Files.size(p) <= PART, p + " is larger than a part");
        }
        String manifest = Files.readString(parts.resolve("MANIFEST.sha256"));
        assertTrue(manifest.contains("# parts " + list.size() + "\n"), manifest);
        assertTrue(manifest.contains("  a.tar.xz\n"), "the whole archive's sha256 comes last: " + manifest);
        Result check = run(parts, "sha256sum", "-c", "--ignore-missing", "MANIFEST.sha256");
        assertEquals(0, check.code(), "the manifest is in sha256sum's format: " + check.output());

        Path stash = stashAll(parts, "a");
        Path dest = tmp.resolve("dest");
        Result join = script("join.sh", stash.toString(), dest.toString());
        assertEquals(0, join.code(), join.output());
        assertTrue(join.output().contains("latent-test/blob.bin"), "join.sh lists what it unpacked: " + join.output());
        assertArrayEquals(Files.readAllBytes(tmp.resolve("a-src/latent-test/blob.bin")),
                Files.readAllBytes(dest.resolve("latent-test/blob.bin")));
        assertEquals("bundle a\n", Files.readString(dest.resolve("latent-test/note.txt")));
        assertTrue(Files.readString(dest.resolve(".latent-join")).startsWith("bundle "), "join.sh marks its folder");
        assertNoJoinLeftovers();

        // A second join replaces the folder the first one made (it can prove it is its own).
        Files.writeString(dest.resolve("latent-test/extra.txt"), "written after the join\n");
        Result again = script("join.sh", stash.toString(), dest.toString());
        assertEquals(0, again.code(), again.output());
        assertFalse(Files.exists(dest.resolve("latent-test/extra.txt")), again.output());
        assertNoJoinLeftovers();
    }

    @Test
    void refusedJoinsNameThePartAndLeaveDestAsItWas() throws Exception {
        Path parts = bundle("a", 1);
        Path stash = stashAll(parts, "a");
        Path dest = tmp.resolve("dest");
        assertEquals(0, script("join.sh", stash.toString(), dest.toString()).code());
        Files.writeString(dest.resolve("latent-test/mine.txt"), "kept\n");
        Map<String, String> before = snapshot(dest);

        // missing part
        Path aside = tmp.resolve("part-03.aside");
        Files.move(stash.resolve("part-03"), aside);
        Result missing = script("join.sh", stash.toString(), dest.toString());
        assertEquals(2, missing.code(), missing.output());
        assertTrue(missing.output().contains("missing part-03"), missing.output());
        assertEquals(before, snapshot(dest), "DEST changed after a refused join");
        Files.move(aside, stash.resolve("part-03"));

        // one byte flipped
        Path part2 = stash.resolve("part-02");
        byte[] good = Files.readAllBytes(part2);
        byte[] bad = good.clone();
        bad[bad.length / 2] ^= 0x01;
        Files.write(part2, bad);
        Result damaged = script("join.sh", stash.toString(), dest.toString());
        assertEquals(3, damaged.code(), damaged.output());
        assertTrue(damaged.output().contains("part-02: sha256"), damaged.output());
        assertTrue(damaged.output().contains("refused: part-02"), damaged.output());
        assertEquals(before, snapshot(dest), "DEST changed after a refused join");
        Files.write(part2, good);

        // a part of another bundle, same name and size
        Path other = bundle("b", 2);
        Files.copy(other.resolve("part-04"), stash.resolve("part-04"), StandardCopyOption.REPLACE_EXISTING);
        Result foreign = script("join.sh", stash.toString(), dest.toString());
        assertEquals(3, foreign.code(), foreign.output());
        assertTrue(foreign.output().contains("part-04: sha256") && foreign.output().contains("another bundle"),
                foreign.output());
        assertEquals(before, snapshot(dest), "DEST changed after a refused join");
        Files.copy(parts.resolve("part-04"), stash.resolve("part-04"), StandardCopyOption.REPLACE_EXISTING);

        // our parts under another bundle's manifest
        Path wrong = Files.createDirectories(tmp.resolve("wrong-manifest"));
        for (Path p : parts(stash)) {
            Files.copy(p, wrong.resolve(p.getFileName()));
        }
        Files.copy(other.resolve("MANIFEST.sha256"), wrong.resolve("MANIFEST.sha256"));
        Result wrongManifest = script("join.sh", wrong.toString(), dest.toString());
        assertEquals(3, wrongManifest.code(), wrongManifest.output());
        assertTrue(wrongManifest.output().contains("part-01: sha256"), wrongManifest.output());
        assertEquals(before, snapshot(dest), "DEST changed after a refused join");

        // a DEST that join.sh did not make
        Path foreignDest = Files.createDirectories(tmp.resolve("not-ours"));
        Files.writeString(foreignDest.resolve("data.txt"), "someone else's\n");
        Result notOurs = script("join.sh", stash.toString(), foreignDest.toString());
        assertEquals(5, notOurs.code(), notOurs.output());
        assertEquals("someone else's\n", Files.readString(foreignDest.resolve("data.txt")));
        assertEquals(1, snapshot(foreignDest).size());

        assertNoJoinLeftovers();
        assertEquals(0, script("join.sh", stash.toString(), dest.toString()).code(), "whole again: joins");
    }

    @Test
    void stashRefusesDamagedAndForeignPartsOnArrival() throws Exception {
        Path parts = bundle("a", 1);
        Path other = bundle("b", 2);
        Path stash = tmp.resolve("stash");

        Path carried = Files.createDirectories(tmp.resolve("carried"));
        Files.copy(parts.resolve("MANIFEST.sha256"), carried.resolve("MANIFEST.sha256"));
        byte[] bad = Files.readAllBytes(parts.resolve("part-01"));
        bad[7] ^= (byte) 0x80;
        Files.write(carried.resolve("part-01"), bad);
        Result damaged = script("stash.sh", carried.toString(), stash.toString());
        assertEquals(3, damaged.code(), damaged.output());
        assertTrue(damaged.output().contains("refused part-01"), damaged.output());
        assertTrue(Files.exists(carried.resolve("part-01")), "a refused part stays where it was");
        assertFalse(Files.exists(stash.resolve("part-01")));

        Files.copy(parts.resolve("part-01"), carried.resolve("part-01"), StandardCopyOption.REPLACE_EXISTING);
        Result good = script("stash.sh", carried.toString(), stash.toString());
        assertEquals(0, good.code(), good.output());
        assertTrue(good.output().matches("(?s).*holds 1 of [0-9]+ parts: part-01\n.*"), good.output());
        assertTrue(good.output().contains("still to come: part-02"), good.output());

        Path fromB = Files.createDirectories(tmp.resolve("carried-b"));
        Files.copy(other.resolve("MANIFEST.sha256"), fromB.resolve("MANIFEST.sha256"));
        Files.copy(other.resolve("part-02"), fromB.resolve("part-02"));
        Result mixed = script("stash.sh", fromB.toString(), stash.toString());
        assertEquals(3, mixed.code(), mixed.output());
        assertTrue(mixed.output().contains("not mixing"), mixed.output());
        assertFalse(Files.exists(stash.resolve("part-02")));

        Result nothing = script("stash.sh", Files.createDirectories(tmp.resolve("empty")).toString(), stash.toString());
        assertEquals(2, nothing.code(), nothing.output());
    }

    @Test
    void splitPartsRefusesBadSizesAndAFullFolder() throws Exception {
        Path archive = tmp.resolve("x.tar.xz");
        Files.write(archive, new byte[1000]);
        assertEquals(1, script("split-parts.sh", archive.toString(), tmp.resolve("p").toString(), "5KM").code());
        assertEquals(1, script("split-parts.sh", archive.toString(), tmp.resolve("p").toString(), "0").code());
        Result ok = script("split-parts.sh", archive.toString(), tmp.resolve("p").toString(), "300");
        assertEquals(0, ok.code(), ok.output());
        assertEquals(4, parts(tmp.resolve("p")).size());
        Result again = script("split-parts.sh", archive.toString(), tmp.resolve("p").toString(), "300");
        assertEquals(1, again.code(), again.output());
        assertTrue(again.output().contains("not empty"), again.output());
    }

    @Test
    void backgroundJobsOutliveTheirCallerAndReportTheirStatus() throws Exception {
        Path base = tmp.resolve("bg");
        Result start = run(null, "env", "LATENT_BG_DIR=" + base, "bash", GPU.resolve("bg.sh").toString(), "start",
                "job", "30", "bash", "-c", "sleep 0.3; echo done; exit 3");
        assertEquals(0, start.code(), start.output());
        Result waited = run(null, "env", "LATENT_BG_DIR=" + base, "bash", GPU.resolve("bg.sh").toString(), "wait",
                "job", "20");
        assertEquals(3, waited.code(), waited.output());
        assertTrue(waited.output().contains("finished with exit status 3; last line: done"), waited.output());
        Result none = run(null, "env", "LATENT_BG_DIR=" + base, "bash", GPU.resolve("bg.sh").toString(), "status",
                "other");
        assertEquals(126, none.code(), none.output());
    }

    @Test
    void proofShSaysWhereTheBundleMustComeFrom() throws Exception {
        Result r = script("proof.sh", tmp.resolve("out").toString());
        assertEquals(64, r.code(), r.output());
        assertTrue(r.output().contains("--stash DIR"), r.output());
        for (String s : List.of("proof.sh", "join.sh", "stash.sh", "split-parts.sh", "bg.sh", "encoder-bundle.sh")) {
            Result syntax = run(null, "bash", "-n", GPU.resolve(s).toString());
            assertEquals(0, syntax.code(), s + ": " + syntax.output());
        }
    }
}
