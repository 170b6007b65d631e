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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How {@code latent cluster} names segments: re-ranked with the index's model, --plain-terms, and the checks. */
class SegmentTermsCommandTest {
    @TempDir
    Path dir;

    private static final String[][] TOPICS = {
        {"shark", "fish", "ocean", "marine", "reef"},
        {"engine", "wheel", "car", "motor", "brake"},
        {"melody", "song", "rhythm", "music", "chord"},
    };

    /** 60 short texts, 20 per topic, each naming two of its topic's words and a word used by every topic. */
    private Path corpus() throws IOException {
        SplittableRandom r = new SplittableRandom(3);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            String[] t = TOPICS[i % 3];
            lines.add("a thing: the " + t[r.nextInt(5)] + " with a " + t[r.nextInt(5)]);
        }
        return Files.write(dir.resolve("corpus.txt"), lines, StandardCharsets.UTF_8);
    }

    @Test
    void clusterReRanksWithTheIndexModelUnlessPlainTerms() throws IOException {
        Path corpus = corpus();
        Path idx = dir.resolve("c.lidx");
        MainTest.Result e = MainTest.run("embed", corpus.toString(), "--index", idx.toString(), "--quiet");
        assertEquals(0, e.code(), e.err());
        MainTest.Result res = MainTest.run("cluster", idx.toString(), "-k", "3", "--corpus", corpus.toString(), "-q");
        assertEquals(0, res.code(), res.err());
        assertTrue(res.out().contains("re-ranked by similarity to the centroid (model all-minilm-l6-v2-q, diversity 0.30)"),
                res.out());
        // "thing" is in every text of every segment: dropped as common.
        assertTrue(res.out().contains("common terms dropped: thing"), res.out());
        for (String[] topic : TOPICS) {
            assertTrue(res.out().lines().anyMatch(l -> l.contains(topic[0]) || l.contains(topic[1])), res.out());
        }
        MainTest.Result plain = MainTest.run("cluster", idx.toString(), "-k", "3", "--corpus", corpus.toString(), "-q",
                "--plain-terms", "--common-terms", "1");
        assertEquals(0, plain.code(), plain.err());
        assertTrue(plain.out().contains("terms: class-based TF-IDF; no common terms dropped"), plain.out());
        assertTrue(plain.out().contains("thing"), plain.out());
        MainTest.Result bad = MainTest.run("cluster", idx.toString(), "-k", "3", "--corpus", corpus.toString(), "-q",
                "--term-diversity", "2");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--term-diversity must be in [0, 1]"), bad.err());
    }

    @Test
    void vectorsOfAnotherDimensionAreNamedByCtfidfOrRefused() throws IOException {
        Path corpus = corpus();
        Path vectors = vectors(8);
        // No model recorded: c-TF-IDF alone, said.
        MainTest.Result res = MainTest.run("cluster", vectors.toString(), "-k", "3", "--corpus", corpus.toString(), "-q");
        assertEquals(0, res.code(), res.err());
        assertTrue(res.out().contains("not re-ranked: the vectors (dimension 8) record no model; --model or --onnx names "
                + "the one that embedded them"), res.out());
        // A model named that gives another dimension is refused, before k-means: no outputs are left.
        Path centroids = dir.resolve("centroids.npy");
        Path assignments = dir.resolve("assignments.tsv");
        MainTest.Result bad = MainTest.run("cluster", vectors.toString(), "-k", "3", "--corpus", corpus.toString(), "-q",
                "--model", "all-minilm-l6-v2-q", "--centroids", centroids.toString(), "--assignments",
                assignments.toString());
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("the vectors have dimension 8 but model all-minilm-l6-v2-q gives 384"), bad.err());
        assertTrue(!Files.exists(centroids) && !Files.exists(assignments), "a refused model leaves no outputs");
        try (var left = Files.list(dir)) {
            assertEquals(List.of(), left.filter(f -> f.getFileName().toString().contains("centroids")
                    || f.getFileName().toString().contains("assignments")).toList());
        }
        // With a good model the same outputs are written.
        MainTest.Result good = MainTest.run("cluster", vectors.toString(), "-k", "3", "--corpus", corpus.toString(), "-q",
                "--centroids", centroids.toString(), "--assignments", assignments.toString());
        assertEquals(0, good.code(), good.err());
        assertTrue(Files.exists(centroids) && Files.exists(assignments));
    }

    /**
     * Vectors of the default model's dimension (384) that record no model are not re-ranked with the default model,
     * which need not be the one that embedded them; a model named re-ranks them.
     */
    @Test
    void vectorsThatRecordNoModelAreReRankedOnlyWithAModelNamed() throws IOException {
        Path corpus = corpus();
        Path vectors = vectors(384);
        MainTest.Result res = MainTest.run("cluster", vectors.toString(), "-k", "3", "--corpus", corpus.toString(), "-q");
        assertEquals(0, res.code(), res.err());
        assertTrue(res.out().contains("terms: class-based TF-IDF (not re-ranked: the vectors (dimension 384) record no "
                + "model; --model or --onnx names the one that embedded them)"), res.out());
        assertTrue(!res.out().contains("re-ranked by similarity"), res.out());
        MainTest.Result named = MainTest.run("cluster", vectors.toString(), "-k", "3", "--corpus", corpus.toString(), "-q",
                "--model", "all-minilm-l6-v2-q");
        assertEquals(0, named.code(), named.err());
        assertTrue(named.out().contains("re-ranked by similarity to the centroid (model all-minilm-l6-v2-q"), named.out());
    }

    /** 60 vectors of dimension d in three planted groups (as the corpus's topics), no model recorded (.npy). */
    private Path vectors(int d) throws IOException {
        Path vectors = dir.resolve("v" + d + ".npy");
        float[] flat = new float[60 * d];
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < 60; i++) {
            for (int j = 0; j < d; j++) {
                flat[i * d + j] = (float) ((j == i % 3 ? 10 : 0) + r.nextDouble(-1, 1));
            }
        }
        try (FloatMatrix m = FloatMatrix.of(flat, d)) {
            Npy.write(vectors, m);
        }
        return vectors;
    }

    @Test
    void anImageIndexIsNamedWithoutAModel() {
        Path d = dir.resolve("digits");
        MainTest.Result r = MainTest.run("digits", d.toString(), "--count", "60");
        assertEquals(0, r.code(), r.err());
        Path idx = dir.resolve("d.lidx");
        r = MainTest.run("embed", "--model", "digits-ae", d.toString(), "--index", idx.toString(), "--metric", "l2");
        assertEquals(0, r.code(), r.err());
        // Its records are the image paths: named without re-ranking, since digits-ae has no text model.
        MainTest.Result res = MainTest.run("cluster", idx.toString(), "-k", "3", "-q");
        assertEquals(0, res.code(), res.err());
        assertTrue(res.out().contains("not re-ranked: the index's model digits-ae is an image model with no paired text "
                + "model"), res.out());
        MainTest.Result map = MainTest.run("map", idx.toString(), "--segments", "3", "--layout", "pca", "--outliers",
                "none", "-o", dir.resolve("m").toString(), "-q");
        assertEquals(0, map.code(), map.err());
        // A model named that is no text model is refused.
        MainTest.Result bad = MainTest.run("cluster", idx.toString(), "-k", "3", "-q", "--model", "digits-ae");
        assertEquals(2, bad.code(), bad.out());
        assertTrue(bad.err().contains("digits-ae"), bad.err());
    }
}
