package dev.latent.index;

import dev.latent.analyse.KMeans;
import dev.latent.compute.Backend;
import dev.latent.compute.ScanParams;
import dev.latent.compute.TooManyResultsException;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.core.SearchResult;
import dev.latent.core.Vectors;
import dev.latent.space.AtomicOutput;
import dev.latent.space.Record;
import dev.latent.space.VectorSet;
import dev.latent.space.format.IndexFile;
import dev.latent.space.format.IndexHeader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An inverted-file (IVF) vector index: the stored vectors are split into {@link #lists()} lists by their
 * nearest of as many k-means centroids, and a search scores only the lists whose centroids are nearest the
 * query ({@code nprobe} of them), exactly, through the compute {@link Backend} (the native CPU kernels, CUDA or
 * plain Java), as FAISS's {@code IndexIVFFlat}. Approximate: a true neighbour in a list that is not probed is
 * missed; probing every list gives exactly the answer of a {@link FlatIndex} over the same vectors.
 *
 * <pre>{@code
 * try (IvfIndex index = IvfIndex.build(ids, vectors, Metric.COSINE, 0, 42, null)) {   // 0: defaultLists(n)
 *     Neighbors nb = index.search(queries, 10);                                     // default nprobe
 *     SearchResult more = index.search(queries, SearchParams.topK(10).nprobe(32));  // higher recall
 * }
 * }</pre>
 *
 * <p><b>Training.</b> {@link #train} fits the centroids with {@link KMeans} (k-means++ seeding, a fixed seed
 * gives the same centroids on one backend) on at most {@value #TRAINING_POINTS_PER_LIST} points per list,
 * drawn at random when the sample is larger (as FAISS does); a single list needs no clustering. Under cosine and inner product the centroids are
 * fitted to the vectors' directions (spherical k-means: unit-length centroids); under L2 they are means. A
 * row's list is its nearest centroid under the index's metric (for inner product with unit centroids, the
 * centroid nearest in direction); {@link #add} places new vectors the same way ({@link Backend#assign}).
 *
 * <p><b>Searching.</b> A top-k search finds each query's {@code nprobe} nearest centroids (an exact search of
 * the queries against the resident centroids), gathers those lists' rows into a candidate list per query and
 * scores them with one call of the backend ({@link ScanParams#candidates}); a batch of 16 or more queries instead
 * hands the backend every list and each query's probes ({@link dev.latent.compute.ResidentMatrix#searchGrouped},
 * or with 8-bit codes {@link dev.latent.compute.ResidentCodes#searchGrouped} for the coarse step), so that a
 * backend can score each probed list once for all its queries. {@code nprobe} comes from
 * {@link SearchParams#nprobe} or, at 0, {@link #nprobe()} (default {@link #defaultNprobe(int)}). A range
 * search and a search restricted to {@link SearchParams#allowedIds} are exact over all rows (or the allowed
 * ones), as in {@link FlatIndex}. A device failure is answered on the host, as {@link FlatIndex} does.
 *
 * <p><b>Memory.</b> {@code 4·d + 8 + 4} bytes per vector (float32 row, 64-bit id, 32-bit list), in memory and in
 * the file, plus the centroids ({@code 4·d} bytes per list); in memory also the id map, as {@link FlatIndex}, and
 * each list's row numbers (4 bytes per vector); on a GPU the rows and centroids are resident there too.
 *
 * <p><b>Thread safety.</b> As {@link FlatIndex}: any number of threads may search, save or read concurrently;
 * {@link #add}, {@link #remove} and {@link #close()} are exclusive. A save pins the rows and the list labels
 * under the lock in O(1) and writes without it. Use after close throws {@link IllegalStateException}.
 *
 * <p><b>Ownership.</b> The index owns its rows, centroids and resident copies, freed by {@link #close()}
 * (idempotent); the backend is not closed (it may be shared). Inputs ({@code vectors}, {@code queries}) stay
 * the caller's.
 *
 * <p><b>File format</b>: the flat layout plus the list count, the centroids and each row's list, under the same
 * checksum (kind {@code ivf}, see docs/file-format.md and {@link IndexFile}).
 */
public final class IvfIndex extends StoredIndex {
    /** Most training points per list: a larger sample is sub-sampled to this many per centroid. */
    public static final int TRAINING_POINTS_PER_LIST = 256;
    /** Centroid updates of the k-means that trains the lists. */
    public static final int TRAINING_ITERATIONS = 10;
    /** The metadata entry that holds the default {@code nprobe} of a saved index ({@link #nprobe(int)}). */
    public static final String NPROBE_KEY = "ivf.nprobe";

        /** Most candidate rows gathered for one backend call; more queries are searched in several calls. */
    private static final int MAX_CANDIDATES = 1 << 22;
    /** Batches of at least this many queries score each probed list once for all its queries. */
    private static final int GROUPED_MIN_QUERIES = 16;

    private final InvertedLists lists;
    private final Centroids centroids;
    private volatile int nprobe;

    private IvfIndex(VectorSet set, Backend backend, float[] centroids, InvertedLists lists) {
        super(set, backend, "IvfIndex");
        this.centroids = new Centroids(centroids, set.dimension(), set.metric(), store);
        this.lists = lists;
        this.nprobe = defaultNprobe(lists.count());
    }

    // ------------------------------------------------------------------ building

    /**
     * The default list count for {@code n} vectors: {@code 4·√n}, at most {@code n / 8} (so lists average at
     * least 8 rows), at least 1.
     */
    public static int defaultLists(long n) {
        if (n < 0) {
            throw new IllegalArgumentException("n must be >= 0, got " + n);
        }
        long lists = Math.min(Math.round(4 * Math.sqrt(n)), n / 8);
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, lists));
    }

    /**
     * The default {@code nprobe} for an index of {@code lists} lists: {@code lists / 8} (at least 1), which probes
     * an eighth of the rows and finds at least 95% of the true 10 nearest neighbours on the clustered test data
     * of {@code IvfIndexTest}; data without clusters needs more.
     */
    public static int defaultNprobe(int lists) {
        return Math.max(1, lists / 8);
    }

    /**
     * An empty index whose {@code lists} centroids are fitted to {@code sample} (at most
     * {@value #TRAINING_POINTS_PER_LIST}·lists of its rows, drawn with {@code seed}); add vectors with
     * {@link #add}. The sample is read, not kept.
     *
     * @param backend the backend that trains and then searches, or null for {@code Backends.get()}
     * @throws IllegalArgumentException when the sample has fewer points than lists (or fewer distinct ones), or
     *     a point breaks the vector rule (named)
     */
    public static IvfIndex train(FloatMatrix sample, Metric metric, int lists, long seed, Backend backend) {
        Objects.requireNonNull(sample, "sample");
        Objects.requireNonNull(metric, "metric");
        if (lists < 1) {
            throw new IllegalArgumentException("an IVF index needs at least one list, got " + lists);
        }
        long n = sample.rows();
        if (n < lists) {
            throw new IllegalArgumentException("training " + lists + " lists needs at least " + lists + " points, got " + n);
        }
        Vectors.check(sample, metric, null, 0);
        float[] c = Centroids.fit(sample, metric, lists, seed, backend);
        return new IvfIndex(new VectorSet(sample.cols(), metric), backend, c, new InvertedLists(lists));
    }

    /**
     * An index of {@code vectors} with {@code ids}: {@link #train} on them, then {@link #add}, each list's rows
     * stored together.
     *
     * @param lists the list count, or 0 for {@link #defaultLists}{@code (vectors.rows())}
     * @param backend the backend that trains and then searches, or null for {@code Backends.get()}
     */
    public static IvfIndex build(long[] ids, FloatMatrix vectors, Metric metric, int lists, long seed, Backend backend) {
        Objects.requireNonNull(ids, "ids");
        Objects.requireNonNull(vectors, "vectors");
        if (ids.length != vectors.rows()) {
            throw new IllegalArgumentException(ids.length + " ids for " + vectors.rows() + " vectors");
        }
        IvfIndex index = train(vectors, metric, lists == 0 ? defaultLists(vectors.rows()) : lists, seed, backend);
        try {
            index.add(ids, vectors);
        } catch (RuntimeException e) {
            index.close();
            throw e;
        }
        return index;
    }

    // ------------------------------------------------------------------ properties

    @Override
    public String kind() {
        return "ivf";
    }





    /** Number of inverted lists (centroids). */
    public int lists() {
        return lists.count();
    }

    /** Lists probed when a search leaves {@code nprobe} at 0 (initially {@link #defaultNprobe(int)}). */
    public int nprobe() {
        return nprobe;
    }

    /**
     * Sets the lists probed when a search leaves {@code nprobe} at 0, and records it in the metadata
     * ({@value #NPROBE_KEY}), so a saved index opens with it.
     *
     * @throws IllegalArgumentException outside {@code [1, lists()]}
     */
    public void nprobe(int lists) {
        checkNprobe(lists);
        this.nprobe = lists;
        store.putMetadata(NPROBE_KEY, Integer.toString(lists));
    }



    /** The centroids, {@code lists() × dimension()} row-major (a copy). */
    public float[] centroids() {
        return centroids.values();
    }

    /** Rows in each list now. */
    public int[] listSizes() {
        return store.read(lists::lengths);
    }







    // ------------------------------------------------------------------ mutation

    /**
     * Adds {@code vectors.rows()} vectors with the given ids, each to the list of its nearest centroid, the batch
     * stored list by list. The whole batch is checked first; on any error nothing changes. The vectors are
     * copied (the caller keeps ownership of {@code vectors}).
     *
     * @throws IllegalArgumentException for a count or dimension mismatch, a row that breaks the vector rule
     *     (named), or an id repeated in the batch or already stored (named)
     */
    @Override
    public void add(long[] ids, FloatMatrix vectors, List<Record> records) {
        Objects.requireNonNull(ids, "ids");
        Objects.requireNonNull(vectors, "vectors");
        store.write(() -> {
            if (ids.length == 0 || vectors.rows() != ids.length || vectors.cols() != dimension()
                    || records != null && records.size() != ids.length) {
                set.add(ids, vectors, records);   // nothing to place, or the error VectorSet names
                return null;
            }
            Vectors.check(vectors, metric(), null, 0);
            int[] labels = centroids.assign(vectors);
            int[] order = byList(labels);
            long[] groupedIds = new long[ids.length];
            int[] groupedLabels = new int[ids.length];
            List<Record> groupedRecords = records == null ? null : new java.util.ArrayList<>(ids.length);
            lists.reserve(set.size() + ids.length);
            try (FloatMatrix grouped = FloatMatrix.allocate(ids.length, dimension())) {
                float[] row = new float[dimension()];
                for (int i = 0; i < order.length; i++) {
                    groupedIds[i] = ids[order[i]];
                    groupedLabels[i] = labels[order[i]];
                    grouped.setRow(i, vectors.getRow(order[i], row));
                    if (groupedRecords != null) {
                        groupedRecords.add(records.get(order[i]));
                    }
                }
                set.add(groupedIds, grouped, groupedRecords);
            }
            lists.append(groupedLabels);
            store.extendResident();
            return null;
        });
    }

    /**
     * Removes vectors by id, as {@link FlatIndex#remove}: all ids are checked first; the last row fills each hole
     * and keeps its list.
     */
    @Override
    public int remove(long... ids) {
        Objects.requireNonNull(ids, "ids");
        return store.write(() -> {
            int oldSize = set.size();
            // Only rows among the last ids.length can move into a hole: their lists, by id.
            Map<Long, Integer> tail = new HashMap<>();
            for (int row = Math.max(0, oldSize - ids.length); row < oldSize; row++) {
                tail.put(set.idOf(row), lists.label(row));
            }
            BitSet holes = new BitSet();
            int removed = set.remove(ids, holes::set);
            if (removed > 0) {
                int newSize = set.size();
                int[] changed = holes.stream().filter(r -> r < newSize).toArray();
                int[] newLabels = new int[changed.length];
                for (int i = 0; i < changed.length; i++) {
                    newLabels[i] = tail.get(set.idOf(changed[i]));
                }
                lists.removed(newSize, changed, newLabels);
                store.patchResident(holes);
            }
            return removed;
        });
    }

    /** Positions {@code 0 .. labels.length - 1} ordered by list, in input order within a list (a counting sort). */
    private int[] byList(int[] labels) {
        int[] start = new int[lists.count() + 1];
        for (int l : labels) {
            start[l + 1]++;
        }
        for (int l = 0; l < lists.count(); l++) {
            start[l + 1] += start[l];
        }
        int[] order = new int[labels.length];
        for (int i = 0; i < labels.length; i++) {
            order[start[labels[i]]++] = i;
        }
        return order;
    }

    // ------------------------------------------------------------------ search

    /**
     * Top-k over the rows of each query's {@code nprobe} nearest lists ({@link SearchParams#nprobe}, or
     * {@link #nprobe()} at 0), best first, ties by the lower row; with every list probed, exactly
     * {@link FlatIndex}'s answer. Each query holds {@code min(k, candidates)} results, as many as the longest
     * candidate list of the call allows; a query whose probed lists hold fewer rows is padded with id -1 and
     * score NaN ({@link Neighbors#count(int)} counts its real results). A range search, and a search over
     * {@link SearchParams#allowedIds}, are exact over all rows (or the allowed ones) whatever {@code nprobe}.
     *
     * @throws IllegalArgumentException for {@code nprobe} above {@link #lists()} (naming both), a dimension
     *     mismatch, a query that breaks the vector rule, or an allowed id not in the index (named)
     * @throws TooManyResultsException when a range search passes {@link SearchParams#maxResults}
     */
    @Override
    public SearchResult search(FloatMatrix queries, SearchParams params) {
        return search(queries, params, MAX_CANDIDATES);
    }

    /** As {@link #search(FloatMatrix, SearchParams)}, with at most {@code maxCandidates} rows per backend call. */
    SearchResult search(FloatMatrix queries, SearchParams asked, int maxCandidates) {
        Objects.requireNonNull(asked, "params");
        int probes = asked.nprobe() == 0 ? nprobe : asked.nprobe();
        checkNprobe(probes);
        return store.read(() -> {
            SearchParams params = store.resolveFilter(asked);
            // A payload filter matching more rows than the probed lists hold is answered inside the lists (the
            // matching rows of the probed lists, approximate as any probe); a more selective one, exactly.
            boolean inLists = asked.filter() != null && !params.isRange() && probes < lists.count()
                    && params.allowedIdsShared().length > (long) set.size() * probes / lists.count();
            if (!inLists && (params.isRange() || params.filtered() || probes == lists.count())) {
                return store.exact(queries, params);
            }
            java.util.BitSet allowed = null;
            if (inLists) {
                allowed = new java.util.BitSet(set.size());
                for (long row : set.rowsOf(params.allowedIdsShared())) {
                    allowed.set((int) row);
                }
            }
            store.checkQueries(queries);
            if (set.size() == 0 || queries.rows() == 0) {
                return store.empty(queries, params);
            }
            Neighbors nearest = centroids.nearest(queries, probes);
            int nq = (int) queries.rows();
            List<Neighbors> parts = new ArrayList<>();
            int[] probed = new int[probes];
            for (int from = 0; from < nq; ) {
                int to = from;
                long total = 0;
                while (to < nq) {
                    long n = lists.rowsIn(probedLists(nearest, to, probed));
                    if (to > from && total + n > maxCandidates) {
                        break;
                    }
                    total += n;
                    to++;
                }
                parts.add(searchLists(queries, from, to, total, nearest, probed, params.k(), StoredVectors.rerank(params),
                        allowed));
                from = to;
            }
            return parts.size() == 1 ? parts.get(0) : concat(parts);
        });
    }

    /** Top-k of queries {@code [from, to)} over their probed lists ({@code total} rows in all). Under the read lock. */
    private Neighbors searchLists(FloatMatrix queries, int from, int to, long total, Neighbors nearest, int[] probed,
            int k, int rerank, java.util.BitSet allowed) {
        if (to - from >= GROUPED_MIN_QUERIES && total > 0 && allowed == null) {
            // Each list scored once for all the queries of the batch that probe it.
            int nprobe = probed.length;
            int[] probes = new int[(to - from) * nprobe];
            for (int q = from; q < to; q++) {
                System.arraycopy(probedLists(nearest, q, probed), 0, probes, (q - from) * nprobe, nprobe);
            }
            long[][] csr = lists.csr();
            try (FloatMatrix block = queries.rowsView(from, to)) {
                if (store.quantizer() != null) {
                    return (Neighbors) store.approx(block, csr[0], csr[1], probes, nprobe, k, rerank);
                }
                return (Neighbors) store.scanGrouped(block, csr[0], csr[1], probes, nprobe, k);
            }
        }
        long[] offsets = new long[to - from + 1];
        long[] rows = new long[Math.toIntExact(total)];
        int at = 0;
        for (int q = from; q < to; q++) {
            int start = at;
            at = lists.gather(probedLists(nearest, q, probed), rows, at);
            if (allowed != null) {   // keep the probed rows the filter allows
                int w = start;
                for (int i = start; i < at; i++) {
                    if (allowed.get((int) rows[i])) {
                        rows[w++] = rows[i];
                    }
                }
                at = w;
            }
            offsets[q - from + 1] = at;
        }
        if (allowed != null) {
            if (at == 0) {
                return new Neighbors(to - from, 0, new long[0], new float[0], metric());
            }
            rows = Arrays.copyOf(rows, at);
        }
        try (FloatMatrix block = queries.rowsView(from, to)) {
            if (total == 0) {
                return new Neighbors(to - from, 0, new long[0], new float[0], metric());
            }
            if (store.quantizer() != null) {
                return (Neighbors) store.approx(block, offsets, rows, k, rerank);
            }
            return (Neighbors) store.scan(block, ScanParams.topK(k).candidates(offsets, rows));
        }
    }

    /** Query {@code q}'s probed lists, written into {@code into}. */
    private static int[] probedLists(Neighbors nearest, int q, int[] into) {
        for (int r = 0; r < into.length; r++) {
            into[r] = (int) nearest.id(q, r);
        }
        return into;
    }

    /** One result of several calls: each part padded with id -1 and score NaN to the widest. */
    private Neighbors concat(List<Neighbors> parts) {
        int width = 0;
        int nq = 0;
        for (Neighbors p : parts) {
            width = Math.max(width, p.count());
            nq += p.queries();
        }
        long[] ids = new long[nq * width];
        float[] scores = new float[nq * width];
        Arrays.fill(ids, -1);
        Arrays.fill(scores, Float.NaN);
        int q0 = 0;
        for (Neighbors p : parts) {
            for (int q = 0; q < p.queries(); q++) {
                for (int r = 0; r < p.count(); r++) {
                    ids[(q0 + q) * width + r] = p.id(q, r);
                    scores[(q0 + q) * width + r] = p.score(q, r);
                }
            }
            q0 += p.queries();
        }
        return new Neighbors(nq, width, ids, scores, metric());
    }

    private void checkNprobe(int n) {
        if (n < 1 || n > lists.count()) {
            throw new IllegalArgumentException("nprobe " + n + " is outside [1, " + lists.count()
                    + "]: the index has " + lists.count() + " lists");
        }
    }

    // ------------------------------------------------------------------ files

    /**
     * Writes the index file: the rows, ids and list labels pinned under the lock in O(1), written without it;
     * adds and removes go on meanwhile (the first removal after a save copies the labels, 4 bytes a row).
     */
    @Override
    public void writeTo(AtomicOutput out) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        int[][] labels = new int[1][];
        try (VectorSet.Snapshot snapshot = store.read(() -> {
            meta.putAll(store.metadataShared());
            labels[0] = lists.pinLabels();
            return set.snapshot();
        })) {
            IndexFile.write(snapshot, meta, new IndexFile.IvfSection(lists.count(), centroids.valuesShared(), labels[0]), out);
        }
    }

    /** Loads an IVF index file, searched through {@code Backends.get()}. */
    public static IvfIndex load(Path file) throws IOException {
        return load(file, null);
    }

    /**
     * Loads an IVF index file (see {@link IndexFile#read}).
     *
     * @param backend the backend to search with, or null for {@code Backends.get()}
     * @throws IOException naming the problem: not an index file, another version, another kind of index (naming
     *     both kinds), truncated, corrupt
     */
    public static IvfIndex load(Path file, Backend backend) throws IOException {
        IndexFile.Contents c = IndexFile.read(file, IndexHeader.KIND_IVF, StoredVectors::rowsOnlyRerank);
        IndexFile.IvfSection s = c.ivf();
        IvfIndex index = new IvfIndex(c.vectors(), backend, s.centroids(), InvertedLists.of(s.lists(), s.labels()));
        index.store.loadMetadata(c.metadata());
        index.store.encodeAsRecorded();
        String probes = c.metadata().get(NPROBE_KEY);
        if (probes != null) {
            try {
                index.nprobe(Integer.parseInt(probes));
            } catch (IllegalArgumentException e) {
                index.close();
                throw new IOException(file + ": metadata " + NPROBE_KEY + " is '" + probes + "', not a list count in [1, "
                        + s.lists() + "]");
            }
        }
        return index;
    }

    // ------------------------------------------------------------------ lifecycle

    /** Frees the vectors, the centroids and what is resident. The backend is not closed. Idempotent. */
    @Override
    public void close() {
        store.close(centroids::close);
    }

    @Override
    public String toString() {
        return "IvfIndex[" + (store.isClosed() ? 0 : set.size()) + " x " + dimension() + ", " + metric() + ", "
                + lists.count() + " lists]";
    }
}
