package dev.latent.analyse.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.compute.java.JavaBackend;
import dev.latent.core.FloatMatrix;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** Re-ranking, maximal marginal relevance and the common-term filter, on planted texts and embeddings. */
class SegmentTermsTest {
    static Stream<Backend> backends() {
        return Stream.of(JavaBackend.open(), Backends.get());
    }

    /** Planted embeddings by word (unit vectors, 4-d); other words get a fixed pseudo-random direction. */
    static final class FakeEncoder implements TermEncoder {
        final Map<String, float[]> planted;
        final List<List<String>> calls = new ArrayList<>();

        FakeEncoder(Map<String, float[]> planted) {
            this.planted = planted;
        }

        @Override
        public FloatMatrix encode(List<String> inputs) {
            calls.add(List.copyOf(inputs));
            FloatMatrix m = FloatMatrix.allocate(inputs.size(), 4);
            for (int i = 0; i < inputs.size(); i++) {
                float[] v = planted.get(inputs.get(i));
                if (v == null) {
                    Random r = new Random(inputs.get(i).hashCode());
                    v = new float[] {r.nextFloat() + 0.1f, r.nextFloat(), r.nextFloat(), r.nextFloat()};
                }
                m.setRow(i, unit(v));
            }
            return m;
        }

        @Override
        public int dimension() {
            return 4;
        }

    }

    static float[] unit(float... v) {
        double s = 0;
        for (float x : v) {
            s += x * x;
        }
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) (v[i] / Math.sqrt(s));
        }
        return out;
    }

    static double cos(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    /** Three planted segments; in segment 0 the c-TF-IDF order (by counts) is the reverse of the centroid order. */
    record Planted(List<String> texts, int[] labels, float[] distances) {
        static Planted make() {
            List<String> texts = new ArrayList<>();
            List<Integer> labels = new ArrayList<>();
            // Segment 0: alpha 4 times per text, gill 3, reef 2, shark 1, fish once in every other text.
            for (int i = 0; i < 6; i++) {
                texts.add("alpha alpha alpha alpha gill gill gill reef reef shark" + (i % 2 == 0 ? " fish" : ""));
                labels.add(0);
            }
            for (int i = 0; i < 5; i++) {
                texts.add("car engine wheel brake motor");
                labels.add(1);
            }
            for (int i = 0; i < 4; i++) {
                texts.add("song melody rhythm chord tune");
                labels.add(2);
            }
            int[] l = labels.stream().mapToInt(Integer::intValue).toArray();
            float[] d = new float[l.length];
            for (int i = 0; i < d.length; i++) {
                d[i] = i % 3;
            }
            return new Planted(texts, l, d);
        }
    }

    static final float[] E0 = {1, 0, 0, 0};

    static Map<String, float[]> plantedVectors() {
        return Map.of(
                "fish", E0,
                "shark", unit(0.9f, 0.436f, 0, 0),
                "reef", unit(0.7f, 0, 0.714f, 0),
                "gill", unit(0.5f, 0, 0, 0.866f),
                "alpha", new float[] {0, 1, 0, 0});
    }

    static FloatMatrix centroids() {
        return FloatMatrix.of(new float[][] {E0, {0, 0, 1, 0}, {0, 0, 0, 1}});
    }

    @ParameterizedTest
    @MethodSource("backends")
    void reRankingOrdersCandidatesBySimilarityToTheCentroid(Backend backend) {
        Planted p = Planted.make();
        Map<String, float[]> vectors = plantedVectors();
        List<Segments.Segment> plain = SegmentTerms.of(5).describe(p.labels(), p.distances(), 3, null, p.texts(), 1);
        assertEquals(List.of("alpha", "gill", "reef", "shark", "fish"), segment(plain, 0).terms(), "c-TF-IDF: by counts");

        FakeEncoder enc = new FakeEncoder(vectors);
        try (FloatMatrix centroids = centroids()) {
            List<Segments.Segment> reranked = SegmentTerms.of(5).candidates(5).diversity(0).encoder(enc).backend(backend)
                    .describe(p.labels(), p.distances(), 3, centroids, p.texts(), 1);
            // The reference: the cosines computed here in float64, sorted.
            List<String> expected = new ArrayList<>(vectors.keySet());
            expected.sort(Comparator.comparingDouble((String w) -> -cos(vectors.get(w), E0)));
            assertEquals(List.of("fish", "shark", "reef", "gill", "alpha"), expected);
            assertEquals(expected, segment(reranked, 0).terms());
            // Weights stay the c-TF-IDF weights of the terms shown.
            Segments.Segment s0 = segment(reranked, 0);
            for (int i = 0; i < 5; i++) {
                int j = segment(plain, 0).terms().indexOf(s0.terms().get(i));
                assertEquals(segment(plain, 0).weights()[j], s0.weights()[i], 1e-12);
            }
            // Fewer terms than candidates: the best by similarity among all candidates, not the c-TF-IDF top 2.
            List<Segments.Segment> two = SegmentTerms.of(2).candidates(5).diversity(0).encoder(enc).backend(backend)
                    .describe(p.labels(), p.distances(), 3, centroids, p.texts(), 1);
            assertEquals(List.of("fish", "shark"), segment(two, 0).terms());
            assertEquals(2, segment(two, 1).terms().size());
        }
        // Each call encodes every unique candidate term once, in one batch.
        for (List<String> call : enc.calls) {
            assertEquals(call.size(), new HashSet<>(call).size(), "no term encoded twice: " + call);
            assertTrue(call.containsAll(List.of("alpha", "fish", "car", "song")), call.toString());
        }
        assertEquals(2, enc.calls.size());
    }

    @Test
    void mmrTradesSimilarityForDiversityAsBertopicDoes() {
        // a and a2 are near duplicates (0.99); b is less similar to the centroid but unlike both.
        float[] toCentroid = {0.9f, 0.88f, 0.6f};
        float[][] pairwise = {{1, 0.99f, 0.2f}, {0.99f, 1, 0.2f}, {0.2f, 0.2f, 1}};
        // lambda 0: by similarity. 0.1: a2 = 0.9 * 0.88 - 0.1 * 0.99 = 0.693 > b = 0.9 * 0.6 - 0.1 * 0.2 = 0.52.
        assertArrayEquals(new int[] {0, 1, 2}, SegmentTerms.mmr(toCentroid, pairwise, 3, 0));
        assertArrayEquals(new int[] {0, 1, 2}, SegmentTerms.mmr(toCentroid, pairwise, 3, 0.1));
        // 0.3: a2 = 0.7 * 0.88 - 0.3 * 0.99 = 0.319 < b = 0.7 * 0.6 - 0.3 * 0.2 = 0.36.
        assertArrayEquals(new int[] {0, 2, 1}, SegmentTerms.mmr(toCentroid, pairwise, 3, 0.3));
        assertArrayEquals(new int[] {0, 2}, SegmentTerms.mmr(toCentroid, pairwise, 2, 0.3));
        assertArrayEquals(new int[] {0, 1, 2}, SegmentTerms.mmr(toCentroid, pairwise, 7, 0), "count capped");
        // Ties go to the lower index (the better c-TF-IDF candidate).
        assertArrayEquals(new int[] {0, 1}, SegmentTerms.mmr(new float[] {0.5f, 0.5f}, new float[][] {{1, 0}, {0, 1}}, 2, 0.3));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void diversityReplacesANearDuplicateName(Backend backend) {
        List<String> texts = new ArrayList<>();
        int[] labels = new int[9];
        for (int i = 0; i < 6; i++) {
            texts.add("fish fishes reef");
        }
        for (int i = 6; i < 9; i++) {
            texts.add("car engine");
            labels[i] = 1;
        }
        float[] dist = new float[9];
        // Centroid E0; fish 0.8 to it, fishes 0.79 and 0.998 to fish, reef 0.70 and 0.56 to fish (see the MMR test).
        Map<String, float[]> v = Map.of("fish", unit(0.8f, 0.6f, 0, 0), "fishes", unit(0.79f, 0.61f, 0.06f, 0),
                "reef", unit(0.7f, 0, 0.71f, 0));
        assertTrue(cos(v.get("fish"), v.get("fishes")) > 0.99);
        FakeEncoder enc = new FakeEncoder(v);
        try (FloatMatrix centroids = FloatMatrix.of(new float[][] {E0, {0, 0, 0, 1}})) {
            SegmentTerms t = SegmentTerms.of(2).encoder(enc).backend(backend);
            assertEquals(List.of("fish", "fishes"), segment(t.diversity(0).describe(labels, dist, 2, centroids, texts, 1), 0).terms());
            // 0.7 * 0.79 - 0.3 * 0.998 = 0.254 for fishes against 0.7 * 0.70 - 0.3 * 0.56 = 0.32 for reef.
            assertEquals(List.of("fish", "reef"), segment(t.diversity(0.3).describe(labels, dist, 2, centroids, texts, 1), 0).terms());
        }
    }

    /** Four segments of 10 texts; "thing" (3 times) in one text of segments 0-2, "pair" in one of segments 0-1. */
    static List<String> filterTexts(int[] labels) {
        String[][] vocab = {{"fish", "shark", "reef", "gill"}, {"car", "engine", "wheel", "brake"},
            {"song", "melody", "rhythm", "chord"}, {"tree", "leaf", "root", "bark"}};
        List<String> texts = new ArrayList<>();
        for (int c = 0; c < 4; c++) {
            for (int i = 0; i < 10; i++) {
                String t = vocab[c][i % 4] + " " + vocab[c][(i + 1) % 4];
                if (i == 0 && c < 3) {
                    t += " thing thing thing";
                }
                if (i == 1 && c < 2) {
                    t += " pair";
                }
                texts.add(t);
                labels[texts.size() - 1] = c;
            }
        }
        return texts;
    }

    @Test
    void termsFrequentInMostSegmentsAreDropped() {
        int[] labels = new int[40];
        List<String> texts = filterTexts(labels);
        float[] dist = new float[40];
        List<Segments.Segment> plain = SegmentTerms.of(5).commonShare(1).describe(labels, dist, 4, null, texts, 1);
        assertTrue(segment(plain, 0).terms().contains("thing"), "without the filter c-TF-IDF names it: " + plain);
        SegmentTerms.Named named = SegmentTerms.of(5).name(labels, dist, 4, null, texts, 1);
        // thing: in 10 % of the texts of 3 of 4 segments (> half); pair: 2 of 4 (not more than half).
        assertEquals(List.of("thing"), named.common());
        for (Segments.Segment s : named.segments()) {
            assertFalse(s.terms().contains("thing"), s.terms().toString());
        }
        assertTrue(segment(named.segments(), 0).terms().contains("pair"));
        assertEquals(List.of("pair", "thing"), SegmentTerms.of(5).commonShare(0.25).name(labels, dist, 4, null, texts, 1).common());
        // Frequent means at least commonDf of a segment's texts: 10 % is not 20 %.
        assertEquals(List.of(), SegmentTerms.of(5).commonDf(0.2).name(labels, dist, 4, null, texts, 1).common());
        assertEquals(List.of("thing"), SegmentTerms.of(5).commonDf(0.1).name(labels, dist, 4, null, texts, 1).common());
        // One segment: no term is common to several.
        assertEquals(List.of(), SegmentTerms.of(5).name(new int[40], dist, 1, null, texts, 1).common());
        // Empty segments do not count: segments 4 and 5 empty, thing still in 3 of the 4 non-empty ones.
        assertEquals(List.of("thing"), SegmentTerms.of(5).name(labels, dist, 6, null, texts, 1).common());
    }

    @Test
    void badSettingsAndInputsAreNamed() {
        Planted p = Planted.make();
        FakeEncoder enc = new FakeEncoder(plantedVectors());
        SegmentTerms t = SegmentTerms.of(3).encoder(enc);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> t.describe(p.labels(), p.distances(), 3, null, p.texts(), 1));
        assertTrue(e.getMessage().contains("centroids"), e.getMessage());
        try (FloatMatrix wide = FloatMatrix.allocate(3, 5); FloatMatrix two = FloatMatrix.allocate(2, 4)) {
            e = assertThrows(IllegalArgumentException.class, () -> t.describe(p.labels(), p.distances(), 3, wide, p.texts(), 1));
            assertTrue(e.getMessage().contains("dimension 5") && e.getMessage().contains("gives 4"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> t.describe(p.labels(), p.distances(), 3, two, p.texts(), 1));
            assertTrue(e.getMessage().contains("2 centroids for 3 clusters"), e.getMessage());
        }
        int[] bad = p.labels().clone();
        bad[4] = 3;
        e = assertThrows(IllegalArgumentException.class,
                () -> SegmentTerms.of(3).describe(bad, p.distances(), 3, null, p.texts(), 1));
        assertTrue(e.getMessage().contains("label 3 of point 4"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SegmentTerms.of(-1));
        assertThrows(IllegalArgumentException.class, () -> SegmentTerms.of(3).diversity(1.5));
        assertThrows(IllegalArgumentException.class, () -> SegmentTerms.of(3).diversity(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> SegmentTerms.of(3).commonShare(0));
        assertThrows(IllegalArgumentException.class, () -> SegmentTerms.of(3).commonDf(1.01));
        assertThrows(IllegalArgumentException.class, () -> SegmentTerms.of(3).candidates(0));
        assertTrue(enc.calls.isEmpty(), "nothing encoded before the inputs are checked");
    }

    @Test
    void aZeroCentroidKeepsTheCtfidfOrder() {
        Planted p = Planted.make();
        try (FloatMatrix centroids = FloatMatrix.of(new float[][] {{0, 0, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}})) {
            List<Segments.Segment> s = SegmentTerms.of(3).encoder(new FakeEncoder(plantedVectors()))
                    .describe(p.labels(), p.distances(), 3, centroids, p.texts(), 1);
            assertEquals(List.of("alpha", "gill", "reef"), segment(s, 0).terms());
        }
    }

    private static Segments.Segment segment(List<Segments.Segment> list, int cluster) {
        return list.stream().filter(s -> s.cluster() == cluster).findFirst().orElseThrow();
    }
}
