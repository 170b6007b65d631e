package dev.latent.analyse.map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MapSampleTest {
    @Test
    void keepsEverythingUnderTheLimit() {
        MapData map = SyntheticMap.blobs(1_000, 1);
        Sample s = Sample.of(map, 1_000, 7);
        assertFalse(s.sampled());
        assertEquals(1_000, s.size());
        assertEquals("", s.note());
    }

    @Test
    void drawsAFixedSizeSortedDeterministicSampleThatKeepsTheOutliers() {
        MapData map = SyntheticMap.blobs(50_000, 1);
        Sample s = Sample.of(map, 2_000, 7);
        assertTrue(s.sampled());
        assertEquals(2_000, s.size());
        int outliers = 0;
        for (int k = 0; k < s.size(); k++) {
            if (k > 0) {
                assertTrue(s.rows()[k] > s.rows()[k - 1], "ascending, no repeats");
            }
            if (map.outlier()[s.rows()[k]]) {
                outliers++;
            }
        }
        assertEquals(map.outlierCount(), outliers);
        assertEquals("showing 2,000 of 50,000 points (random sample; all 100 outliers kept)", s.note());
        assertArrayEquals(s.rows(), Sample.of(map, 2_000, 7).rows(), "same seed, same sample");
        assertFalse(java.util.Arrays.equals(s.rows(), Sample.of(map, 2_000, 8).rows()), "another seed, another");
        // Spread over the whole range, not the first rows.
        assertTrue(s.rows()[s.size() - 1] > 45_000 && s.rows()[0] < 5_000);
    }

    @Test
    void moreOutliersThanTheLimitAreSampledThemselves() {
        MapData map = SyntheticMap.blobs(50_000, 1);
        Sample s = Sample.of(map, 40, 7);
        assertEquals(40, s.size());
        for (int i : s.rows()) {
            assertTrue(map.outlier()[i]);
        }
        assertEquals("showing 40 of 50,000 points (random sample)", s.note());
    }
}
