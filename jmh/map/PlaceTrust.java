import dev.latent.analyse.Trustworthiness;
import dev.latent.analyse.Umap;
import dev.latent.analyse.UmapResult;
import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.space.format.Npy;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Umap.transform on real embeddings: fits the first (n - held) rows, places the last held rows on that layout, and
 * compares with one fit of all rows. Prints the trustworthiness (k = 10) of the held-out points among themselves and
 * of all points, and the seconds of each step. Usage: java -cp 'target/latent.jar:target/lib/*' jmh/map/PlaceTrust.java
 * VECTORS.npy HELD [metric]
 */
public class PlaceTrust {
    public static void main(String[] args) throws Exception {
        Metric metric = args.length > 2 ? Metric.parse(args[2]) : Metric.COSINE;
        Backend be = Backends.get();
        try (FloatMatrix all = Npy.read(Path.of(args[0]))) {
            int n = (int) all.rows();
            int held = Integer.parseInt(args[1]);
            Umap umap = Umap.of().minDist(0).repulsion(8).seed(42).backend(be);
            try (FloatMatrix ref = all.rowsView(0, n - held); FloatMatrix fresh = all.rowsView(n - held, n)) {
                long t0 = System.nanoTime();
                UmapResult fit = umap.fit(ref, metric);
                long t1 = System.nanoTime();
                FloatMatrix placed = umap.transform(ref, fit.layout(), fresh, metric);
                long t2 = System.nanoTime();
                float[] combined = new float[2 * n];
                System.arraycopy(fit.layoutArray(), 0, combined, 0, 2 * (n - held));
                System.arraycopy(placed.copyRows(0, held), 0, combined, 2 * (n - held), 2 * held);
                UmapResult whole = umap.fit(all, metric);
                long t3 = System.nanoTime();
                try (FloatMatrix comb = FloatMatrix.of(combined, 2);
                     FloatMatrix wholeFresh = whole.layout().rowsView(n - held, n)) {
                    System.out.printf(Locale.ROOT, "backend %s, %d points, %d held out, metric %s%n", be.name(), n, held, metric);
                    System.out.printf(Locale.ROOT, "fit on %d: %.2f s; transform of %d: %.2f s; fit on all %d: %.2f s%n",
                            n - held, (t1 - t0) / 1e9, held, (t2 - t1) / 1e9, n, (t3 - t2) / 1e9);
                    System.out.printf(Locale.ROOT, "T(10) of the held-out points among themselves: placed %.4f, fitted with the rest %.4f%n",
                            Trustworthiness.of(fresh, metric, placed, 10, be), Trustworthiness.of(fresh, metric, wholeFresh, 10, be));
                    System.out.printf(Locale.ROOT, "T(10) of all points: fit + placed %.4f, one fit of all %.4f, fit alone (the %d) %.4f%n",
                            Trustworthiness.of(all, metric, comb, 10, be), Trustworthiness.of(all, metric, whole.layout(), 10, be),
                            n - held, Trustworthiness.of(ref, metric, fit.layout(), 10, be));
                }
                placed.close();
                fit.close();
                whole.close();
            }
        }
    }
}
