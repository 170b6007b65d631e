package dev.latent.analyse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.compute.ResidentMatrix;
import dev.latent.compute.java.JavaBackend;
import dev.latent.compute.Reference;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Interpolation, arithmetic and moves along a direction, on constructed spaces with known answers. */
class WalksTest {
    private static float[] randomUnit(SplittableRandom r, int d) {
        float[] v = new float[d];
        double ss = 0;
        for (int j = 0; j < d; j++) {
            v[j] = (float) Planted.gaussian(r);
            ss += v[j] * v[j];
        }
        for (int j = 0; j < d; j++) {
            v[j] /= (float) Math.sqrt(ss);
        }
        return v;
    }

    @Test
    void slerpStaysOnTheUnitSphereAndHitsBothEnds() {
        long seed = new SplittableRandom().nextLong();
        SplittableRandom r = new SplittableRandom(seed);
        for (int d : new int[] {2, 7, 384, 1001}) {
            float[] a = randomUnit(r, d);
            float[] b = randomUnit(r, d);
            try (FloatMatrix p = Walks.slerp(a, b, 9)) {
                assertEquals(9, p.rows());
                double prevAngle = -1;
                for (int s = 0; s < 9; s++) {
                    float[] v = p.getRow(s);
                    double ss = 0;
                    double dotA = 0;
                    for (int j = 0; j < d; j++) {
                        ss += (double) v[j] * v[j];
                        dotA += (double) v[j] * a[j];
                    }
                    assertEquals(1.0, Math.sqrt(ss), 1e-6, "seed " + seed + ", d " + d + ", step " + s);
                    double angle = Math.acos(Math.max(-1, Math.min(1, dotA)));
                    assertTrue(angle >= prevAngle - 1e-6, "the angle from a grows along the path");
                    prevAngle = angle;
                }
                for (int j = 0; j < d; j++) {
                    assertEquals(a[j], p.getRow(0)[j], 1e-6);
                    assertEquals(b[j], p.getRow(8)[j], 1e-6);
                }
                // Equal steps of angle: the angle between consecutive points is constant.
                double first = angle(p.getRow(0), p.getRow(1));
                for (int s = 1; s < 8; s++) {
                    assertEquals(first, angle(p.getRow(s), p.getRow(s + 1)), 1e-5, "seed " + seed);
                }
            }
        }
    }

    private static double angle(float[] a, float[] b) {
        return Math.acos(Math.max(-1, Math.min(1, Reference.cosine(a, b))));
    }

    @Test
    void slerpOfOneDirectionAndOfOppositeOnes() {
        float[] a = {0.6f, 0.8f, 0};
        float[] twice = {1.2f, 1.6f, 0};
        try (FloatMatrix p = Walks.slerp(a, twice, 3)) {
            float[] mid = p.getRow(1);  // same direction, length 1.5
            assertEquals(0.9f, mid[0], 1e-6);
            assertEquals(1.2f, mid[1], 1e-6);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Walks.slerp(a, new float[] {-0.6f, -0.8f, 0}, 5));
        assertTrue(e.getMessage().contains("opposite directions") && e.getMessage().contains("linear"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Walks.slerp(a, new float[3], 5));
        assertThrows(IllegalArgumentException.class, () -> Walks.slerp(a, a, 1));
        assertThrows(IllegalArgumentException.class, () -> Walks.slerp(a, new float[] {1, 0}, 3));
        assertThrows(IllegalArgumentException.class, () -> Walks.lerp(a, new float[] {Float.NaN, 0, 0}, 3));
    }

    @Test
    void lerpIsEvenlySpacedAndAlongMovesByTheAmounts() {
        float[] a = {0, 0, 1};
        float[] b = {4, -8, 1};
        try (FloatMatrix p = Walks.lerp(a, b, 5)) {
            assertEquals(2f, p.getRow(2)[0]);
            assertEquals(-4f, p.getRow(2)[1]);
            assertEquals(1f, p.getRow(3)[2]);
        }
        try (FloatMatrix p = Walks.along(a, Walks.direction(a, b), new double[] {0, 0.5, 2})) {
            assertEquals(0f, p.getRow(0)[0]);
            assertEquals(2f, p.getRow(1)[0]);
            assertEquals(-16f, p.getRow(2)[1]);
        }
        try (FloatMatrix m = FloatMatrix.of(new float[][] {{1, 2}, {3, 4}, {5, 9}}); FloatMatrix c = Walks.centroid(m, null);
             FloatMatrix c2 = Walks.centroid(m, new long[] {0, 2})) {
            assertEquals(3f, c.getRow(0)[0]);
            assertEquals(5f, c.getRow(0)[1]);
            assertEquals(5.5f, c2.getRow(0)[1]);
        }
    }

    /**
     * A constructed space: each word is a sum of a few attribute directions (royalty, gender, age, species)
     * plus small noise. king − man + woman must land nearest queen (inputs left out, as word-analogy
     * evaluations do), dog − puppy + kitten nearest cat, man − boy + girl nearest woman.
     */
    @Test
    void analogiesLandWhereTheyMust() {
        long seed = new SplittableRandom().nextLong();
        SplittableRandom r = new SplittableRandom(seed);
        int d = 64;
        float[] royal = randomUnit(r, d);
        float[] male = randomUnit(r, d);
        float[] female = randomUnit(r, d);
        float[] young = randomUnit(r, d);
        float[] old = randomUnit(r, d);
        float[] canine = randomUnit(r, d);
        float[] feline = randomUnit(r, d);
        float[] person = randomUnit(r, d);
        String[] names = {"king", "queen", "man", "woman", "prince", "princess", "boy", "girl", "puppy", "dog", "kitten", "cat"};
        float[][][] parts = {
            {royal, male, person, old}, {royal, female, person, old}, {male, person, old}, {female, person, old},
            {royal, male, person, young}, {royal, female, person, young}, {male, person, young}, {female, person, young},
            {canine, young}, {canine, old}, {feline, young}, {feline, old}};
        float[][] words = new float[names.length][];
        for (int w = 0; w < names.length; w++) {
            float[] v = new float[d];
            for (float[] p : parts[w]) {
                for (int j = 0; j < d; j++) {
                    v[j] += p[j];
                }
            }
            for (int j = 0; j < d; j++) {
                v[j] += (float) (0.02 * Planted.gaussian(r));
            }
            words[w] = v;
        }
        try (FloatMatrix vocab = FloatMatrix.of(words); JavaBackend be = new JavaBackend();
             ResidentMatrix index = be.upload(vocab, Metric.COSINE)) {
            assertEquals("queen", nearestExcluding(index, names, Walks.analogy(words[2], words[0], words[3]), 0, 2, 3),
                    "seed " + seed + ": king - man + woman");
            assertEquals("cat", nearestExcluding(index, names, Walks.analogy(words[8], words[9], words[10]), 8, 9, 10),
                    "seed " + seed + ": puppy : dog :: kitten : ?");
            assertEquals("woman", nearestExcluding(index, names, Walks.analogy(words[6], words[2], words[7]), 6, 2, 7),
                    "seed " + seed + ": boy : man :: girl : ?");
        }
    }

    private static String nearestExcluding(ResidentMatrix index, String[] names, FloatMatrix q, int... exclude) {
        try (q) {
            Neighbors nb = index.search(q, names.length);
            outer:
            for (int rank = 0; rank < nb.count(); rank++) {
                long id = nb.id(0, rank);
                for (int e : exclude) {
                    if (id == e) {
                        continue outer;
                    }
                }
                return names[(int) id];
            }
            return null;
        }
    }
}
