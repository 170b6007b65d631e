package dev.latent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.FloatMatrix;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** latent path on a constructed space whose answers are known (points given as @ID, so no model is needed). */
class PathCommandTest {
    @TempDir
    Path dir;

    /** Rows: 0 king, 1 queen, 2 man, 3 woman, 4 a point midway between 0 and 3 on the circle, 5 the opposite of 0. */
    private Path index() throws IOException {
        float[][] rows = {
            {1, 0, 1, 0}, {1, 0, 0, 1}, {0, 0, 1, 0}, {0, 0, 0, 1}, {0.5f, 0, 0.5f, 0.7071f}, {-1, 0, -1, 0}};
        Path npy = dir.resolve("v.npy");
        try (FloatMatrix m = FloatMatrix.of(rows)) {
            Npy.write(npy, m);
        }
        Path idx = dir.resolve("v.lidx");
        MainTest.Result r = MainTest.run("index", npy.toString(), "-o", idx.toString(), "--metric", "cosine");
        assertEquals(0, r.code(), r.err());
        Files.write(dir.resolve("words.txt"), List.of("king", "queen", "man", "woman", "mid", "anti-king"), StandardCharsets.UTF_8);
        return idx;
    }

    @Test
    void analogyLandsOnTheAnswerWithTheInputsLeftOut() throws IOException {
        Path idx = index();
        MainTest.Result r = MainTest.run("path", idx.toString(), "--analogy", "@2", "@0", "@3", "-k", "1",
                "--corpus", dir.resolve("words.txt").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("1. 1 ") && r.out().contains("queen"), r.out());
    }

    @Test
    void aPathStartsAndEndsAtItsPointsAndPassesBetween() throws IOException {
        Path idx = index();
        MainTest.Result r = MainTest.run("path", idx.toString(), "@0", "@3", "--steps", "3", "-k", "1");
        assertEquals(0, r.code(), r.err());
        List<String> hits = r.out().lines().filter(l -> l.startsWith("  ")).map(String::trim).toList();
        assertEquals(3, hits.size(), r.out());
        assertTrue(hits.get(0).startsWith("0 ") && hits.get(1).startsWith("4 ") && hits.get(2).startsWith("3 "), r.out());
    }

    @Test
    void oppositePointsAndBadPointsAreUsageErrors() throws IOException {
        Path idx = index();
        MainTest.Result r = MainTest.run("path", idx.toString(), "@0", "@5");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.err().contains("opposite directions") && r.err().contains("linear"), r.err());
        MainTest.Result lin = MainTest.run("path", idx.toString(), "@0", "@5", "--linear", "--steps", "4", "-k", "1");
        assertEquals(0, lin.code(), lin.err());
        MainTest.Result missing = MainTest.run("path", idx.toString(), "@0", "@99");
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("no id 99"), missing.err());
        MainTest.Result one = MainTest.run("path", idx.toString(), "@0");
        assertEquals(2, one.code());
        assertTrue(one.err().contains("two points"), one.err());
    }
}
