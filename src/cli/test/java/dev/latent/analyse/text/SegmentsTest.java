package dev.latent.analyse.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Class-based TF-IDF on planted topics, the central members, and the words kept. */
class SegmentsTest {
    @Test
    void wordsAreLowerCasedWithoutStopWordsPossessivesOrShortTokens() {
        try (Terms t = new Terms()) {
            assertEquals(List.of("shark", "fins", "ocean", "2nd"), t.of("The shark's fins, in THE ocean; a 2nd of 42 it"));
        }
        assertTrue(Terms.isStopWord("which"));
        assertFalse(Terms.isStopWord("shark"));
    }

    @Test
    void eachPlantedTopicGetsItsOwnTermsAndCentralText() {
        List<String> texts = new ArrayList<>();
        int[] labels = new int[12];
        float[] dist = new float[12];
        String[] fish = {"a shark is a fish of the ocean", "fish swim in the ocean water", "the shark hunts fish",
            "marine fish and a shark"};
        String[] cars = {"a car has an engine", "the engine of a car turns the wheel", "wheel and engine parts",
            "a car wheel"};
        String[] music = {"a song with a melody", "melody and rhythm of music", "music is a song", "rhythm in a song"};
        String[][] topics = {fish, cars, music};
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < 4; i++) {
                int row = c * 4 + i;
                texts.add(topics[c][i]);
                labels[row] = c;
                dist[row] = i == 2 ? 0.01f : 0.1f + i; // the third text is the most central
            }
        }
        labels[11] = 1; // one music text filed under cars: cluster 1 has 5, cluster 2 has 3
        List<Segments.Segment> s = Segments.describe(labels, dist, 3, texts, 3, 2);
        assertEquals(3, s.size());
        assertEquals(1, s.get(0).cluster(), "largest first");
        assertEquals(5, s.get(0).size());
        assertEquals(5.0 / 12, s.get(0).share(), 1e-12);
        Segments.Segment fishSeg = s.stream().filter(x -> x.cluster() == 0).findFirst().orElseThrow();
        assertTrue(fishSeg.terms().containsAll(List.of("shark", "fish")), fishSeg.terms().toString());
        assertFalse(fishSeg.terms().contains("the"));
        assertEquals(List.of("car", "engine", "wheel"), s.get(0).terms(), "equal weights: alphabetical");
        assertArrayEquals(new int[] {2, 0}, fishSeg.central());
        for (int i = 1; i < fishSeg.weights().length; i++) {
            assertTrue(fishSeg.weights()[i] <= fishSeg.weights()[i - 1]);
        }
        String line = Segments.line(fishSeg, texts, 15);
        assertTrue(line.contains("4 texts") && line.contains("33.3 %") && line.contains("\"the shark hu...\""), line);
        List<Segments.Segment> again = Segments.describe(labels, dist, 3, texts, 3, 2);
        for (int i = 0; i < s.size(); i++) { // deterministic
            assertEquals(s.get(i).terms(), again.get(i).terms());
            assertArrayEquals(s.get(i).central(), again.get(i).central());
        }
        assertThrows(IllegalArgumentException.class, () -> Segments.describe(labels, dist, 3, texts.subList(0, 5), 3, 1));
    }
}
