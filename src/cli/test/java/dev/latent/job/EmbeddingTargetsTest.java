package dev.latent.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.encode.Encoder;
import dev.latent.encode.Modality;
import dev.latent.encode.ModelSpec;
import dev.latent.encode.TensorSpec;
import dev.latent.encode.tensor.TensorEncoder;
import dev.latent.index.FlatIndex;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Vectors, ids and an index written together from blocks: they agree, and appear all at once or not at all. */
class EmbeddingTargetsTest {
    private static final long SEED = System.nanoTime();

    @TempDir
    Path dir;

    private static FloatMatrix random(Random rnd, int rows, int cols) {
        FloatMatrix m = FloatMatrix.allocate(rows, cols);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                m.set(i, j, (float) rnd.nextGaussian());
            }
        }
        return m;
    }

    private static List<String> ids(String prefix, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(prefix + i);
        }
        return out;
    }

    /** The files in the folder, temporary ones included. */
    private List<String> files() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void blocksGiveVectorsIdsAndAnIndexThatAgree() throws IOException {
        Random rnd = new Random(SEED);
        EmbeddingTargets t = EmbeddingTargets.of(dir.resolve("v.npy"), dir.resolve("v.lidx"), Metric.L2)
                .withMetadata("created_by", "a test");
        assertEquals(dir.resolve("v.ids"), t.ids());
        try (FloatMatrix a = random(rnd, 5, 3); FloatMatrix b = random(rnd, 4, 3);
             EmbeddingTargets.Writer w = t.open(3, 9)) {
            w.append(a, ids("a", 5), null);
            w.append(b, ids("b", 4), null);
            assertEquals(9, w.rows());
            assertTrue(files().stream().allMatch(f -> f.startsWith(".") && f.endsWith(".part")),
                    "only temporary files before the commit: " + files());
            w.commit();
            List<String> want = new ArrayList<>(ids("a", 5));
            want.addAll(ids("b", 4));
            assertEquals(want, Files.readAllLines(t.ids(), StandardCharsets.UTF_8));
            try (FloatMatrix v = Npy.read(t.vectors()); FlatIndex index = FlatIndex.load(t.index())) {
                assertEquals(9, v.rows());
                assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5, 6, 7, 8}, index.ids(), "row numbers by default");
                assertEquals(Metric.L2, index.metric());
                assertEquals(Map.of("created_by", "a test"), index.metadata());
                for (int i = 0; i < 9; i++) {
                    FloatMatrix src = i < 5 ? a : b;
                    int r = i < 5 ? i : i - 5;
                    assertArrayEquals(src.copyRows(r, 1), v.copyRows(i, 1), "npy row " + i);
                    assertArrayEquals(src.copyRows(r, 1), index.vector(i), "index row " + i);
                }
            }
        }
        assertEquals(List.of("v.ids", "v.lidx", "v.npy"), files(), "no temporary file is left");
    }

    @Test
    void indexIdsMayBeGivenAndTargetsLeftOut() throws IOException {
        Random rnd = new Random(SEED + 1);
        EmbeddingTargets t = new EmbeddingTargets(null, dir.resolve("only.ids"), dir.resolve("only.lidx"),
                Metric.COSINE, null);
        try (FloatMatrix a = random(rnd, 3, 2); EmbeddingTargets.Writer w = t.open(2, 0)) {
            w.append(a, List.of("x", "y", "z"), new long[] {30, 10, 20});
            w.commit();
        }
        try (FlatIndex index = FlatIndex.load(t.index())) {
            assertArrayEquals(new long[] {30, 10, 20}, index.ids());
            assertTrue(index.metadata().isEmpty(), index.metadata().toString());
        }
        assertEquals(List.of("x", "y", "z"), Files.readAllLines(t.ids(), StandardCharsets.UTF_8));
        assertEquals(List.of("only.ids", "only.lidx"), files());
    }

    @Test
    void aFailureAfterSomeBlocksLeavesEveryTargetAsItWas() throws IOException {
        Random rnd = new Random(SEED + 2);
        EmbeddingTargets t = EmbeddingTargets.of(dir.resolve("v.npy"), dir.resolve("v.lidx"), Metric.COSINE);
        try (FloatMatrix a = random(rnd, 4, 3)) {
            t.write(a, ids("old", 4));
        }
        byte[] npy = Files.readAllBytes(t.vectors());
        byte[] ids = Files.readAllBytes(t.ids());
        byte[] index = Files.readAllBytes(t.index());

        // A block of another dimension after a good one: the run stops, nothing changes.
        try (FloatMatrix good = random(rnd, 2, 3); FloatMatrix bad = random(rnd, 2, 4);
             EmbeddingTargets.Writer w = t.open(3, 0)) {
            w.append(good, ids("new", 2), null);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> w.append(bad, ids("new", 2), null));
            assertEquals("block has dimension 4, expected 3", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> w.append(good, ids("new", 1), null));
            assertEquals("block has 2 rows and 1 ids", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> w.append(good, List.of("a", "b\nc"), null));
            assertEquals("the id of row 3 holds a line break; an ids file has one id a line", e.getMessage());
        }
        assertArrayEquals(npy, Files.readAllBytes(t.vectors()));
        assertArrayEquals(ids, Files.readAllBytes(t.ids()));
        assertArrayEquals(index, Files.readAllBytes(t.index()));
        assertEquals(List.of("v.ids", "v.lidx", "v.npy"), files(), "the temporary files are gone");

        // The last target cannot be replaced when the set commits: neither can the first two.
        Path blocked = dir.resolve("blocked.lidx");
        EmbeddingTargets late = new EmbeddingTargets(t.vectors(), t.ids(), blocked, Metric.COSINE, Map.of());
        try (FloatMatrix b = random(rnd, 6, 3); EmbeddingTargets.Writer w = late.open(3, 6)) {
            w.append(b, ids("new", 6), null);
            Files.createDirectory(blocked);
            assertThrows(IOException.class, w::commit);
        }
        assertArrayEquals(npy, Files.readAllBytes(t.vectors()));
        assertArrayEquals(ids, Files.readAllBytes(t.ids()));
        assertTrue(Files.isDirectory(blocked));
        assertEquals(List.of("blocked.lidx", "v.ids", "v.lidx", "v.npy"), files());
    }

    @Test
    void theModelComesFirstInTheMetadata() throws IOException {
        ModelSpec spec = TensorEncoder.specOf(dir.resolve("rows.onnx"), new TensorSpec(2, null, null), false);
        Encoder<float[]> enc = new Encoder<>() {
            @Override
            public FloatMatrix encode(List<float[]> inputs) {
                throw new UnsupportedOperationException();
            }

            @Override
            public int dimension() {
                return 2;
            }

            @Override
            public Modality modality() {
                return Modality.TENSOR;
            }

            @Override
            public String provider() {
                return "CPU";
            }

            @Override
            public ModelSpec spec() {
                return spec;
            }

            @Override
            public void close() {
            }
        };
        Map<String, String> given = new LinkedHashMap<>();
        given.put("created_by", "a test");
        given.put("note", "kept");
        EmbeddingTargets t = new EmbeddingTargets(null, null, dir.resolve("m.lidx"), Metric.INNER_PRODUCT, given)
                .describing(enc);
        assertEquals(List.of("model", "modality", "created_by", "note"), List.copyOf(t.metadata().keySet()));
        assertEquals("rows.onnx", t.metadata().get("model"));
        assertEquals("tensor", t.metadata().get("modality"));
        given.put("model", "mine");
        assertEquals("mine", new EmbeddingTargets(null, null, dir.resolve("m.lidx"), Metric.COSINE, given)
                .describing(enc).metadata().get("model"), "an entry given keeps its value");
        assertThrows(UnsupportedOperationException.class, () -> t.metadata().put("x", "y"));
    }

    @Test
    void targetsAreChecked() throws IOException {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new EmbeddingTargets(null, null, null, Metric.COSINE, Map.of()));
        assertEquals("nothing to write: give a vectors file, an ids file or an index file", e.getMessage());
        assertThrows(NullPointerException.class, () -> EmbeddingTargets.of(dir.resolve("v.npy"), null, null));
        assertEquals(dir.resolve("v.ids"), EmbeddingTargets.idsBeside(dir.resolve("v.npy")));
        assertEquals(dir.resolve("vectors.bin.ids"), EmbeddingTargets.idsBeside(dir.resolve("vectors.bin")));
        assertEquals(null, EmbeddingTargets.of(null, dir.resolve("x.lidx"), Metric.L2).ids());
        EmbeddingTargets t = EmbeddingTargets.of(dir.resolve("v.npy"), null, Metric.L2);
        try (FloatMatrix a = FloatMatrix.allocate(1, 2); EmbeddingTargets.Writer w = t.open(2, 1)) {
            w.append(a, List.of("only"), null);
            w.commit();
            assertThrows(IllegalStateException.class, w::commit);
            assertThrows(IllegalStateException.class, () -> w.append(a, List.of("again"), null));
        }
        assertThrows(IllegalArgumentException.class, () -> t.open(0, 0));
        assertEquals(List.of("v.ids", "v.npy"), files());
    }
}
