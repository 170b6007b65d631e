package dev.latent.analyse.text;

import java.util.List;
import java.util.Locale;

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
 * <p>{@link #describe} names segments by c-TF-IDF alone; {@link SegmentTerms} adds a filter for terms common to
 * most segments and, with the corpus's text encoder, re-ranks the candidates by their similarity to the
 * segment's centroid and diversifies them (maximal marginal relevance).
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
     * @param weights their c-TF-IDF weights (descending unless re-ranked by {@link SegmentTerms})
     * @param central member indices (into the input), nearest the centroid first
     */
    public record Segment(int cluster, long size, double share, List<String> terms, double[] weights, int[] central) {
    }

    /**
     * Describes every non-empty cluster, largest first (ties by cluster index), by its best c-TF-IDF terms (no
     * filter, no re-ranking: {@code SegmentTerms.of(topTerms).commonShare(1)}).
     *
     * @param labels    cluster of each text
     * @param distances each text's distance to its centroid (lower is more central)
     * @param texts     the texts, in the same order
     */
    public static List<Segment> describe(int[] labels, float[] distances, int k, List<String> texts, int topTerms,
            int central) {
        return SegmentTerms.of(topTerms).commonShare(1).describe(labels, distances, k, null, texts, central);
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
