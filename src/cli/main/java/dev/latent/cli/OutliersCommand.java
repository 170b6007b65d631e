package dev.latent.cli;

import dev.latent.corpus.Corpus;
import dev.latent.job.VectorInput;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.latent.analyse.KMeans;
import dev.latent.analyse.KMeansResult;
import dev.latent.analyse.Outliers;
import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.space.AtomicOutput;
import java.io.BufferedWriter;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code latent outliers}: anomaly scores of vectors against a reference set, the most unusual listed. */
@Command(name = "outliers", mixinStandardHelpOptions = true,
        header = "Score how far vectors lie outside a reference set.",
        description = {"Score how far vectors lie outside a reference set (.lidx or .npy) and list the most unusual.",
                "Without --batch the reference scores itself (each point left out of its own neighbours); the "
                        + "threshold is a quantile of the reference's own scores (--quantile, or --contamination)."})
final class OutliersCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "REFERENCE", description = "The reference vectors: an index file (.lidx) or .npy.")
    Path reference;

    @Option(names = "--batch", paramLabel = "VECTORS", description = "New vectors to score against the reference (.lidx or .npy; default: the reference itself).")
    Path batch;

    @Option(names = "--score", defaultValue = "knn", description = "knn (distance to the k-th neighbour; the default, best on planted anomalies), mean-knn, centroid (distance to the nearest k-means centroid over that cluster's typical radius) or lof (local outlier factor).")
    String score;

    @Option(names = "-k", defaultValue = "10", description = "Neighbours per score (default: ${DEFAULT-VALUE}).")
    int k;

    @Option(names = "--clusters", paramLabel = "K", defaultValue = "0", description = "k-means clusters of the reference for --score centroid (default: sqrt(n/2), at most 256).")
    int clusters;

    @Option(names = "--quantile", paramLabel = "Q", description = "Threshold: this quantile of the reference's own scores (default 0.99).")
    Double quantile;

    @Option(names = "--contamination", paramLabel = "C", description = "Threshold: the share of the reference expected to be outliers (quantile 1 - C).")
    Double contamination;

    @Option(names = "--top", defaultValue = "20", description = "Outliers listed, most unusual first (default: ${DEFAULT-VALUE}); from 3, the first "
            + "ones (at most " + Outliers.GROUP_EXAMINED + ") are checked for forming a group of their own.")
    int top;

    @Option(names = "--metric", paramLabel = "METRIC", description = "For .npy input: cosine, ip or l2 (default cosine).")
    String metric;

    @Option(names = "--ids", paramLabel = "FILE", description = "For .npy reference: ids, one integer per line.")
    Path ids;

    @Option(names = "--batch-ids", paramLabel = "FILE", description = "For an .npy batch: ids, one integer per line.")
    Path batchIds;

    @Option(names = "--corpus", paramLabel = "FILE", description = "Corpus of the scored vectors (the batch's, else the reference's): adds their texts.")
    Path corpus;

    @Option(names = "--corpus-format", paramLabel = "FMT", defaultValue = "auto", description = "auto, text or jsonl.")
    String corpusFormat;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", converter = OutputFile.class, description = "Write every score: id, score, outlier (.jsonl: JSON lines, else TSV).")
    Path output;

    @Mixin
    QuietOption quietOption = new QuietOption();


    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        Outliers.Score kind;
        try {
            kind = Outliers.Score.parse(score);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
        if (quantile != null && contamination != null) {
            throw new CommandLine.ParameterException(cl, "give --quantile or --contamination, not both");
        }
        double q = contamination != null ? 1 - contamination : quantile != null ? quantile : 0.99;
        if (!(q >= 0 && q <= 1)) {
            throw new CommandLine.ParameterException(cl, "--quantile and --contamination must be within [0, 1]");
        }
        if (k < 1 || top < 0 || clusters < 0) {
            throw new CommandLine.ParameterException(cl, "-k must be >= 1, --top and --clusters >= 0");
        }
        new FileRoles()
                .input("reference vectors", reference)
                .input("batch vectors (--batch)", batch)
                .input("ids input (--ids)", ids)
                .input("batch ids input (--batch-ids)", batchIds)
                .input("input corpus (--corpus)", corpus)
                .output("scores output (-o)", output)
                .check(cl);
        Corpus texts = VectorOptions.corpus(cl, corpus, corpusFormat);
        Backend backend = Backends.get();
        long start = System.nanoTime();
        try (VectorInput ref = VectorOptions.open(reference, metric, ids, cl);
             VectorInput scored = batch == null ? null : VectorOptions.open(batch, metric, batchIds, cl)) {
            VectorInput target = scored != null ? scored : ref;
            if (target.vectors().cols() != ref.vectors().cols()) {
                throw new CommandLine.ParameterException(cl, batch + " has dimension " + target.vectors().cols()
                        + ", the reference " + ref.vectors().cols());
            }
            String[] targetTexts = target.textsOrRecords(texts);
            KMeansResult fitted = null;
            if (kind == Outliers.Score.CENTROID && clusters > 0) {
                try {
                    fitted = KMeans.of(clusters).backend(backend).fit(ref.vectors(), ref.metric());
                } catch (IllegalArgumentException e) {
                    throw new CommandLine.ParameterException(cl, e.getMessage());
                }
            }
            float[] refScores;
            float[] scores;
            Outliers o;
            try {
                o = Outliers.of(ref.vectors(), ref.metric(), k, fitted, backend);
            } catch (IllegalArgumentException e) {
                if (fitted != null) {
                    fitted.close();
                }
                throw new CommandLine.ParameterException(cl, e.getMessage());
            }
            Outliers.Group group;
            try (o) {
                refScores = o.scoreReference(kind);
                scores = scored == null ? refScores : o.score(scored.vectors(), kind);
                group = top < 3 ? null : scored == null ? o.groupInReference(scores, top)
                        : o.group(scored.vectors(), scores, top);
            }
            double threshold = Outliers.threshold(refScores, q);
            int above = 0;
            for (float s : scores) {
                if (s > threshold) {
                    above++;
                }
            }
            if (output != null) {
                write(target, scores, threshold);
            }
            if (!quietOption.quiet) {
                PrintWriter out = cl.getOut();
                out.printf(Locale.ROOT, "%s scores (k = %d, %s) of %d vectors against %d reference vectors in %.2f s on %s%n",
                        kind.name().toLowerCase(Locale.ROOT).replace('_', '-'), k,
                        ref.metric().name().toLowerCase(Locale.ROOT), target.rows(), ref.rows(),
                        (System.nanoTime() - start) / 1e9, backend.name());
                out.printf(Locale.ROOT, "threshold %.6g (quantile %.4g of the reference's own scores): %d of %d above (%.2f %%)%n",
                        threshold, q, above, scores.length, 100.0 * above / Math.max(1, scores.length));
                int[] best = Outliers.top(scores, top);
                if (best.length > 0) {
                    out.printf(Locale.ROOT, "%5s %14s %12s  %s%n", "rank", "id", "score", targetTexts == null ? "" : "text");
                }
                for (int i = 0; i < best.length; i++) {
                    int p = best[i];
                    String text = targetTexts == null ? "" : cut(targetTexts[p], 90);
                    out.printf(Locale.ROOT, "%5d %14d %12.5g  %s%n", i + 1, target.ids()[p], scores[p], text);
                }
                out.flush();
            }
            if (group != null && group.tight()) {
                cl.getErr().printf(Locale.ROOT, "warning: %d of the top %d outliers have their nearest neighbour among "
                        + "the top %d: they form a group of their own (median distance to the nearest in the group %.3g; "
                        + "typical %d-th neighbour distance in the reference %.3g). A group of similar unusual points "
                        + "scores low on lof, and on knn when it holds more than k points: look at them together, "
                        + "and try -k above the group's size.%n", group.grouped(), group.examined(), group.examined(),
                        group.spread(), k, group.typical());
                cl.getErr().flush();
            }
        }
        return Main.OK;
    }

    private static String cut(String s, int width) {
        String t = s.replaceAll("\\s+", " ");
        return t.length() <= width ? t : t.substring(0, width - 3) + "...";
    }

    private void write(VectorInput target, float[] scores, double threshold) throws java.io.IOException {
        try (AtomicOutput a = AtomicOutput.open(output)) {
            boolean jsonl = output.getFileName().toString().endsWith(".jsonl");
            ObjectMapper json = new ObjectMapper();
            Writer w = new BufferedWriter(Channels.newWriter(a.channel(), StandardCharsets.UTF_8), 1 << 16);
            if (!jsonl) {
                w.write("id\tscore\toutlier\n");
            }
            for (int i = 0; i < scores.length; i++) {
                boolean out = scores[i] > threshold;
                if (jsonl) {
                    ObjectNode o = json.createObjectNode();
                    o.put("id", target.ids()[i]);
                    o.put("score", scores[i]);
                    o.put("outlier", out);
                    w.write(json.writeValueAsString(o));
                    w.write('\n');
                } else {
                    w.write(target.ids()[i] + "\t" + scores[i] + "\t" + out + "\n");
                }
            }
            w.flush();
            a.commit();
        }
    }
}
