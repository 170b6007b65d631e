package dev.latent.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.latent.analyse.KMeans;
import dev.latent.analyse.KMeansResult;
import dev.latent.analyse.text.SegmentTerms;
import dev.latent.analyse.text.Segments;
import dev.latent.analyse.text.TermEncoder;
import dev.latent.analyse.text.Terms;
import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.encode.text.TextEncoder;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Segment names compared on one clustering: class-based TF-IDF alone, with the common-term filter, and re-ranked
 * with maximal marginal relevance at several λ. Per variant, averaged over the segments' terms:
 * <ul>
 *   <li><b>coverage</b>: share of a segment's texts that hold at least one of its terms (text only);</li>
 *   <li><b>exclusivity</b>: share of the texts holding a term that lie in the segment it names (text only);</li>
 *   <li><b>relevance</b>: cosine of a term's embedding to its segment's centroid (what re-ranking maximises);</li>
 *   <li><b>redundancy</b>: mean cosine between the terms of one segment (what MMR lowers);</li>
 *   <li><b>shared</b>: terms that name more than one segment.</li>
 * </ul>
 * Quality only, no timing.
 *
 * <pre>
 *   java -cp target/latent.jar:target/lib/* dev.latent.bench.SegmentTermsBench vectors.npy corpus.jsonl -k 12
 * </pre>
 */
@Command(name = "segment-terms-bench", mixinStandardHelpOptions = true,
        description = "Segment names by c-TF-IDF, the filter and MMR re-ranking, with coverage, exclusivity, relevance "
                + "and redundancy.")
public final class SegmentTermsBench implements Callable<Integer> {
    @Parameters(index = "0", description = "vectors, .npy (the corpus embedded in order, cosine)")
    Path vectors;

    @Parameters(index = "1", description = "the corpus, JSONL with a \"text\" per line")
    Path corpus;

    @Option(names = {"-k"}, defaultValue = "12", split = ",", description = "clusters (default 12; several: 12,24)")
    int[] ks;

    @Option(names = "--diversity", defaultValue = "0,0.1,0.3,0.5,0.7", split = ",", description = "λ values re-ranked with")
    double[] lambdas;

    @Option(names = "--terms", defaultValue = "5", description = "terms per segment (default 5)")
    int terms;

    @Option(names = "--model", description = "text model (default: the manifest's default)")
    String model;

    @Option(names = "--seed", defaultValue = "42", description = "k-means seed (default 42)")
    long seed;

    public static void main(String[] args) {
        System.exit(new CommandLine(new SegmentTermsBench()).execute(args));
    }

    @Override
    public Integer call() throws IOException {
        PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
        List<String> texts = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        for (String line : Files.readAllLines(corpus, StandardCharsets.UTF_8)) {
            if (!line.isBlank()) {
                texts.add(json.readTree(line).get("text").asText());
            }
        }
        List<Set<String>> words = new ArrayList<>(texts.size());
        try (Terms t = new Terms()) {
            for (String s : texts) {
                words.add(new HashSet<>(t.of(s)));
            }
        }
        Backend backend = Backends.get();
        try (FloatMatrix x = Npy.read(vectors);
             TextEncoder enc = TextEncoder.builder().model(model != null ? model : TextEncoder.defaultModel()).build()) {
            if (x.rows() != texts.size()) {
                throw new IllegalArgumentException(vectors + " has " + x.rows() + " rows for " + texts.size() + " texts");
            }
            out.printf(Locale.ROOT, "%d texts, dimension %d, model %s, backend %s%n", texts.size(), x.cols(),
                    enc.modelName(), backend.name());
            for (int k : ks) {
                try (KMeansResult km = KMeans.of(k).seed(seed).backend(backend).fit(x, Metric.COSINE)) {
                    Map<String, SegmentTerms> variants = new LinkedHashMap<>();
                    variants.put("c-TF-IDF", SegmentTerms.of(terms).commonShare(1));
                    variants.put("+ filter", SegmentTerms.of(terms));
                    for (double l : lambdas) {
                        variants.put(String.format(Locale.ROOT, "+ re-rank, MMR λ %.1f", l),
                                SegmentTerms.of(terms).encoder(TermEncoder.of(enc::encode, enc.dimension())).diversity(l).backend(backend));
                    }
                    out.printf(Locale.ROOT, "%nk = %d (seed %d)%n", k, seed);
                    out.printf(Locale.ROOT, "| %-24s | %8s | %11s | %9s | %10s | %6s |%n", "names", "coverage",
                            "exclusivity", "relevance", "redundancy", "shared");
                    out.println("|---|---|---|---|---|---|");
                    for (Map.Entry<String, SegmentTerms> v : variants.entrySet()) {
                        List<Segments.Segment> segs = v.getValue().describe(km.labels(), km.distances(), k,
                                km.centroids(), texts, 1);
                        score(out, v.getKey(), segs, km, words, enc);
                    }
                }
            }
        }
        return 0;
    }

    private static void score(PrintWriter out, String name, List<Segments.Segment> segs, KMeansResult km,
            List<Set<String>> words, TextEncoder enc) {
        int[] labels = km.labels();
        Map<String, Integer> docsWith = new HashMap<>();
        for (Set<String> w : words) {
            for (String t : w) {
                docsWith.merge(t, 1, Integer::sum);
            }
        }
        TreeMap<String, Integer> unique = new TreeMap<>();
        Map<String, Integer> uses = new HashMap<>();
        for (Segments.Segment s : segs) {
            for (String t : s.terms()) {
                unique.putIfAbsent(t, 0);
                uses.merge(t, 1, Integer::sum);
            }
        }
        List<String> all = new ArrayList<>(unique.keySet());
        for (int i = 0; i < all.size(); i++) {
            unique.put(all.get(i), i);
        }
        double coverage = 0;
        double exclusivity = 0;
        double relevance = 0;
        double redundancy = 0;
        int nTerms = 0;
        int nPairs = 0;
        try (FloatMatrix e = enc.encode(all)) {
            for (Segments.Segment s : segs) {
                int c = s.cluster();
                long covered = 0;
                for (int i = 0; i < labels.length; i++) {
                    if (labels[i] == c && s.terms().stream().anyMatch(words.get(i)::contains)) {
                        covered++;
                    }
                }
                coverage += (double) covered / s.size();
                float[] centre = km.centroids().getRow(c);
                for (int a = 0; a < s.terms().size(); a++) {
                    String t = s.terms().get(a);
                    long inSeg = 0;
                    for (int i = 0; i < labels.length; i++) {
                        if (labels[i] == c && words.get(i).contains(t)) {
                            inSeg++;
                        }
                    }
                    exclusivity += (double) inSeg / docsWith.getOrDefault(t, 1);
                    float[] v = e.getRow(unique.get(t));
                    relevance += cos(v, centre);
                    nTerms++;
                    for (int b = a + 1; b < s.terms().size(); b++) {
                        redundancy += cos(v, e.getRow(unique.get(s.terms().get(b))));
                        nPairs++;
                    }
                }
            }
        }
        long shared = uses.values().stream().filter(n -> n > 1).count();
        out.printf(Locale.ROOT, "| %-24s | %8.3f | %11.3f | %9.3f | %10.3f | %6d |%n", name, coverage / segs.size(),
                exclusivity / nTerms, relevance / nTerms, nPairs == 0 ? 0 : redundancy / nPairs, shared);
    }

    private static double cos(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
