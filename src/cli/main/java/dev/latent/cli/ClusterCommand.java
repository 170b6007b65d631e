package dev.latent.cli;

import dev.latent.corpus.Corpus;
import dev.latent.job.VectorInput;
import dev.latent.analyse.KMeans;
import dev.latent.analyse.KMeansResult;
import dev.latent.analyse.KSweep;
import dev.latent.analyse.Distance;
import dev.latent.analyse.text.SegmentTerms;
import dev.latent.analyse.text.Segments;
import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.encode.text.TextEncoder;
import dev.latent.space.AtomicOutput;
import dev.latent.space.OutputSet;
import dev.latent.space.format.Npy;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code latent cluster}: k-means over vectors, with segments a person can name when the corpus is given. */
@Command(name = "cluster", mixinStandardHelpOptions = true,
        header = "Cluster vectors with k-means and describe each cluster.",
        description = {"Cluster vectors (.lidx index or .npy) with k-means on the compute backend.",
                "With --corpus, each cluster is described by its most distinctive terms (class-based TF-IDF "
                        + "candidates without the terms common to most clusters, re-ranked by their embedding's similarity "
                        + "to the centroid unless --plain-terms) and its most central text. With a range of k (--k 4..64), prints inertia and a silhouette "
                        + "estimate for each k instead, to help choose one."})
final class ClusterCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "VECTORS", description = "An index file (.lidx) or vectors (.npy).")
    Path input;

    @Option(names = {"-k", "--k"}, required = true, paramLabel = "K",
            description = "Clusters: one k (16), or a range to compare (4..64: powers of two and the end; or 5,10,20).")
    String k;

    @Mixin
    VectorOptions vectors = new VectorOptions();

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default: ${DEFAULT-VALUE}); the same seed gives the same clusters on one backend.")
    long seed;

    @Option(names = "--restarts", paramLabel = "N", defaultValue = "1", description = "Run k-means N times from different seedings and keep the lowest inertia; the first run is the one with --seed, so more restarts never give a worse inertia (default: ${DEFAULT-VALUE}).")
    int restarts;

    @Option(names = "--seed-candidates", paramLabel = "N", defaultValue = "0", description = "Candidates per k-means++ step, the best kept (greedy k-means++); 1: plain k-means++ (default 0: 2 + ln k, as scikit-learn).")
    int seedCandidates;

    @Option(names = "--iterations", defaultValue = "25", description = "Most iterations (default: ${DEFAULT-VALUE}).")
    int iterations;

    @Option(names = "--tolerance", defaultValue = "1e-4", description = "Stop when the inertia improves by less than this fraction (default: ${DEFAULT-VALUE}).")
    double tolerance;

    @Option(names = "--sample", paramLabel = "N", defaultValue = "0", description = "Train on a random sample of N points, then assign all (default: train on all).")
    long sample;

    @Option(names = "--silhouette-sample", paramLabel = "N", defaultValue = "2000", description = "Points the silhouette of a k range is estimated on (default: ${DEFAULT-VALUE}).")
    int silhouetteSample;

    @Option(names = "--centroids", paramLabel = "FILE.npy", converter = OutputFile.class, description = "Write the centroids (k x d, float32).")
    Path centroids;

    @Option(names = "--assignments", paramLabel = "FILE", converter = OutputFile.class, description = "Write each point's id, cluster and distance to its centroid (.jsonl: JSON lines, else TSV).")
    Path assignments;

    @Option(names = "--terms", defaultValue = "5", description = "Terms per cluster (default: ${DEFAULT-VALUE}).")
    int terms;

    @Mixin
    TermOptions termOptions = new TermOptions();

    @Option(names = "--show", defaultValue = "20", description = "Clusters listed, largest first (default: ${DEFAULT-VALUE}).")
    int show;

    @Mixin
    QuietOption quietOption = new QuietOption();


    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        int[] ks;
        try {
            ks = KSweep.parse(k);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
        if (ks.length > 1 && (centroids != null || assignments != null)) {
            throw new CommandLine.ParameterException(cl, "--centroids and --assignments need one k, not a range");
        }
        if (terms < 1 || show < 0 || iterations < 0 || sample < 0 || silhouetteSample < 2) {
            throw new CommandLine.ParameterException(cl, "--terms must be >= 1, --show, --iterations and --sample >= 0, "
                    + "--silhouette-sample >= 2");
        }
        if (restarts < 1 || seedCandidates < 0) {
            throw new CommandLine.ParameterException(cl, "--restarts must be >= 1 and --seed-candidates >= 0, got "
                    + restarts + " and " + seedCandidates);
        }
        SegmentTerms naming = termOptions.settings(terms, cl);
        vectors.inputs(new FileRoles())
                .input("input vectors", input)
                .input("--onnx model", termOptions.model.onnx)
                .input("--tokenizer file", termOptions.model.tokenizer)
                .output("centroids output (--centroids)", centroids)
                .output("assignments output (--assignments)", assignments)
                .check(cl);
        Corpus texts = vectors.corpus(cl);
        PrintWriter out = cl.getOut();
        Backend backend = Backends.get();
        try (VectorInput in = vectors.open(input, cl)) {
            String metricName = in.metric().name().toLowerCase(Locale.ROOT);
            if (ks.length > 1) {
                out.printf(Locale.ROOT, "k-means over %d vectors of dimension %d (%s), seed %d, on %s%n", in.rows(),
                        in.vectors().cols(), metricName, seed, backend.name());
                out.printf(Locale.ROOT, "%6s  %16s  %10s  %10s  %8s%n", "k", "inertia", "silhouette", "iterations", "seconds");
                for (int kk : ks) {
                    List<KSweep.Row> row = KSweep.run(in.vectors(), in.metric(), new int[] {kk}, this::kmeans,
                            silhouetteSample, seed, backend);
                    KSweep.Row r = row.get(0);
                    out.printf(Locale.ROOT, "%6d  %16.6g  %10.4f  %10d  %8.2f%n", r.k(), r.inertia(), r.silhouette(),
                            r.iterations(), r.seconds());
                    out.flush();
                }
                out.println("inertia: sum of " + Distance.name(in.metric()) + " to the centroid (lower is tighter; it "
                        + "always falls with k: look for the elbow); silhouette from -1 to 1, higher is better separated");
                return Main.OK;
            }
            int kk = ks[0];
            String[] corpusTexts = in.textsOrRecords(texts);
            // The term encoder is opened (and checked: a model that cannot be opened, or of another dimension, is a
            // usage error) before k-means, so a bad one fails fast and leaves no outputs.
            try (TextEncoder enc = corpusTexts == null ? null : termOptions.open(in.metadata(), in.vectors().cols(), cl)) {
                cluster(kk, in, corpusTexts, naming, enc, backend, out);
            }
        }
        return Main.OK;
    }

    /** One k-means, its segments listed (named when there are texts), then the outputs written. */
    private void cluster(int kk, VectorInput in, String[] corpusTexts, SegmentTerms naming, TextEncoder enc,
            Backend backend, PrintWriter out) throws java.io.IOException {
        CommandLine cl = spec.commandLine();
        String metricName = in.metric().name().toLowerCase(Locale.ROOT);
        KMeansResult r;
        try (Progress progress = Progress.start("k-means", (iterations + 1L) * restarts, quietOption.quiet, " iterations")) {
            long[] steps = {0};
            r = kmeans(kk).backend(backend).listener((it, inertia, s) -> progress.done(++steps[0])).fit(in.vectors(), in.metric());
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
        try (r) {
            out.printf(Locale.ROOT, "k-means: %d vectors of dimension %d (%s), k = %d, %d iteration%s%s, inertia %.6g "
                    + "(%s), %.2f s on %s%s%n", in.rows(), in.vectors().cols(), metricName, kk, r.iterations(),
                    r.iterations() == 1 ? "" : "s", r.converged() ? " (converged)" : "", r.inertia(),
                    Distance.name(in.metric()), r.seconds(), r.backend(),
                    r.trainedOn() < in.rows() ? ", trained on a sample of " + r.trainedOn() : "");
            if (restarts > 1) {
                double[] all = r.restartInertia();
                double worst = Arrays.stream(all).filter(v -> !Double.isNaN(v)).max().orElse(Double.NaN);
                out.printf(Locale.ROOT, "restarts: %d, kept run %d (inertia %.6g; the seed's own run %.6g, worst %.6g)%n",
                        restarts, r.restart(), r.inertia(), all[0], worst);
            }
            if (corpusTexts != null) {
                List<String> all = Arrays.asList(corpusTexts);
                SegmentTerms.Named named = naming.encoder(TermOptions.terms(enc)).backend(backend).name(r.labels(),
                        r.distances(), kk, r.centroids(), all, 1);
                String how = termOptions.describe(named, enc);
                List<Segments.Segment> segments = named.segments();
                out.printf(Locale.ROOT, "%3s %12s %8s  %-44s | %s%n", "#", "size", "share", "distinctive terms",
                        "most central text");
                for (Segments.Segment s : segments.subList(0, Math.min(show, segments.size()))) {
                    out.println(Segments.line(s, all, 70));
                }
                if (segments.size() > show) {
                    out.printf(Locale.ROOT, "... %d more clusters (--show)%n", segments.size() - show);
                }
                out.println(how);
            } else {
                printSizes(out, r);
            }
            out.flush();
            write(r, in);
        }
    }

    private KMeans kmeans(int kk) {
        return KMeans.of(kk).seed(seed).iterations(iterations).tolerance(tolerance).trainingSample(sample)
                .restarts(restarts).seedCandidates(seedCandidates);
    }

    private void printSizes(PrintWriter out, KMeansResult r) {
        Integer[] order = new Integer[r.k()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        long[] sizes = r.sizes();
        Arrays.sort(order, (a, b) -> sizes[a] != sizes[b] ? Long.compare(sizes[b], sizes[a]) : Integer.compare(a, b));
        double[] sum = new double[r.k()];
        for (int i = 0; i < r.labels().length; i++) {
            sum[r.labels()[i]] += r.distances()[i];
        }
        long n = r.labels().length;
        out.printf(Locale.ROOT, "%6s %10s %8s %14s%n", "#", "size", "share", "mean distance");
        for (int j = 0; j < Math.min(show, order.length); j++) {
            int c = order[j];
            out.printf(Locale.ROOT, "%6d %10d %7.1f%% %14.5g%n", c, sizes[c], 100.0 * sizes[c] / n,
                    sizes[c] == 0 ? Double.NaN : sum[c] / sizes[c]);
        }
        if (order.length > show) {
            out.printf(Locale.ROOT, "... %d more clusters (--show)%n", order.length - show);
        }
    }

    /** Centroids and assignments, committed together (or neither). */
    private void write(KMeansResult r, VectorInput in) throws java.io.IOException {
        if (centroids == null && assignments == null) {
            return;
        }
        try (OutputSet outputs = new OutputSet()) {
            if (centroids != null) {
                try (Npy.Writer w = Npy.writer(outputs.open(centroids), r.centroids().cols())) {
                    w.append(r.centroids());
                    w.finish();
                }
            }
            if (assignments != null) {
                AtomicOutput a = outputs.open(assignments);
                boolean jsonl = assignments.getFileName().toString().endsWith(".jsonl");
                ObjectMapper json = new ObjectMapper();
                Writer w = new BufferedWriter(Channels.newWriter(a.channel(), StandardCharsets.UTF_8), 1 << 16);
                if (!jsonl) {
                    w.write("id\tcluster\tdistance\n");
                }
                for (int i = 0; i < in.rows(); i++) {
                    if (jsonl) {
                        ObjectNode o = json.createObjectNode();
                        o.put("id", in.ids()[i]);
                        o.put("cluster", r.labels()[i]);
                        o.put("distance", r.distances()[i]);
                        w.write(json.writeValueAsString(o));
                        w.write('\n');
                    } else {
                        w.write(in.ids()[i] + "\t" + r.labels()[i] + "\t" + r.distances()[i] + "\n");
                    }
                }
                w.flush();
            }
            outputs.commit();
        }
    }
}
