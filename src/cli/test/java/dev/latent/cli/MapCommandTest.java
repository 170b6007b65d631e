package dev.latent.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.analyse.map.MapCoords;
import dev.latent.core.FloatMatrix;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code latent map}'s options for working with a map: --coords, --place-on, --color-by and the UMAP settings, on
 * planted blobs whose membership is known.
 */
class MapCommandTest {
    private static final int BLOBS = 3;
    private static final int DIM = 16;

    @TempDir
    Path dir;

    /** {@code n} points of {@link #BLOBS} Gaussian blobs (row i in blob i % 3), centres fixed by seed 1. */
    static float[] blobs(long seed, int n) {
        SplittableRandom c = new SplittableRandom(1);
        double[][] centres = new double[BLOBS][DIM];
        for (double[] row : centres) {
            for (int j = 0; j < DIM; j++) {
                row[j] = c.nextDouble(-10, 10);
            }
        }
        SplittableRandom r = new SplittableRandom(seed);
        float[] flat = new float[n * DIM];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < DIM; j++) {
                flat[i * DIM + j] = (float) (centres[i % BLOBS][j] + r.nextGaussian());
            }
        }
        return flat;
    }

    private Path npy(String name, float[] flat) throws IOException {
        Path p = dir.resolve(name);
        try (FloatMatrix m = FloatMatrix.of(flat, DIM)) {
            Npy.write(p, m);
        }
        return p;
    }

    @Test
    void coordinatesExportAndAnUpdatedMapKeepsTheOldPoints() throws IOException {
        int n = 151;
        int added = 17;
        float[] old = blobs(5, n);
        float[] more = blobs(6, added + n);  // rows n.. continue the blob pattern (row i in blob i % 3)
        float[] all = new float[(n + added) * DIM];
        System.arraycopy(old, 0, all, 0, old.length);
        System.arraycopy(more, n * DIM, all, n * DIM, added * DIM);
        Path first = npy("first.npy", old);
        Path second = npy("second.npy", all);
        Path tsv = dir.resolve("first.tsv");
        MainTest.Result r = MainTest.run("map", first.toString(), "--metric", "l2", "--neighbors", "10",
                "--min-dist", "0.1", "--repulsion", "1", "--coords", tsv.toString(), "-o", dir.resolve("m1").toString(), "-q");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("coordinates: " + tsv.toAbsolutePath()), r.out());
        assertTrue(r.out().contains("min-dist 0.1, repulsion 1.0"), r.out());
        MapCoords c1 = MapCoords.read(tsv);
        assertEquals(n, c1.size());
        assertEquals("0", c1.keys()[0]);
        // The page holds the same layout (quantised): its first point's keys in order.
        assertTrue(Files.readString(dir.resolve("m1.html")).contains("\"id\":[\"0\",\"1\",\"2\""));

        Path npyCoords = dir.resolve("second.npy.coords.npy");
        r = MainTest.run("map", second.toString(), "--metric", "l2", "--neighbors", "10", "--min-dist", "0.1",
                "--repulsion", "1", "--place-on", tsv.toString(), "--coords", npyCoords.toString(),
                "-o", dir.resolve("m2").toString(), "-q");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("of first.tsv kept for 151 points, 17 placed by UMAP transform"), r.out());
        MapCoords c2 = MapCoords.read(npyCoords);
        assertEquals(n + added, c2.size());
        for (int i = 0; i < n; i++) {
            assertEquals(c1.keys()[i], c2.keys()[i]);
            assertEquals(c1.x()[i], c2.x()[i], "kept point " + i + " did not move");
            assertEquals(c1.y()[i], c2.y()[i], "kept point " + i + " did not move");
        }
        // Each added point lands in its own blob: its nearest kept point is of the same blob.
        for (int i = n; i < n + added; i++) {
            int best = -1;
            double bestD = Double.POSITIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                double d = Math.hypot(c2.x()[i] - c1.x()[j], c2.y()[i] - c1.y()[j]);
                if (d < bestD) {
                    bestD = d;
                    best = j;
                }
            }
            assertEquals(i % BLOBS, best % BLOBS, "added point " + i + " placed in its blob");
        }

        // Too few kept points, a wrong file and a bad name are named.
        Path few = dir.resolve("few.tsv");
        Files.writeString(few, "key\tx\ty\n0\t1\t1\n1\t2\t2\n", StandardCharsets.UTF_8);
        r = MainTest.run("map", second.toString(), "--metric", "l2", "--place-on", few.toString(), "-o",
                dir.resolve("m3").toString(), "-q");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.err().contains("few.tsv holds 2 of the points' ids"), r.err());
        assertFalse(Files.exists(dir.resolve("m3.png")), "nothing written");
        r = MainTest.run("map", first.toString(), "--coords", dir.resolve("c.csv").toString(), "-o",
                dir.resolve("m4").toString(), "-q");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.err().contains("must end in .tsv or .npy"), r.err());
        r = MainTest.run("map", first.toString(), "--place-on", first.toString(), "-o", dir.resolve("m5").toString(), "-q");
        assertTrue(r.code() != 0 && r.err().contains("not a coordinates file"), r.err());
        r = MainTest.run("map", first.toString(), "--min-dist", "2", "-o", dir.resolve("m6").toString(), "-q");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--min-dist must be between 0 and 1"), r.err());
        r = MainTest.run("map", first.toString(), "--coords", first.toString(), "-o", dir.resolve("m7").toString(), "-q");
        assertEquals(2, r.code(), "an output may not replace the input");
        r = MainTest.run("map", first.toString(), "--metric", "l2", "--place-on", tsv.toString(), "--layout", "pca",
                "-o", dir.resolve("m10").toString(), "-q");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.err().contains("--place-on needs the UMAP layout, not --layout pca"), r.err());
        assertFalse(Files.exists(dir.resolve("m10.png")), "nothing written");
        r = MainTest.run("map", first.toString(), "--restarts", "0", "-o", dir.resolve("m8").toString(), "-q");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--restarts must be >= 1"), r.err());
        r = MainTest.run("map", first.toString(), "--metric", "l2", "--neighbors", "10", "--restarts", "3", "-o",
                dir.resolve("m9").toString(), "-q");
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.exists(dir.resolve("m9.png")), "a map with restarts");
    }

    @Test
    void colourByAFieldListsNumbersInNumericOrder() throws IOException {
        int n = 121;
        Path vectors = npy("v.npy", blobs(8, n));
        // Labels 0, 2 and 10 by blob (text order would put 10 before 2); every 20th record lacks the field.
        String[] byBlob = {"2", "10", "0"};
        StringBuilder corpus = new StringBuilder();
        for (int i = 0; i < n; i++) {
            corpus.append("{\"id\": \"r").append(i).append("\", \"text\": \"point ").append(i).append('"');
            if (i % 20 != 7) {
                corpus.append(", \"label\": ").append(byBlob[i % BLOBS]);
            }
            corpus.append("}\n");
        }
        Path jsonl = dir.resolve("c.jsonl");
        Files.writeString(jsonl, corpus, StandardCharsets.UTF_8);
        MainTest.Result r = MainTest.run("map", vectors.toString(), "--metric", "l2", "--corpus", jsonl.toString(),
                "--color-by", "label", "--outliers", "none", "-o", dir.resolve("m").toString(), "-q");
        assertEquals(0, r.code(), r.err());
        String html = Files.readString(dir.resolve("m.html"), StandardCharsets.UTF_8);
        assertTrue(html.contains("coloured by label (3), in numeric order"), "the subtitle says what the colours are");
        assertTrue(html.contains("\"colorBy\":\"label\",\"ordered\":true"), html.substring(0, 400));
        Matcher labels = Pattern.compile("\"label\":\"(label [0-9]+)\",\"size\":([0-9]+)").matcher(html);
        List<String> order = new ArrayList<>();
        List<Integer> sizes = new ArrayList<>();
        while (labels.find()) {
            order.add(labels.group(1));
            sizes.add(Integer.parseInt(labels.group(2)));
        }
        assertEquals(List.of("label 0", "label 2", "label 10"), order);
        // Blob sizes less the records without the field (rows 7, 27, 47, ... : i % 20 == 7).
        int[] expected = new int[3];
        for (int i = 0; i < n; i++) {
            if (i % 20 != 7) {
                expected[Map.of("0", 0, "2", 1, "10", 2).get(byBlob[i % BLOBS])]++;
            }
        }
        assertEquals(List.of(expected[0], expected[1], expected[2]), sizes);
        assertTrue(html.contains("\"noneSize\":" + (n - expected[0] - expected[1] - expected[2])), "no label: grey");
        // Each point's segment is its blob's label.
        Matcher s = Pattern.compile("\"s\":\\[([-0-9,]*)\\]").matcher(html);
        assertTrue(s.find());
        String[] seg = s.group(1).split(",");
        int[] segOfLabel = {1, 2, 0};  // blob 0 has "2" (segment 1), blob 1 "10" (segment 2), blob 2 "0" (segment 0)
        for (int i = 0; i < n; i++) {
            assertEquals(i % 20 == 7 ? -1 : segOfLabel[i % BLOBS], Integer.parseInt(seg[i]), "point " + i);
        }

        r = MainTest.run("map", vectors.toString(), "--corpus", jsonl.toString(), "--color-by", "colour", "-o",
                dir.resolve("x").toString(), "-q");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.err().contains("no record has a field 'colour'"), r.err());
        r = MainTest.run("map", vectors.toString(), "--color-by", "label", "-o", dir.resolve("y").toString(), "-q");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.err().contains("no records to read field 'label' from"), r.err());
    }

    @Test
    void textLabelsKeepTheLargestFirst() throws IOException {
        int n = 61;
        Path vectors = npy("w.npy", blobs(9, n));
        StringBuilder corpus = new StringBuilder();
        for (int i = 0; i < n; i++) {
            String kind = i % BLOBS == 0 ? "cat" : i % 2 == 0 ? "bird" : "ant";
            corpus.append("{\"id\": \"r").append(i).append("\", \"text\": \"t\", \"kind\": \"").append(kind).append("\"}\n");
        }
        Path jsonl = dir.resolve("k.jsonl");
        Files.writeString(jsonl, corpus, StandardCharsets.UTF_8);
        MainTest.Result r = MainTest.run("map", vectors.toString(), "--metric", "l2", "--corpus", jsonl.toString(),
                "--color-by", "kind", "-o", dir.resolve("k").toString(), "-q");
        assertEquals(0, r.code(), r.err());
        String html = Files.readString(dir.resolve("k.html"), StandardCharsets.UTF_8);
        assertTrue(html.contains("coloured by kind (3);"), "no numeric order for words");
        assertTrue(html.contains("\"colorBy\":\"kind\",\"ordered\":false"));
        assertArrayEquals(new String[] {"kind ant", "kind bird", "kind cat"}, Pattern.compile("\"label\":\"(kind [a-z]+)\"")
                .matcher(html).results().map(m -> m.group(1)).toArray(String[]::new), "segments in text order");
    }
}
