package dev.latent.analyse.map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.compute.Backend;
import dev.latent.compute.BackendUnavailableException;
import dev.latent.compute.Backends;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link MapJob}: its progress, its checks before the work and its numeric legends, on planted blobs. */
class MapJobTest {
    @TempDir
    Path dir;

    private static Backend backend() {
        try {
            return Backends.cpu();
        } catch (BackendUnavailableException e) {
            throw new AssertionError("the native CPU backend must load in this build: " + e.getMessage(), e);
        }
    }

    /** {@code n} points of 3 Gaussian blobs in 8 dimensions. */
    private static FloatMatrix blobs(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] flat = new float[n * 8];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < 8; j++) {
                flat[i * 8 + j] = (float) ((i % 3 == j % 3 ? 6 : 0) + r.nextGaussian());
            }
        }
        return FloatMatrix.of(flat, 8);
    }

    private static String[] ids(int n) {
        String[] ids = new String[n];
        for (int i = 0; i < n; i++) {
            ids[i] = "p" + i;
        }
        return ids;
    }

    /** The stages started and every count reported, by stage. */
    private static final class Recorded implements MapJob.StageProgress {
        final List<String> stages = Collections.synchronizedList(new ArrayList<>());
        final List<Long> totals = Collections.synchronizedList(new ArrayList<>());
        final List<List<Long>> counts = Collections.synchronizedList(new ArrayList<>());

        @Override
        public MapJob.Counter start(String task, long total, String unit) {
            stages.add(task);
            totals.add(total);
            List<Long> mine = Collections.synchronizedList(new ArrayList<>());
            counts.add(mine);
            return new MapJob.Counter() {
                @Override
                public void done(long steps) {
                    mine.add(steps);
                }

                @Override
                public void close() {
                }
            };
        }
    }

    @Test
    void segmentProgressCountsEveryRestartForwards() {
        Recorded progress = new Recorded();
        try (FloatMatrix x = blobs(300, 1)) {
            new MapJob().segments(5).restarts(4).outliers(null).layout(MapJob.Layout.PCA).progress(progress)
                    .build(x, Metric.L2, ids(300), null, "t", backend());
        }
        int s = progress.stages.indexOf("segments");
        assertTrue(s >= 0, progress.stages.toString());
        assertEquals(26L * 4, progress.totals.get(s), "26 assignments at most per run, 4 runs");
        List<Long> c = progress.counts.get(s);
        for (int i = 1; i < c.size(); i++) {
            assertTrue(c.get(i) > c.get(i - 1), "the count only goes forwards: " + c);
        }
        assertTrue(c.get(c.size() - 1) <= 26L * 4, c.toString());
        assertTrue(c.size() >= 4 * 2, "every run's assignments counted: " + c);
    }

    @Test
    void placingOnAnEarlierLayoutWithPcaIsRefusedBeforeAnyWork() {
        Recorded progress = new Recorded();
        MapCoords earlier = new MapCoords(ids(50), new float[50], new float[50]);
        try (FloatMatrix x = blobs(60, 2)) {
            MapJob job = new MapJob().segments(3).layout(MapJob.Layout.PCA).placeOn(earlier, "old.tsv").progress(progress);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> job.build(x, Metric.L2, ids(60), null, "t", backend()));
            assertTrue(e.getMessage().contains("needs the UMAP layout"), e.getMessage());
        }
        assertEquals(List.of(), progress.stages, "no k-means, no outliers, no layout before the refusal");
    }

    @Test
    void placingCountsTheEpochsOfTheNewPoints() {
        Recorded progress = new Recorded();
        int n = 90;
        MapCoords earlier = new MapCoords(ids(70), new float[70], new float[70]);
        for (int i = 0; i < 70; i++) {
            earlier.x()[i] = i % 3;
            earlier.y()[i] = i / 3f;
        }
        try (FloatMatrix x = blobs(n, 3)) {
            new MapJob().segments(0).outliers(null).neighbors(10).placeOn(earlier, "old.tsv").progress(progress)
                    .build(x, Metric.L2, ids(n), null, "t", backend());
        }
        int s = progress.stages.indexOf("placing");
        assertEquals(100L, progress.totals.get(s), "20 new points: 100 epochs");
        List<Long> c = progress.counts.get(s);
        assertEquals(100L, c.get(c.size() - 1));
    }

    @Test
    void numbersBeyondBigDecimalAreNotNumbers() {
        assertTrue(MapJob.allNumbers(new String[] {"1", "2.5e3", null, "-.5", "1e999999999"}));
        assertFalse(MapJob.allNumbers(new String[] {"1", "1e9999999999"}), "an exponent beyond an int");
        assertFalse(MapJob.allNumbers(new String[] {"1", "0.5e-2147483647"}), "a scale beyond an int");
        assertFalse(MapJob.allNumbers(new String[] {"1", "two"}));
        // A grouping with such a name is coloured by text order instead of failing in the comparator.
        int n = 30;
        String[] groups = new String[n];
        for (int i = 0; i < n; i++) {
            groups[i] = i % 3 == 0 ? "1e9999999999" : i % 3 == 1 ? "2" : "1e999999999";
        }
        try (FloatMatrix x = blobs(n, 4)) {
            MapJob.Result r = new MapJob().groups(groups, "label").outliers(null).layout(MapJob.Layout.PCA)
                    .build(x, Metric.L2, ids(n), null, "t", backend());
            assertEquals(List.of("label 1e999999999", "label 1e9999999999", "label 2"),
                    r.data().segments().stream().map(MapData.Segment::label).toList());
            assertFalse(r.data().ordered());
        }
        try (FloatMatrix x = blobs(n, 4)) {
            String[] numeric = groups.clone();
            for (int i = 0; i < n; i += 3) {
                numeric[i] = "10";
            }
            MapJob.Result r = new MapJob().groups(numeric, "label").outliers(null).layout(MapJob.Layout.PCA)
                    .build(x, Metric.L2, ids(n), null, "t", backend());
            assertEquals(List.of("label 2", "label 10", "label 1e999999999"),
                    r.data().segments().stream().map(MapData.Segment::label).toList(), "numeric order");
        }
    }

    @Test
    void aKeyTheCoordinatesCannotHoldIsRefusedBeforeAnythingIsWritten() throws Exception {
        int n = 30;
        String[] ids = ids(n);
        ids[7] = "";
        try (FloatMatrix x = blobs(n, 5)) {
            MapJob job = new MapJob().segments(2).outliers(null).layout(MapJob.Layout.PCA);
            MapData data = job.build(x, Metric.L2, ids, null, "t", backend()).data();
            Path png = dir.resolve("m.png");
            Path html = dir.resolve("m.html");
            Path coords = dir.resolve("m.tsv");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> job.write(data, png, html, coords));
            assertTrue(e.getMessage().contains("point 7 has an empty key"), e.getMessage());
            assertFalse(Files.exists(png) || Files.exists(html) || Files.exists(coords), "nothing written");
        }
    }
}
