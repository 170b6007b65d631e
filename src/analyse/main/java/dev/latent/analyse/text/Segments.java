package dev.latent.analyse.text;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Clusters of a text corpus described so a person can name them: size and share, the most central members
 * (nearest their centroid) and the most distinctive terms by class-based TF-IDF.
 *
 * <p><b>Class-based TF-IDF</b> (the weighting BERTopic popularised): the texts of a cluster are treated as
 * one document; a term's weight in cluster c is {@code tf(t, c) / words(c) · log(1 + A / f(t))}, with
 * {@code A} the mean number of words per cluster and {@code f(t)} the term's count over all clusters. A
 * term frequent in one cluster and rare elsewhere ranks first; one frequent everywhere ranks low. Words come
 * from {@link Terms}. Ties go to the alphabetically first term, so results are deterministic.
 *
 * <p>Stateless; thread-safe.
 */
public final class Segments {
    private Segments() {
    }

    /**
     * One cluster, described.
     *
     * @param cluster cluster index
     * @param size    members
     * @param share   members / all points
     * @param terms   most distinctive terms, best first
     * @param weights their c-TF-IDF weights
     * @param central member indices (into the input), nearest the centroid first
     */
    public record Segment(int cluster, long size, double share, List<String> terms, double[] weights, int[] central) {
    }

    /**
     * Describes every non-empty cluster, largest first (ties by cluster index).
     *
     * @param labels    cluster of each text
     * @param distances each text's distance to its centroid (lower is more central)
     * @param texts     the texts, in the same order
     */
    public static List<Segment> describe(int[] labels, float[] distances, int k, List<String> texts, int topTerms,
            int central) {
        int n = labels.length;
        if (texts.size() != n || distances.length != n) {
            throw new IllegalArgumentException(n + " labels, " + distances.length + " distances and " + texts.size()
                    + " texts: one of each per point is needed");
        }
        List<Map<String, Integer>> tf = new ArrayList<>();
        long[] words = new long[k];
        long[] sizes = new long[k];
        for (int c = 0; c < k; c++) {
            tf.add(new HashMap<>());
        }
        Map<String, Long> total = new HashMap<>();
        try (Terms terms = new Terms()) {
            for (int i = 0; i < n; i++) {
                int c = labels[i];
                sizes[c]++;
                for (String w : terms.of(texts.get(i))) {
                    tf.get(c).merge(w, 1, Integer::sum);
                    total.merge(w, 1L, Long::sum);
                    words[c]++;
                }
            }
        }
        int nonEmpty = 0;
        long allWords = 0;
        for (int c = 0; c < k; c++) {
            if (sizes[c] > 0) {
                nonEmpty++;
                allWords += words[c];
            }
        }
        double a = nonEmpty == 0 ? 0 : (double) allWords / nonEmpty;
        // Members of each cluster, nearest the centroid first.
        List<List<Integer>> members = new ArrayList<>();
        for (int c = 0; c < k; c++) {
            members.add(new ArrayList<>());
        }
        for (int i = 0; i < n; i++) {
            members.get(labels[i]).add(i);
        }
        List<Segment> out = new ArrayList<>();
        for (int c = 0; c < k; c++) {
            if (sizes[c] == 0) {
                continue;
            }
            long wc = Math.max(1, words[c]);
            List<Map.Entry<String, Double>> weighted = new ArrayList<>();
            for (Map.Entry<String, Integer> e : tf.get(c).entrySet()) {
                double w = (double) e.getValue() / wc * Math.log(1 + a / total.get(e.getKey()));
                weighted.add(Map.entry(e.getKey(), w));
            }
            weighted.sort(Comparator.<Map.Entry<String, Double>>comparingDouble(Map.Entry::getValue).reversed()
                    .thenComparing(Map.Entry::getKey));
            int m = Math.min(topTerms, weighted.size());
            List<String> top = new ArrayList<>(m);
            double[] w = new double[m];
            for (int i = 0; i < m; i++) {
                top.add(weighted.get(i).getKey());
                w[i] = weighted.get(i).getValue();
            }
            List<Integer> mem = members.get(c);
            mem.sort(Comparator.<Integer>comparingDouble(i -> distances[i]).thenComparingInt(i -> i));
            int[] cen = mem.stream().limit(central).mapToInt(Integer::intValue).toArray();
            out.add(new Segment(c, sizes[c], (double) sizes[c] / n, List.copyOf(top), w, cen));
        }
        out.sort(Comparator.comparingLong(Segment::size).reversed().thenComparingInt(Segment::cluster));
        return out;
    }

    /**
     * One line per segment: {@code 7  412 texts (8.2 %)  fish, shark, marine, water  | "any of numerous ..."}.
     * The quoted text is the most central member, cut to {@code width} characters.
     */
    public static String line(Segment s, List<String> texts, int width) {
        String central = s.central().length == 0 ? "" : texts.get(s.central()[0]).replaceAll("\\s+", " ");
        if (central.length() > width) {
            central = central.substring(0, Math.max(0, width - 3)) + "...";
        }
        return String.format(Locale.ROOT, "%3d %6d texts (%4.1f %%)  %-44s | \"%s\"", s.cluster(), s.size(),
                100 * s.share(), String.join(", ", s.terms()), central);
    }
}
