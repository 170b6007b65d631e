package dev.latent.analyse.text;

import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.compute.ResidentMatrix;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The terms that name segments: class-based TF-IDF proposes each segment's candidates, a corpus-level filter drops
 * terms common to most segments, and, given an encoder, the candidates are re-ranked by how close their embedding
 * lies to the segment's centroid and diversified by maximal marginal relevance (the refinement BERTopic offers as
 * {@code KeyBERTInspired} and {@code MaximalMarginalRelevance}).
 *
 * <ol>
 *   <li><b>Candidates</b>: every term of a segment weighted by class-based TF-IDF ({@link Segments}); the best
 *       {@link #candidates(int)} (30) are the segment's candidates.</li>
 *   <li><b>Common-term filter</b>: a term held by at least {@link #commonDf(double)} (1 %) of the texts of more
 *       than {@link #commonShare(double)} (half) of the non-empty segments, and of at least two, says nothing
 *       about any one of them ("used", "usually", "one", "something" in WordNet's glosses) and is dropped
 *       everywhere; the candidates are then the best {@code candidates} terms left.</li>
 *   <li><b>Re-ranking</b> (with an encoder): the unique candidate terms of all segments are encoded in one call
 *       (use the model that embedded the corpus: the centroids must live in its space), and each candidate is
 *       scored by the cosine similarity of its embedding to the segment's centroid.</li>
 *   <li><b>Maximal marginal relevance</b>: the most similar candidate first, then repeatedly the candidate
 *       maximising {@code (1 − λ) · cos(term, centroid) − λ · max cos(term, chosen)}, BERTopic's formula with
 *       its {@code diversity} as λ ({@link #diversity(double)}, default 0.3; 0 ranks by similarity alone, 1
 *       only avoids what was chosen).</li>
 * </ol>
 * Without an encoder the names are the best c-TF-IDF terms left by the filter. The similarities are the compute
 * backend's: per segment, its candidates are a small resident cosine matrix, scored against the centroid and
 * against themselves in one {@link ResidentMatrix#distances} call (so it runs on CUDA as the rest does). Ties go
 * to the better c-TF-IDF candidate, so results are deterministic for a given encoder.
 *
 * <p>A settings holder: configure, then {@link #describe}; not thread-safe while configured. The encoder and
 * backend stay the caller's.
 */
public final class SegmentTerms {
    /** Candidates per segment by default. */
    public static final int DEFAULT_CANDIDATES = 30;
    /** The MMR diversity λ by default. */
    public static final double DEFAULT_DIVERSITY = 0.3;
    /** The common-term filter's share of segments by default. */
    public static final double DEFAULT_COMMON_SHARE = 0.5;
    /** The common-term filter's share of a segment's texts by default. */
    public static final double DEFAULT_COMMON_DF = 0.01;

    private final int terms;
    private int candidates = DEFAULT_CANDIDATES;
    private double diversity = DEFAULT_DIVERSITY;
    private double commonShare = DEFAULT_COMMON_SHARE;
    private double commonDf = DEFAULT_COMMON_DF;
    private TermEncoder encoder;
    private Backend backend;

    private SegmentTerms(int terms) {
        this.terms = terms;
    }

    /**
     * Settings naming each segment by {@code terms} terms, with the defaults: 30 candidates, the common-term filter
     * at half the segments, no encoder (c-TF-IDF and the filter only).
     *
     * @throws IllegalArgumentException for {@code terms < 0}
     */
    public static SegmentTerms of(int terms) {
        if (terms < 0) {
            throw new IllegalArgumentException("terms per segment must be >= 0, got " + terms);
        }
        return new SegmentTerms(terms);
    }

    /** Candidates per segment (default 30; at least the terms asked for are used). */
    public SegmentTerms candidates(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("candidates per segment must be >= 1, got " + n);
        }
        this.candidates = n;
        return this;
    }

    /** The MMR diversity λ in [0, 1] (default 0.3). */
    public SegmentTerms diversity(double lambda) {
        if (!(lambda >= 0 && lambda <= 1)) {
            throw new IllegalArgumentException("diversity must be in [0, 1], got " + lambda);
        }
        this.diversity = lambda;
        return this;
    }

    /**
     * Drops terms frequent (see {@link #commonDf(double)}) in more than this share of the segments (and in at least
     * two); in (0, 1], 1 turning the filter off (default 0.5).
     */
    public SegmentTerms commonShare(double share) {
        if (!(share > 0 && share <= 1)) {
            throw new IllegalArgumentException("common-term share must be in (0, 1] (1: no filter), got " + share);
        }
        this.commonShare = share;
        return this;
    }

    /**
     * A term is frequent in a segment when at least this share of the segment's texts hold it; in (0, 1]
     * (default 0.01).
     */
    public SegmentTerms commonDf(double share) {
        if (!(share > 0 && share <= 1)) {
            throw new IllegalArgumentException("common-term document frequency must be in (0, 1], got " + share);
        }
        this.commonDf = share;
        return this;
    }

    /**
     * The encoder the candidates are re-ranked with (the text model that embedded the corpus, adapted with
     * {@link TermEncoder#of}), or null for none (default).
     */
    public SegmentTerms encoder(TermEncoder e) {
        this.encoder = e;
        return this;
    }

    /** The backend of the similarities (default {@link Backends#get()}). */
    public SegmentTerms backend(Backend b) {
        this.backend = b;
        return this;
    }

    /** Whether candidates are re-ranked (an encoder was given). */
    public boolean reranks() {
        return encoder != null;
    }

    /**
     * Describes every non-empty cluster, largest first (ties by cluster index), as {@link Segments#describe}
     * does, with the terms chosen by these settings.
     *
     * @param labels    cluster of each text, in {@code [0, k)}
     * @param distances each text's distance to its centroid (lower is more central)
     * @param k         clusters
     * @param centroids the k centroids ({@code k × d}, in the encoder's space), or null without an encoder
     * @param texts     the texts, in the same order
     * @param central   central members kept per segment
     * @throws IllegalArgumentException for inputs of different lengths, a label outside {@code [0, k)}, or with an
     *                                  encoder, missing centroids, centroids other than k rows or of another
     *                                  dimension than the encoder's
     */
    public List<Segments.Segment> describe(int[] labels, float[] distances, int k, FloatMatrix centroids,
            List<String> texts, int central) {
        return name(labels, distances, k, centroids, texts, central).segments();
    }

    /**
     * The segments described (as {@link #describe}) and the common terms the filter dropped.
     *
     * @param segments every non-empty cluster, largest first
     * @param common   the terms dropped as common to most segments, alphabetical
     */
    public record Named(List<Segments.Segment> segments, List<String> common) {
    }

    /** {@link #describe}, with the terms the common-term filter dropped; same arguments and errors. */
    public Named name(int[] labels, float[] distances, int k, FloatMatrix centroids, List<String> texts,
            int central) {
        int n = labels.length;
        if (texts.size() != n || distances.length != n) {
            throw new IllegalArgumentException(n + " labels, " + distances.length + " distances and " + texts.size()
                    + " texts: one of each per point is needed");
        }
        for (int i = 0; i < n; i++) {
            if (labels[i] < 0 || labels[i] >= k) {
                throw new IllegalArgumentException("label " + labels[i] + " of point " + i + " is outside [0, " + k + ")");
            }
        }
        if (encoder != null) {
            if (centroids == null) {
                throw new IllegalArgumentException("re-ranking terms needs the segments' centroids");
            }
            if (centroids.rows() != k) {
                throw new IllegalArgumentException(centroids.rows() + " centroids for " + k + " clusters");
            }
            if (centroids.cols() != encoder.dimension()) {
                throw new IllegalArgumentException("the centroids have dimension " + centroids.cols() + " but the "
                        + "term encoder gives " + encoder.dimension()
                        + ": encode the terms with the model that embedded the corpus");
            }
        }
        Ranked ranked = rank(labels, k, texts, commonDf);
        List<String> common = common(ranked, commonShare);
        List<List<Weighted>> chosen = candidates(ranked, common, encoder != null ? Math.max(candidates, terms) : terms);
        if (encoder != null) {
            chosen = rerank(chosen, centroids);
        }
        List<List<Integer>> members = new ArrayList<>();
        for (int c = 0; c < k; c++) {
            members.add(new ArrayList<>());
        }
        for (int i = 0; i < n; i++) {
            members.get(labels[i]).add(i);
        }
        List<Segments.Segment> out = new ArrayList<>();
        for (int c = 0; c < k; c++) {
            if (ranked.sizes[c] == 0) {
                continue;
            }
            List<Weighted> top = chosen.get(c);
            int m = Math.min(terms, top.size());
            List<String> names = new ArrayList<>(m);
            double[] w = new double[m];
            for (int i = 0; i < m; i++) {
                names.add(top.get(i).term());
                w[i] = top.get(i).weight();
            }
            List<Integer> mem = members.get(c);
            mem.sort(Comparator.<Integer>comparingDouble(i -> distances[i]).thenComparingInt(i -> i));
            int[] cen = mem.stream().limit(central).mapToInt(Integer::intValue).toArray();
            out.add(new Segments.Segment(c, ranked.sizes[c], (double) ranked.sizes[c] / n, List.copyOf(names), w, cen));
        }
        out.sort(Comparator.comparingLong(Segments.Segment::size).reversed().thenComparingInt(Segments.Segment::cluster));
        return new Named(List.copyOf(out), List.copyOf(common));
    }

    /** A term and its c-TF-IDF weight in one segment. */
    record Weighted(String term, double weight) {
    }

    /**
     * Every segment's terms by c-TF-IDF, best first (ties alphabetical), the segment sizes, and for every term the
     * number of segments in which at least {@code commonDf} of the texts hold it.
     */
    record Ranked(List<List<Weighted>> terms, long[] sizes, Map<String, Integer> frequentIn) {
    }

    /** Class-based TF-IDF of every term of every cluster (see {@link Segments}). */
    static Ranked rank(int[] labels, int k, List<String> texts, double commonDf) {
        int n = labels.length;
        List<Map<String, Integer>> tf = new ArrayList<>();
        List<Map<String, Integer>> df = new ArrayList<>();
        long[] words = new long[k];
        long[] sizes = new long[k];
        for (int c = 0; c < k; c++) {
            tf.add(new HashMap<>());
            df.add(new HashMap<>());
        }
        Map<String, Long> total = new HashMap<>();
        try (Terms t = new Terms()) {
            for (int i = 0; i < n; i++) {
                int c = labels[i];
                sizes[c]++;
                List<String> ws = t.of(texts.get(i));
                for (String w : ws) {
                    tf.get(c).merge(w, 1, Integer::sum);
                    total.merge(w, 1L, Long::sum);
                    words[c]++;
                }
                for (String w : new java.util.HashSet<>(ws)) {
                    df.get(c).merge(w, 1, Integer::sum);
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
        List<List<Weighted>> out = new ArrayList<>(k);
        Map<String, Integer> frequentIn = new TreeMap<>();
        for (int c = 0; c < k; c++) {
            long wc = Math.max(1, words[c]);
            List<Weighted> weighted = new ArrayList<>(tf.get(c).size());
            for (Map.Entry<String, Integer> e : tf.get(c).entrySet()) {
                weighted.add(new Weighted(e.getKey(),
                        (double) e.getValue() / wc * Math.log(1 + a / total.get(e.getKey()))));
            }
            weighted.sort(Comparator.comparingDouble(Weighted::weight).reversed().thenComparing(Weighted::term));
            out.add(weighted);
            for (Map.Entry<String, Integer> e : df.get(c).entrySet()) {
                if (e.getValue() >= commonDf * sizes[c]) {
                    frequentIn.merge(e.getKey(), 1, Integer::sum);
                }
            }
        }
        return new Ranked(out, sizes, frequentIn);
    }

    /**
     * The terms held by at least the rank's {@code commonDf} of the texts in more than {@code commonShare} of the
     * non-empty segments, and in at least two, in alphabetical order.
     */
    static List<String> common(Ranked ranked, double commonShare) {
        int nonEmpty = 0;
        for (long size : ranked.sizes) {
            if (size > 0) {
                nonEmpty++;
            }
        }
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Integer> e : ranked.frequentIn.entrySet()) {
            if (e.getValue() >= 2 && e.getValue() > commonShare * nonEmpty) {
                out.add(e.getKey());
            }
        }
        return out;
    }

    /** Each segment's best {@code m} terms once the common terms are dropped. */
    private static List<List<Weighted>> candidates(Ranked ranked, List<String> common, int m) {
        java.util.Set<String> drop = new java.util.HashSet<>(common);
        List<List<Weighted>> out = new ArrayList<>();
        for (List<Weighted> t : ranked.terms) {
            List<Weighted> kept = new ArrayList<>(m);
            for (Weighted w : t) {
                if (kept.size() == m) {
                    break;
                }
                if (!drop.contains(w.term())) {
                    kept.add(w);
                }
            }
            out.add(kept);
        }
        return out;
    }

    /** Every segment's candidates re-ranked by similarity to its centroid and MMR, all unique terms encoded once. */
    private List<List<Weighted>> rerank(List<List<Weighted>> cands, FloatMatrix centroids) {
        TreeMap<String, Integer> unique = new TreeMap<>();
        for (List<Weighted> t : cands) {
            for (Weighted w : t) {
                unique.putIfAbsent(w.term(), 0);
            }
        }
        if (unique.isEmpty()) {
            return cands;
        }
        List<String> words = new ArrayList<>(unique.keySet());
        for (int i = 0; i < words.size(); i++) {
            unique.put(words.get(i), i);
        }
        Backend b = backend != null ? backend : Backends.get();
        int d = centroids.cols();
        List<List<Weighted>> out = new ArrayList<>(cands.size());
        try (FloatMatrix vectors = encoder.encode(words)) {
            if (vectors.rows() != words.size() || vectors.cols() != d) {
                throw new IllegalStateException("the encoder gave " + vectors.rows() + " × " + vectors.cols()
                        + " vectors for " + words.size() + " terms of dimension " + d);
            }
            for (int c = 0; c < cands.size(); c++) {
                List<Weighted> t = cands.get(c);
                float[] centre = centroids.getRow(c);
                if (t.size() < 2 || !nonZero(centre)) {
                    out.add(t); // nothing to reorder, or no direction to compare with: c-TF-IDF order
                    continue;
                }
                int m = t.size();
                float[][] sim = new float[m + 1][m];
                try (FloatMatrix rows = FloatMatrix.allocate(m, d); FloatMatrix queries = FloatMatrix.allocate(m + 1, d);
                        FloatMatrix scores = FloatMatrix.allocate(m + 1, m)) {
                    queries.setRow(0, centre);
                    for (int i = 0; i < m; i++) {
                        float[] v = vectors.getRow(unique.get(t.get(i).term()));
                        rows.setRow(i, v);
                        queries.setRow(i + 1, v);
                    }
                    try (ResidentMatrix r = b.upload(rows, Metric.COSINE)) {
                        r.distances(queries, 0, m, scores);
                    }
                    for (int i = 0; i <= m; i++) {
                        scores.getRow(i, sim[i]);
                    }
                }
                int[] order = mmr(sim[0], Arrays.copyOfRange(sim, 1, m + 1), Math.min(terms, m), diversity);
                List<Weighted> picked = new ArrayList<>(order.length);
                for (int i : order) {
                    picked.add(t.get(i));
                }
                out.add(picked);
            }
        }
        return out;
    }

    private static boolean nonZero(float[] v) {
        for (float x : v) {
            if (x != 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * Maximal marginal relevance (BERTopic's {@code mmr}): the candidate most similar to the centroid, then
     * {@code count − 1} times the candidate maximising {@code (1 − λ) · toCentroid − λ · max similarity to those
     * chosen}; ties to the lower index.
     *
     * @param toCentroid each candidate's similarity to the centroid
     * @param pairwise   the candidates' similarities to each other ({@code m × m})
     * @return the indices chosen, in the order chosen
     */
    static int[] mmr(float[] toCentroid, float[][] pairwise, int count, double lambda) {
        int m = toCentroid.length;
        count = Math.min(count, m);
        int[] chosen = new int[count];
        boolean[] used = new boolean[m];
        double[] closest = new double[m]; // max similarity to a chosen candidate
        Arrays.fill(closest, Double.NEGATIVE_INFINITY);
        for (int s = 0; s < count; s++) {
            int best = -1;
            double bestScore = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < m; i++) {
                if (used[i]) {
                    continue;
                }
                double score = s == 0 ? toCentroid[i] : (1 - lambda) * toCentroid[i] - lambda * closest[i];
                if (best < 0 || score > bestScore) {
                    best = i;
                    bestScore = score;
                }
            }
            chosen[s] = best;
            used[best] = true;
            for (int i = 0; i < m; i++) {
                closest[i] = Math.max(closest[i], pairwise[i][best]);
            }
        }
        return chosen;
    }
}
