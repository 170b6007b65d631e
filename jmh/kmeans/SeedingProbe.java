import dev.latent.analyse.KMeans;
import dev.latent.analyse.KMeansResult;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.space.format.Npy;
import java.nio.file.*;
/**
 * One k-means run per seed (0-9), greedy k-means++ seeding, with the default seeding sample or all points,
 * and 25 iterations (tolerance 1e-4) or 300 (tolerance 0): prints the inertia per seed and writes each
 * partition to OUTDIR/p-SAMPLE-ITERATIONS-SEED.txt for jmh/kmeans/seeding-probe.sh to score.
 *
 *   java -cp 'target/latent.jar:target/lib/*' jmh/kmeans/SeedingProbe.java X.npy METRIC K OUTDIR
 */
public final class SeedingProbe {
    public static void main(String[] a) throws Exception {
        try (FloatMatrix x = Npy.read(Path.of(a[0]))) {
            Metric m = Metric.valueOf(a[1]); int k = Integer.parseInt(a[2]);
            int[][] cfg = {{0, 25}, {(int) x.rows(), 25}, {0, 300}, {(int) x.rows(), 300}};
            for (int[] c : cfg) {
                StringBuilder sb = new StringBuilder();
                for (int seed = 0; seed < 10; seed++) {
                    KMeans km = KMeans.of(k).seed(seed).iterations(c[1]).tolerance(c[1] > 100 ? 0 : 1e-4);
                    if (c[0] > 0) km.seedSample(c[0]);
                    try (KMeansResult r = km.fit(x, m)) {
                        StringBuilder l = new StringBuilder();
                        for (int v : r.labels()) l.append(v).append(',');
                        Files.writeString(Path.of(a[3], "p-" + c[0] + "-" + c[1] + "-" + seed + ".txt"), l);
                        sb.append(String.format("%.6g ", r.inertia()));
                    }
                }
                System.out.println("sample " + c[0] + " iters " + c[1] + ": " + sb);
            }
        }
    }
}
