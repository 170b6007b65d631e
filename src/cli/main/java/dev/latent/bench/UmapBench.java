package dev.latent.bench;

import dev.latent.analyse.Trustworthiness;
import dev.latent.analyse.Umap;
import dev.latent.analyse.UmapResult;
import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Lays out the vectors of an {@code .npy} file with {@link Umap} and writes the layout as {@code .npy}: our
 * side of {@code jmh/map/umap-vs-tsne.sh}. Prints one line to standard output: points, dimensions, the fit's
 * seconds (neighbours, graph, start, optimisation; file reading and JVM start excluded), the backend, and with
 * {@code --trust K} our {@link Trustworthiness} of the layout (timed apart).
 *
 * <pre>
 *   java -cp target/latent.jar:target/lib/* dev.latent.bench.UmapBench vectors.npy -o layout.npy --metric cosine
 * </pre>
 */
@Command(name = "umap-bench", mixinStandardHelpOptions = true,
        description = "UMAP layout of an .npy file, timed; writes the layout as .npy.")
public final class UmapBench implements Callable<Integer> {
    @Parameters(index = "0", description = "input vectors, .npy (float32 or float64, n x d)")
    Path input;

    @Option(names = {"-o", "--output"}, required = true, description = "layout written here, .npy float32 (n x components)")
    Path output;

    @Option(names = "--metric", defaultValue = "cosine", description = "cosine, ip or l2 (default cosine)")
    String metric;

    @Option(names = {"-k", "--neighbors"}, defaultValue = "15", description = "other points linked to each (default 15)")
    int neighbors;

    @Option(names = "--components", defaultValue = "2", description = "output dimensions (default 2)")
    int components;

    @Option(names = "--min-dist", defaultValue = "0.1", description = "default 0.1")
    double minDist;

    @Option(names = "--spread", defaultValue = "1.0", description = "default 1")
    double spread;

    @Option(names = "--negative-rate", defaultValue = "5", description = "negative samples per edge sample (default 5)")
    int negativeRate;

    @Option(names = "--repulsion", defaultValue = "1.0", description = "repulsion strength gamma (default 1)")
    double repulsion;

    @Option(names = "--learning-rate", defaultValue = "1.0", description = "initial learning rate (default 1)")
    double learningRate;

    @Option(names = "--epochs", defaultValue = "0", description = "0: 500 up to 10,000 points, else 200")
    int epochs;

    @Option(names = "--init", defaultValue = "pca", description = "pca or random (default pca)")
    String init;

    @Option(names = "--seed", defaultValue = "42", description = "default 42")
    long seed;

    @Option(names = "--trust", defaultValue = "0", description = "also print our trustworthiness for this k (0: no)")
    int trust;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new UmapBench());
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            line.getErr().println("umap-bench: error: " + e.getMessage());
            return 2;
        });
        System.exit(cl.execute(args));
    }

    @Override
    public Integer call() throws IOException {
        Metric m = Metric.parse(metric);
        Backend backend = Backends.get();
        PrintWriter out = spec.commandLine().getOut();
        try (FloatMatrix x = Npy.read(input)) {
            Umap umap = Umap.of().neighbors(neighbors).components(components).spread(spread).minDist(minDist).epochs(epochs)
                    .negativeSampleRate(negativeRate).repulsion(repulsion).learningRate(learningRate)
                    .init(Umap.Init.parse(init)).seed(seed).backend(backend);
            try (UmapResult r = umap.fit(x, m)) {
                Npy.write(output, r.layout());
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT,
                        "umap: %d x %d -> %d, k=%d, %d epochs, a=%.4f b=%.4f, %.3f s (knn %.3f, graph %.3f, "
                                + "init %.3f, optimise %.3f) on %s",
                        x.rows(), x.cols(), r.components(), r.neighbors(), r.epochs(), r.curve().a(), r.curve().b(),
                        r.seconds(), r.knnSeconds(), r.graphSeconds(), r.initSeconds(), r.optimiseSeconds(),
                        backend.description()));
                if (trust > 0) {
                    long t0 = System.nanoTime();
                    double t = Trustworthiness.of(x, m, r.layout(), trust, backend);
                    line.append(String.format(Locale.ROOT, "; trustworthiness(k=%d) %.6f in %.3f s", trust, t,
                            (System.nanoTime() - t0) / 1e9));
                }
                out.println(line);
                out.flush();
            }
        }
        return 0;
    }
}
