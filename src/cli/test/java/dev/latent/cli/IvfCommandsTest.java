package dev.latent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.cli.MainTest.Result;
import dev.latent.core.FloatMatrix;
import dev.latent.index.IvfIndex;
import dev.latent.index.VectorIndex;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code latent index --lists/--nprobe} and {@code latent search --nprobe}: what they build, print and refuse. */
class IvfCommandsTest {
    @TempDir
    Path dir;

    private Path vectors(int n, int d, long seed) throws IOException {
        Random rnd = new Random(seed);
        float[] flat = new float[n * d];
        for (int i = 0; i < flat.length; i++) {
            flat[i] = (float) rnd.nextGaussian();
        }
        Path npy = dir.resolve("v.npy");
        try (FloatMatrix m = FloatMatrix.of(flat, d)) {
            Npy.write(npy, m);
        }
        return npy;
    }

    @Test
    void anIvfIndexIsBuiltSavedWithItsNprobeAndSearchedAsTheFlatOneWhenEveryListIsProbed() throws IOException {
        Path npy = vectors(600, 8, 3);
        Path ivf = dir.resolve("ivf.lidx");
        Path flat = dir.resolve("flat.lidx");
        Result r = MainTest.run("index", npy.toString(), "--lists", "12", "--nprobe", "3", "-o", ivf.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("ivf: 12 lists (about 50 vectors each), nprobe 3 by default;"), r.out());
        assertTrue(r.out().contains("bytes per vector in the file (float32 rows 32, id 8, list 4)"), r.out());
        try (VectorIndex back = VectorIndex.load(ivf)) {
            assertEquals("ivf", back.kind());
            assertEquals(3, ((IvfIndex) back).nprobe());
        }
        assertEquals(0, MainTest.run("index", npy.toString(), "-o", flat.toString()).code());
        Path q = dir.resolve("q.npy");
        try (FloatMatrix m = Npy.read(npy); FloatMatrix first = m.rowsView(0, 20)) {
            Npy.write(q, first);
        }
        Path all = dir.resolve("all.tsv");
        Path exact = dir.resolve("exact.tsv");
        assertEquals(0, MainTest.run("search", ivf.toString(), "--queries-npy", q.toString(), "-k", "5", "--nprobe", "12",
                "-o", all.toString(), "--quiet").code());
        assertEquals(0, MainTest.run("search", flat.toString(), "--queries-npy", q.toString(), "-k", "5",
                "-o", exact.toString(), "--quiet").code());
        List<String> a = Files.readAllLines(all);
        List<String> b = Files.readAllLines(exact);
        assertEquals(b.size(), a.size());
        for (int i = 0; i < a.size(); i++) {
            String[] x = a.get(i).split("\t");
            String[] y = b.get(i).split("\t");
            assertEquals(y[2], x[2], "line " + i); // the same ids, rank by rank
        }
    }

    @Test
    void badListsAndNprobeAreUsageErrorsThatWriteNothing() throws IOException {
        Path npy = vectors(50, 4, 5);
        Path out = dir.resolve("x.lidx");
        assertBad("--lists must be a list count or auto, got many", "index", npy.toString(), "--lists", "many", "-o", out.toString());
        assertBad("--lists must be in [1, 50] (one list per vector at most), got 51", "index", npy.toString(), "--lists", "51",
                "-o", out.toString());
        assertBad("--nprobe 9 is outside [1, 8]: the index has 8 lists", "index", npy.toString(), "--lists", "8", "--nprobe",
                "9", "-o", out.toString());
        assertBad("--nprobe goes with --lists (an ivf index)", "index", npy.toString(), "--nprobe", "2", "-o", out.toString());
        assertFalse(Files.exists(out));
        assertEquals(0, MainTest.run("index", npy.toString(), "--lists", "auto", "-o", out.toString()).code());
        Path q = dir.resolve("q.npy");
        try (FloatMatrix m = Npy.read(npy); FloatMatrix first = m.rowsView(0, 2)) {
            Npy.write(q, first);
        }
        int lists = IvfIndex.defaultLists(50);
        assertBad("--nprobe must be in [1, " + lists + "]: the index has " + lists + " lists, got " + (lists + 1), "search",
                out.toString(), "--queries-npy", q.toString(), "--nprobe", Integer.toString(lists + 1));
        assertBad("--nprobe must be in [1, " + lists + "]: the index has " + lists + " lists, got 0", "search", out.toString(),
                "--queries-npy", q.toString(), "--nprobe", "0");
        assertBad("--rerank must be >= 1, got 0", "search", out.toString(), "--queries-npy", q.toString(), "--rerank", "0");
        Path coded = dir.resolve("coded.lidx");
        Result r = MainTest.run("index", npy.toString(), "--sq8", "-o", coded.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("flat: every code scanned, the best 4·k re-ranked exactly; ") && r.out().contains("; sq8: codes of 8 bytes per vector made at load, the float32 rows then read from the file"),
                r.out());
        try (VectorIndex back = VectorIndex.load(coded)) {
            assertTrue(((dev.latent.index.FlatIndex) back).sq8());
        }
        assertEquals(0, MainTest.run("search", coded.toString(), "--queries-npy", q.toString(), "--rerank", "2", "--quiet").code());
    }

    private static void assertBad(String message, String... args) {
        Result r = MainTest.run(args);
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains(message), r.err());
    }
}
