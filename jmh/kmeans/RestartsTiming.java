import dev.latent.analyse.KMeans;
import dev.latent.analyse.KMeansResult;
import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.space.format.Npy;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Wall time of k-means with restarts run one after the other against the same restarts run in parallel
 * (KMeans.parallel), and of one run (greedy and plain k-means++ seeding), alternating round by round in
 * one JVM after a warm-up round. Launched as a single source file against the built jar:
 *
 *   java -cp 'target/latent.jar:target/lib/*' jmh/kmeans/RestartsTiming.java X.npy METRIC K RESTARTS ROUNDS
 */
public final class RestartsTiming {
    public static void main(String[] a) throws Exception {
        Path file = Path.of(a[0]);
        Metric metric = Metric.valueOf(a[1].toUpperCase());
        int k = Integer.parseInt(a[2]);
        int restarts = Integer.parseInt(a[3]);
        int rounds = Integer.parseInt(a[4]);
        Backend be = Backends.get();
        System.out.println("backend: " + be.description() + "; " + Runtime.getRuntime().availableProcessors() + " cores");
        String[] names = {"1 run, plain k-means++", "1 run, greedy k-means++", restarts + " restarts sequential",
                restarts + " restarts parallel"};
        double[][] t = new double[names.length][rounds];
        try (FloatMatrix x = Npy.read(file)) {
            System.out.println("data: " + file.getFileName() + " " + x.rows() + " x " + x.cols() + ", " + metric
                    + ", k = " + k);
            for (int r = -1; r < rounds; r++) {
                for (int c = 0; c < names.length; c++) {
                    KMeans km = KMeans.of(k).seed(42).backend(be);
                    if (c == 0) {
                        km.seedCandidates(1);
                    } else if (c >= 2) {
                        km.restarts(restarts).parallel(c == 3);
                    }
                    long s = System.nanoTime();
                    double inertia;
                    try (KMeansResult res = km.fit(x, metric)) {
                        inertia = res.inertia();
                    }
                    double sec = (System.nanoTime() - s) / 1e9;
                    if (r >= 0) {
                        t[c][r] = sec;
                        System.out.printf("round %d %-28s %.4f s  inertia %.6g%n", r, names[c], sec, inertia);
                    }
                }
            }
        }
        for (int c = 0; c < names.length; c++) {
            double[] v = t[c].clone();
            Arrays.sort(v);
            System.out.printf("%-28s median %.4f s (%.4f-%.4f)%n", names[c], v[v.length / 2], v[0], v[v.length - 1]);
        }
    }
}
