package dev.latent.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.analyse.KMeans;
import dev.latent.analyse.KMeansResult;
import dev.latent.compute.Backends;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.SearchResult;
import dev.latent.index.FlatIndex;
import dev.latent.index.SearchParams;
import dev.latent.index.VectorIndex;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A project that depends on latent-core alone: it builds, saves, loads and searches an index and clusters. */
class CoreOnlyTest {
    @TempDir
    Path dir;

    @Test
    void latentCorePullsUnderFortyMegabytesAndNoTestLibrary() throws Exception {
        List<Path> cp = ClassPathCheck.entries();
        String report = ClassPathCheck.report(cp);
        System.out.print("latent-core's run-time class path:\n" + report);
        assertTrue(cp.stream().anyMatch(e -> e.getFileName().toString().startsWith("latent-core")
                || e.endsWith(Path.of("target", "core", "classes"))), "latent-core is not on the class path: " + report);
        assertTrue(ClassPathCheck.testLibraries(cp).isEmpty(), "test libraries: " + ClassPathCheck.testLibraries(cp));
        assertFalse(cp.stream().anyMatch(e -> e.getFileName().toString().startsWith("onnxruntime")
                || e.getFileName().toString().startsWith("tokenizers") || e.getFileName().toString().startsWith("xchart")
                || e.getFileName().toString().startsWith("picocli")), "ONNX Runtime, tokenizer, plotting or CLI: " + report);
        assertTrue(ClassPathCheck.total(cp) < 40_000_000L, report);
    }

    @Test
    void indexSaveLoadSearchMatchesABruteForceReference() throws Exception {
        int n = 1000, d = 37, q = 7, k = 5;
        Random rnd = new Random(42);
        float[] data = new float[n * d];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) rnd.nextGaussian();
        }
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = 1000L + i;
        }
        Path file = dir.resolve("v.lidx");
        try (FloatMatrix m = FloatMatrix.of(data, d); FlatIndex index = new FlatIndex(d, Metric.L2, Backends.get())) {
            index.add(ids, m);
            index.save(file);
        }
        float[] queries = new float[q * d];
        for (int i = 0; i < queries.length; i++) {
            queries[i] = (float) rnd.nextGaussian();
        }
        try (VectorIndex index = VectorIndex.load(file); FloatMatrix qm = FloatMatrix.of(queries, d)) {
            assertEquals(n, index.size());
            SearchResult r = index.search(qm, SearchParams.topK(k));
            for (int i = 0; i < q; i++) {
                long[] expected = bruteForce(data, queries, i, d, k);
                for (int j = 0; j < k; j++) {
                    assertEquals(1000L + expected[j], r.id(i, j), "query " + i + " rank " + j);
                }
            }
        }
    }

    @Test
    void kMeansFindsPlantedClusters() {
        int per = 50, d = 8;
        float[] data = new float[3 * per * d];
        Random rnd = new Random(7);
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < per; i++) {
                for (int j = 0; j < d; j++) {
                    data[(c * per + i) * d + j] = (j == c ? 20f : 0f) + (float) rnd.nextGaussian() * 0.1f;
                }
            }
        }
        try (FloatMatrix m = FloatMatrix.of(data, d); KMeansResult r = KMeans.of(3).seed(1).fit(m, Metric.L2)) {
            int[] a = r.labels();
            for (int c = 0; c < 3; c++) {
                for (int i = 1; i < per; i++) {
                    assertEquals(a[c * per], a[c * per + i]);
                }
            }
            assertTrue(a[0] != a[per] && a[per] != a[2 * per] && a[0] != a[2 * per]);
        }
    }

    private static long[] bruteForce(float[] data, float[] queries, int qi, int d, int k) {
        int n = data.length / d;
        double[] dist = new double[n];
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int j = 0; j < d; j++) {
                double t = (double) data[i * d + j] - queries[qi * d + j];
                s += t * t;
            }
            dist[i] = s;
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> dist[a] != dist[b] ? Double.compare(dist[a], dist[b]) : Integer.compare(a, b));
        long[] out = new long[k];
        for (int j = 0; j < k; j++) {
            out[j] = order[j];
        }
        return out;
    }
}
