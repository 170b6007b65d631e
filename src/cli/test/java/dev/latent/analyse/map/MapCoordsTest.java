package dev.latent.analyse.map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The coordinates file: round trips in both formats, the .npy bytes against NumPy's own, and bad files named. */
class MapCoordsTest {
    /**
     * {@code numpy.save} (NumPy 2.4) of {@code np.zeros(3, dtype=[('key','<U3'),('x','<f4'),('y','<f4')])} with
     * keys {@code a, bé, c𝄞d}, x {@code 1.5, -2, 3e-8}, y {@code 0, 1, 2}.
     */
    private static final String NUMPY_BYTES = "934e554d5059010076007b276465736372273a205b28276b6579272c20273c553327292c20282778272c20273c663427292c"
            + "20282779272c20273c663427295d2c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028"
            + "332c292c207d2020202020202020202020202020202020202020200a6100000000000000000000000000c03f000000006200"
            + "0000e900000000000000000000c00000803f630000001ed101006400000059d9003300000040";

    @TempDir
    Path dir;

    @Test
    void tsvAndNpyRoundTripExactly() throws IOException {
        int n = 1_003;
        SplittableRandom r = new SplittableRandom(5);
        String[] keys = new String[n];
        float[] x = new float[n];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            keys[i] = switch (i % 4) {
                case 0 -> "doc-" + i;
                case 1 -> "é/" + i + " space";
                case 2 -> "𝄞" + i;
                default -> Integer.toString(i);
            };
            x[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(-8, 8)));
            y[i] = i == 7 ? -0.0f : (float) r.nextDouble(-1e6, 1e6);
        }
        MapCoords c = new MapCoords(keys, x, y);
        for (String name : new String[] {"c.tsv", "c.npy", "C.NPY"}) {
            Path f = dir.resolve(name);
            c.write(f);
            MapCoords back = MapCoords.read(f);
            assertArrayEquals(keys, back.keys(), name);
            assertArrayEquals(x, back.x(), name);
            assertArrayEquals(y, back.y(), name);
        }
        assertTrue(Files.readString(dir.resolve("c.tsv")).startsWith("key\tx\ty\ndoc-0\t"));
        try (var files = Files.list(dir)) {
            assertFalse(files.anyMatch(p -> p.getFileName().toString().endsWith(".part")), "no temporary file left");
        }
    }

    @Test
    void npyBytesAreNumpysOwn() throws IOException {
        Path f = dir.resolve("three.npy");
        new MapCoords(new String[] {"a", "bé", "c𝄞d"}, new float[] {1.5f, -2f, 3e-8f}, new float[] {0, 1, 2}).write(f);
        assertEquals(NUMPY_BYTES, HexFormat.of().formatHex(Files.readAllBytes(f)));
        Files.write(dir.resolve("numpy.npy"), HexFormat.of().parseHex(NUMPY_BYTES));
        MapCoords back = MapCoords.read(dir.resolve("numpy.npy"));
        assertArrayEquals(new String[] {"a", "bé", "c𝄞d"}, back.keys());
        assertArrayEquals(new float[] {1.5f, -2f, 3e-8f}, back.x());
    }

    @Test
    void badFilesAreNamed() throws IOException {
        Path dup = dir.resolve("dup.tsv");
        Files.writeString(dup, "key\tx\ty\na\t1\t2\nb\t3\t4\na\t5\t6\n", StandardCharsets.UTF_8);
        assertTrue(assertThrows(IOException.class, () -> MapCoords.read(dup)).getMessage()
                .contains("key 'a' appears twice (points 0 and 2)"));
        Path fields = dir.resolve("fields.tsv");
        Files.writeString(fields, "key\tx\ty\na\t1\n", StandardCharsets.UTF_8);
        assertTrue(assertThrows(IOException.class, () -> MapCoords.read(fields)).getMessage()
                .contains("fields.tsv:2: expected key<TAB>x<TAB>y, got 2 fields"));
        Path number = dir.resolve("number.tsv");
        Files.writeString(number, "key\tx\ty\na\t1\tnope\n", StandardCharsets.UTF_8);
        assertTrue(assertThrows(IOException.class, () -> MapCoords.read(number)).getMessage()
                .contains("number.tsv:2: a coordinate is not a number"));
        Path nan = dir.resolve("nan.tsv");
        Files.writeString(nan, "key\tx\ty\na\tNaN\t1\n", StandardCharsets.UTF_8);
        assertTrue(assertThrows(IOException.class, () -> MapCoords.read(nan)).getMessage().contains("not finite"));
        Path header = dir.resolve("header.tsv");
        Files.writeString(header, "id\tx\ty\n", StandardCharsets.UTF_8);
        assertTrue(assertThrows(IOException.class, () -> MapCoords.read(header)).getMessage().contains("header"));
        Path floats = dir.resolve("floats.npy");
        dev.latent.space.format.Npy.write(floats, dev.latent.core.FloatMatrix.of(new float[] {1, 2, 3, 4}, 2));
        assertTrue(assertThrows(IOException.class, () -> MapCoords.read(floats)).getMessage()
                .contains("not a coordinates file"));
        Path csv = dir.resolve("c.csv");
        assertThrows(IllegalArgumentException.class, () -> MapCoords.read(csv));
        MapCoords tab = new MapCoords(new String[] {"a\tb"}, new float[] {0}, new float[] {0});
        assertTrue(assertThrows(IllegalArgumentException.class, () -> tab.write(dir.resolve("tab.tsv"))).getMessage()
                .contains("point 0 ('a\\tb') has a key with a tab or line break"));
        assertFalse(Files.exists(dir.resolve("tab.tsv")), "nothing written");
    }

    @Test
    void whatIsWrittenReadsBack() throws IOException {
        // An empty key: the reader refuses it, so the writer does, in both formats, before writing anything.
        MapCoords empty = new MapCoords(new String[] {"a", ""}, new float[] {0, 1}, new float[] {0, 1});
        for (String name : new String[] {"empty.tsv", "empty.npy"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> empty.write(dir.resolve(name)));
            assertTrue(e.getMessage().contains("point 1 has an empty key"), e.getMessage());
            assertFalse(Files.exists(dir.resolve(name)), "nothing written");
            assertThrows(IllegalArgumentException.class, () -> MapCoords.checkKeys(empty.keys(), dir.resolve(name)));
        }
        // Tabs and line breaks only break the .tsv format: .npy holds them and reads them back.
        String[] odd = {"a\tb", "line\nbreak", "cr\r", "plain"};
        MapCoords c = new MapCoords(odd, new float[] {1, 2, 3, 4}, new float[] {5, 6, 7, 8});
        MapCoords.checkKeys(odd, dir.resolve("odd.npy"));
        c.write(dir.resolve("odd.npy"));
        assertArrayEquals(odd, MapCoords.read(dir.resolve("odd.npy")).keys());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MapCoords.checkKeys(odd, dir.resolve("odd.tsv")));
        assertTrue(e.getMessage().contains("point 0 ('a\\tb') has a key with a tab or line break")
                && e.getMessage().contains(".tsv"), e.getMessage());
        // A NUL at the end is what .npy cannot keep (NumPy's strings drop trailing NULs); .tsv keeps it.
        String[] nul = {"x\0"};
        MapCoords n = new MapCoords(nul, new float[] {1}, new float[] {2});
        e = assertThrows(IllegalArgumentException.class, () -> n.write(dir.resolve("nul.npy")));
        assertTrue(e.getMessage().contains("ending in a NUL character"), e.getMessage());
        n.write(dir.resolve("nul.tsv"));
        assertArrayEquals(nul, MapCoords.read(dir.resolve("nul.tsv")).keys());
    }
}
