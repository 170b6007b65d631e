package dev.latent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.FloatMatrix;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * latent cluster and latent outliers, in process, on planted blobs with topic texts (and, for outliers, three
 * planted far points: with k = 3 an optimal clustering would give them a cluster of their own, so the
 * clustering test uses the blobs alone).
 */
class AnalyseCommandsTest {
    @TempDir
    Path dir;
    Path vectors;
    Path corpus;
    Path clean;          // the blobs only (rows 0..119)
    Path cleanCorpus;

    private static final String[][] TOPICS = {
        {"shark", "fish", "ocean", "marine", "reef"},
        {"engine", "wheel", "car", "motor", "brake"},
        {"melody", "song", "rhythm", "music", "chord"},
    };

    /** 3 blobs of 40 points in 8 dimensions (rows interleaved) and a corpus line per row from its topic; rows 120..122 far out. */
    @BeforeEach
    void data() throws IOException {
        SplittableRandom r = new SplittableRandom(5);
        int d = 8;
        int n = 123;
        float[] flat = new float[n * d];
        double[][] centres = {{10, 0, 0, 0, 0, 0, 0, 0}, {0, 10, 0, 0, 0, 0, 0, 0}, {0, 0, 10, 0, 0, 0, 0, 0}};
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int c = i % 3;
            for (int j = 0; j < d; j++) {
                flat[i * d + j] = i >= 120 ? (float) r.nextDouble(-60, 60) : (float) (centres[c][j] + r.nextDouble(-1, 1));
            }
            String[] t = TOPICS[c];
            lines.add("the " + t[r.nextInt(5)] + " and a " + t[r.nextInt(5)] + " of " + t[r.nextInt(5)] + " " + i);
        }
        vectors = dir.resolve("v.npy");
        try (FloatMatrix m = FloatMatrix.of(flat, d)) {
            Npy.write(vectors, m);
            try (FloatMatrix blobs = m.rowsView(0, 120)) {
                clean = dir.resolve("blobs.npy");
                Npy.write(clean, blobs);
            }
        }
        corpus = Files.write(dir.resolve("corpus.txt"), lines, StandardCharsets.UTF_8);
        cleanCorpus = Files.write(dir.resolve("blobs.txt"), lines.subList(0, 120), StandardCharsets.UTF_8);
    }

    @Test
    void clusterDescribesSegmentsAndWritesCentroidsAndAssignments() throws IOException {
        Path c = dir.resolve("c.npy");
        Path a = dir.resolve("a.tsv");
        MainTest.Result res = MainTest.run("cluster", clean.toString(), "-k", "3", "--metric", "l2", "--corpus",
                cleanCorpus.toString(), "--centroids", c.toString(), "--assignments", a.toString(), "-q");
        assertEquals(0, res.code(), res.err());
        assertTrue(res.out().contains("k = 3"), res.out());
        for (String[] topic : TOPICS) {
            boolean found = res.out().lines().anyMatch(l -> l.contains(topic[0]) || l.contains(topic[1]) || l.contains(topic[2]));
            assertTrue(found, "a segment line names the " + topic[0] + " topic:\n" + res.out());
        }
        try (FloatMatrix centroids = Npy.read(c)) {
            assertEquals(3, centroids.rows());
            assertEquals(8, centroids.cols());
        }
        List<String> rows = Files.readAllLines(a);
        assertEquals("id\tcluster\tdistance", rows.get(0));
        assertEquals(121, rows.size());
        // rows 0, 3, 6 share a blob; rows 1 and 2 are in others
        String c0 = rows.get(1).split("\t")[1];
        assertEquals(c0, rows.get(4).split("\t")[1]);
        assertEquals(c0, rows.get(7).split("\t")[1]);
        assertTrue(!c0.equals(rows.get(2).split("\t")[1]) && !c0.equals(rows.get(3).split("\t")[1]));
    }

    @Test
    void aRangeOfKPrintsInertiaAndSilhouette() {
        MainTest.Result res = MainTest.run("cluster", vectors.toString(), "-k", "2..8", "--metric", "l2", "-q");
        assertEquals(0, res.code(), res.err());
        assertTrue(res.out().contains("silhouette"), res.out());
        long rows = res.out().lines().filter(l -> l.trim().matches("^[0-9]+\\s+[0-9.e+-]+\\s+-?[0-9.]+\\s+[0-9]+\\s+[0-9.]+$")).count();
        assertEquals(3, rows, "k = 2, 4, 8:\n" + res.out());
    }

    @Test
    void outliersFindThePlantedRows() throws IOException {
        Path scores = dir.resolve("s.jsonl");
        MainTest.Result res = MainTest.run("outliers", vectors.toString(), "--metric", "l2", "-k", "5", "--top", "3",
                "--corpus", corpus.toString(), "-o", scores.toString());
        assertEquals(0, res.code(), res.err());
        List<String> top = res.out().lines().filter(l -> l.matches("^\\s+[123]\\s+\\d+\\s.*")).toList();
        assertEquals(3, top.size(), res.out());
        for (String l : top) {
            long id = Long.parseLong(l.trim().split("\\s+")[1]);
            assertTrue(id >= 120, "planted outliers are rows 120..122:\n" + res.out());
        }
        assertEquals(123, Files.readAllLines(scores).size());
        assertTrue(Files.readAllLines(scores).get(0).startsWith("{\"id\":0,\"score\":"));
        assertTrue(!res.err().contains("warning"), "three scattered outliers are no group:\n" + res.err());
    }

    /** Six points planted close together far from the blobs: listed first, with a warning that they form a group. */
    @Test
    void outliersWarnWhenTheTopOnesFormAGroup() throws IOException {
        int d = 8;
        float[] flat = new float[126 * d];
        try (FloatMatrix blobs = Npy.read(clean)) {
            System.arraycopy(blobs.copyRows(0, 120), 0, flat, 0, 120 * d);
        }
        SplittableRandom r = new SplittableRandom(9);
        for (int i = 120; i < 126; i++) {
            for (int j = 0; j < d; j++) {
                flat[i * d + j] = (float) (30 + r.nextDouble(-0.5, 0.5));
            }
        }
        Path grouped = dir.resolve("grouped.npy");
        try (FloatMatrix m = FloatMatrix.of(flat, d)) {
            Npy.write(grouped, m);
        }
        MainTest.Result res = MainTest.run("outliers", grouped.toString(), "--metric", "l2", "-k", "8", "--top", "6");
        assertEquals(0, res.code(), res.err());
        assertTrue(res.out().startsWith("knn scores"), "knn is the default score:\n" + res.out());
        assertTrue(res.err().contains("warning: 6 of the top 6 outliers") && res.err().contains("group of their own"),
                res.err());
        MainTest.Result quiet = MainTest.run("outliers", grouped.toString(), "--metric", "l2", "-k", "8", "--top", "6", "-q");
        assertTrue(quiet.err().contains("group of their own"), "the warning is not a progress bar: " + quiet.err());
    }

    @Test
    void restartsKeepTheLowestInertiaAndNeverLoseTheSeedsOwnRun() {
        MainTest.Result res = MainTest.run("cluster", vectors.toString(), "-k", "7", "--metric", "l2", "--restarts", "4",
                "--show", "0", "-q");
        assertEquals(0, res.code(), res.err());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                "restarts: 4, kept run (\\d) \\(inertia ([0-9.e+]+); the seed's own run ([0-9.e+]+), worst ([0-9.e+]+)\\)")
                .matcher(res.out());
        assertTrue(m.find(), res.out());
        double kept = Double.parseDouble(m.group(2));
        assertTrue(kept <= Double.parseDouble(m.group(3)) && kept <= Double.parseDouble(m.group(4)), res.out());
        MainTest.Result one = MainTest.run("cluster", vectors.toString(), "-k", "7", "--metric", "l2", "--show", "0", "-q");
        assertTrue(one.out().contains("inertia " + m.group(3) + " "), "restart 0 is the single run:\n" + one.out() + res.out());
        MainTest.Result bad = MainTest.run("cluster", vectors.toString(), "-k", "3", "--restarts", "0");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--restarts must be >= 1"), bad.err());
    }

    @Test
    void badInputIsAUsageErrorAndOutputsNeverReplaceInputs() throws IOException {
        MainTest.Result res = MainTest.run("cluster", vectors.toString(), "-k", "0");
        assertEquals(2, res.code());
        assertTrue(res.err().contains("k must be >= 1"), res.err());
        res = MainTest.run("cluster", vectors.toString(), "-k", "500", "-q");
        assertEquals(2, res.code());
        assertTrue(res.err().contains("k = 500") && res.err().contains("(123)"), res.err());
        byte[] before = Files.readAllBytes(corpus);
        res = MainTest.run("cluster", vectors.toString(), "-k", "3", "--corpus", corpus.toString(), "--assignments",
                corpus.toString(), "-q");
        assertEquals(2, res.code());
        assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(corpus)), "the corpus is unchanged");
        res = MainTest.run("outliers", vectors.toString(), "-k", "200");
        assertEquals(2, res.code());
        assertTrue(res.err().contains("too few for k = 200"), res.err());
        res = MainTest.run("outliers", vectors.toString(), "--score", "zscore");
        assertEquals(2, res.code());
        assertTrue(res.err().contains("unknown outlier score 'zscore'"), res.err());
    }
    @Test
    void mapWritesAPngAndAPageWithTheSegmentsAndOutliers() throws IOException {
        String out = dir.resolve("m").toString();
        MainTest.Result res = MainTest.run("map", vectors.toString(), "--metric", "l2", "--corpus", corpus.toString(),
                "--segments", "3", "--neighbors", "10", "-o", out, "-q");
        assertEquals(0, res.code(), res.err());
        assertTrue(res.out().contains("map: 123 points, 3 segments"), res.out());
        java.awt.image.BufferedImage png = javax.imageio.ImageIO.read(Path.of(out + ".png").toFile());
        assertTrue(png != null && png.getWidth() >= 800, "the PNG decodes");
        String html = Files.readString(Path.of(out + ".html"));
        for (String[] topic : TOPICS) {
            assertTrue(html.contains(topic[0]) || html.contains(topic[1]) || html.contains(topic[2]),
                    "the page names the " + topic[0] + " segment");
        }
        MainTest.Result pca = MainTest.run("map", vectors.toString(), "--layout", "pca", "--outliers", "none", "-o", out + "-pca", "-q");
        assertEquals(0, pca.code(), pca.err());
        assertTrue(pca.out().contains("layout PCA"), pca.out());
        MainTest.Result bad = MainTest.run("map", vectors.toString(), "--layout", "tsne", "-o", out, "-q");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--layout"), bad.err());
        long before = Files.size(vectors);
        MainTest.Result clash = MainTest.run("map", vectors.toString(), "-o", vectors.toString().replace(".npy", ""), "-q");
        assertEquals(0, clash.code(), clash.err());  // writes v.png and v.html beside v.npy, never v.npy
        assertEquals(before, Files.size(vectors));
    }
    @Test
    void projectFitsSavesAndAppliesAPca() throws IOException {
        Path z = dir.resolve("z.npy");
        Path model = dir.resolve("pca.json");
        MainTest.Result fit = MainTest.run("project", vectors.toString(), "-c", "3", "-o", z.toString(), "--save-model", model.toString());
        assertEquals(0, fit.code(), fit.err());
        assertTrue(fit.out().contains("-> 3 components") && fit.out().contains("cumulative"), fit.out());
        Path z2 = dir.resolve("z2.npy");
        MainTest.Result apply = MainTest.run("project", vectors.toString(), "--model", model.toString(), "-o", z2.toString());
        assertEquals(0, apply.code(), apply.err());
        assertTrue(java.util.Arrays.equals(Files.readAllBytes(z), Files.readAllBytes(z2)), "a saved PCA projects identically");
        try (FloatMatrix m = Npy.read(z)) {
            assertEquals(123, m.rows());
            assertEquals(3, m.cols());
        }
        MainTest.Result tooMany = MainTest.run("project", vectors.toString(), "-c", "9", "-o", dir.resolve("x.npy").toString());
        assertEquals(2, tooMany.code());
        assertTrue(tooMany.err().contains("components = 9") && tooMany.err().contains("(8)"), tooMany.err());
        MainTest.Result ontoInput = MainTest.run("project", vectors.toString(), "-o", vectors.toString());
        assertEquals(2, ontoInput.code(), "the scores never replace the input");
    }
}
