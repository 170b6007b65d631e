package dev.latent.jmh;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.SearchResult;
import dev.latent.index.FlatIndex;
import dev.latent.index.IvfIndex;
import dev.latent.index.SearchParams;
import dev.latent.index.VectorIndex;
import dev.latent.space.format.Npy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene103.Lucene103Codec;
import org.apache.lucene.codecs.lucene99.Lucene99HnswVectorsFormat;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.FSDirectory;

/**
 * Recall@10 against throughput for approximate search, the Java side of {@code jmh/ann/ann-curves.sh}:
 * Latent's indexes and Lucene's HNSW on the same base vectors, held-out queries and exact top-10 (computed
 * apart, by FAISS's brute force) as FAISS's side ({@code jmh/ann/faiss_ann.py}) prints them:
 *
 * <pre>
 * KIND build SECONDS bytes/vector B
 * KIND KNOB=V recall@10 R batch_qps Q single_p50_ms MS
 * </pre>
 *
 * Batch: all queries in one call (Latent), or spread over the cores one query per call (Lucene, whose API
 * takes one query); single: one query per call, the first 200 queries, the median. Inner product on unit
 * vectors. Usage: {@code AnnCurves DATA_DIR KIND [PARAM...]} with KIND {@code latent-flat}, {@code latent-ivf [LISTS]}
 * (0 or none: the default), {@code lucene-hnsw M}.
 */
public final class AnnCurves {
    private static final int K = 10;

    private AnnCurves() {}

    public static void main(String[] args) throws Exception {
        if (args[0].equals("memory-build")) {
            memoryBuild(Path.of(args[1]), Path.of(args[2]), args[3].equals("sq8"));
            return;
        }
        if (args[0].equals("memory-load")) {
            memoryLoad(Path.of(args[1]), Path.of(args[2]));
            return;
        }
        Path dir = Path.of(args[0]);
        String kind = args[1];
        int[] p = Arrays.stream(args).skip(2).mapToInt(Integer::parseInt).toArray();
        try (FloatMatrix base = Npy.read(dir.resolve("base.npy")); FloatMatrix queries = Npy.read(dir.resolve("queries.npy"))) {
            long[][] truth = truth(dir.resolve("truth.npy"), (int) queries.rows());
            switch (kind) {
                case "latent-flat" -> latent(kind, base, queries, truth, () -> flat(base), new SearchParams[] {SearchParams.topK(K)},
                        new String[] {"exact"});
                case "latent-ivf" -> {
                    int lists = p.length > 0 && p[0] > 0 ? p[0] : IvfIndex.defaultLists(base.rows());
                    int[] probes = {1, 2, 4, 8, 16, 32, 64, 128, 256};
                    List<SearchParams> settings = new ArrayList<>();
                    List<String> labels = new ArrayList<>();
                    for (int np : probes) {
                        if (np <= lists) {
                            settings.add(SearchParams.topK(K).nprobe(np));
                            labels.add("nprobe=" + np);
                        }
                    }
                    latent(kind + " lists=" + lists, base, queries, truth,
                            () -> IvfIndex.build(rowIds(base.rows()), base, Metric.INNER_PRODUCT, lists, 42, null),
                            settings.toArray(new SearchParams[0]), labels.toArray(new String[0]));
                }
                case "latent-ivf-sq8" -> {
                    int lists = p.length > 0 && p[0] > 0 ? p[0] : IvfIndex.defaultLists(base.rows());
                    List<SearchParams> settings = new ArrayList<>();
                    List<String> labels = new ArrayList<>();
                    for (int np : new int[] {8, 16, 32, 64, 128, 256}) {
                        for (int rr : new int[] {2, 4}) {
                            if (np <= lists) {
                                settings.add(SearchParams.topK(K).nprobe(np).rerank(rr));
                                labels.add("nprobe=" + np + ",rerank=" + rr);
                            }
                        }
                    }
                    latent(kind + " lists=" + lists, base, queries, truth, () -> {
                        IvfIndex ivf = IvfIndex.build(rowIds(base.rows()), base, Metric.INNER_PRODUCT, lists, 42, null);
                        ivf.encodeSq8();
                        return ivf;
                    }, settings.toArray(new SearchParams[0]), labels.toArray(new String[0]));
                }
                case "lucene-hnsw" -> lucene(kind, p[0], base, queries, truth);
                default -> throw new IllegalArgumentException("unknown kind " + kind);
            }
        }
    }

    /** Builds the default ivf index of DATA_DIR's base vectors (with sq8 codes or without) into FILE. */
    static void memoryBuild(Path dir, Path file, boolean sq8) throws Exception {
        try (FloatMatrix base = Npy.read(dir.resolve("base.npy"));
             IvfIndex index = IvfIndex.build(rowIds(base.rows()), base, Metric.INNER_PRODUCT, 0, 42, null)) {
            if (sq8) {
                index.encodeSq8();
            }
            index.save(file);
        }
    }

    /**
     * Opens FILE, searches DATA_DIR's queries (nprobe 64) and prints the process's memory from /proc/self/status
     * before opening and after searching: anonymous memory (the heap, native allocations) apart from file pages
     * (a mapped file's pages, which the kernel may drop again).
     */
    static void memoryLoad(Path dir, Path file) throws Exception {
        try (FloatMatrix queries = Npy.read(dir.resolve("queries.npy"))) {
            // Warm up first (classes, native libraries, the JIT, the heap's first pages) on a small index of the
            // same kind, so that the difference below is the index's own memory.
            java.util.SplittableRandom rnd = new java.util.SplittableRandom(1);
            float[] flat = new float[4096 * queries.cols()];
            for (int i = 0; i < flat.length; i++) {
                flat[i] = (float) rnd.nextGaussian();
            }
            for (int round = 0; round < 3; round++) {
                try (FloatMatrix small = FloatMatrix.of(flat, queries.cols());
                     IvfIndex warm = IvfIndex.build(rowIds(4096), small, Metric.INNER_PRODUCT, 64, 1, null)) {
                    warm.encodeSq8();
                    for (int q = 0; q < 50; q++) {
                        try (FloatMatrix one = queries.rowsView(q, q + 1)) {
                            warm.search(one, SearchParams.topK(K).nprobe(8));
                        }
                    }
                }
            }
            System.gc();
            long[] before = rss();
            try (VectorIndex index = VectorIndex.load(file)) {
                // The first query makes the rows (or codes) resident; what the process holds then is the index.
                // The rest, one query per call as a service answers them, shows what stays.
                int answered = 0;
                long[] loaded = null;
                for (int q = 0; q < queries.rows(); q++) {
                    try (FloatMatrix one = queries.rowsView(q, q + 1)) {
                        answered += index.search(one, SearchParams.topK(K).nprobe(64)).queries();
                    }
                    if (q == 0) {
                        loaded = rss();
                    }
                }
                long[] after = rss();
                long n = index.size();
                System.out.printf(Locale.ROOT, "%s: %d vectors, %s; after opening and one query: anonymous memory +%.0f MB"
                        + " (%.0f bytes/vector), file pages +%.0f MB; after %d queries: +%.0f MB anonymous, +%.0f MB file%n",
                        file.getFileName(), n,
                        index instanceof IvfIndex ivf && ivf.sq8() ? "ivf + sq8 (rows mapped from the file)" : "ivf",
                        (loaded[0] - before[0]) / 1e6, (loaded[0] - before[0]) / (double) n, (loaded[1] - before[1]) / 1e6,
                        answered, (after[0] - before[0]) / 1e6, (after[1] - before[1]) / 1e6);
            }
        }
    }

    /** RssAnon and RssFile of this process in bytes. */
    private static long[] rss() throws java.io.IOException {
        long[] out = new long[2];
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("RssAnon:")) {
                out[0] = Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            } else if (line.startsWith("RssFile:")) {
                out[1] = Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return out;
    }

    interface Build {
        VectorIndex build() throws Exception;
    }

    static VectorIndex flat(FloatMatrix base) {
        FlatIndex index = new FlatIndex(base.cols(), Metric.INNER_PRODUCT);
        index.add(rowIds(base.rows()), base);
        return index;
    }

    static long[] rowIds(long n) {
        long[] ids = new long[Math.toIntExact(n)];
        Arrays.setAll(ids, i -> i);
        return ids;
    }

    static void latent(String kind, FloatMatrix base, FloatMatrix queries, long[][] truth, Build build,
            SearchParams[] settings, String[] labels) throws Exception {
        long t0 = System.nanoTime();
        try (VectorIndex index = build.build()) {
            try (FloatMatrix first = queries.rowsView(0, 1)) {
                index.search(first, K); // resident before timing, as FAISS's index is after add
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            Path tmp = Files.createTempFile("ann", ".lidx");
            index.save(tmp);
            long bytes = Files.size(tmp);
            Files.delete(tmp);
            System.out.printf(Locale.ROOT, "%s build %.2f bytes/vector %.1f%n", kind, secs, (double) bytes / base.rows());
            int nq = (int) queries.rows();
            for (int s = 0; s < settings.length; s++) {
                SearchParams sp = settings[s];
                index.search(queries, sp); // warm
                long b0 = System.nanoTime();
                SearchResult r = index.search(queries, sp);
                double batch = (System.nanoTime() - b0) / 1e9;
                long[][] got = new long[nq][];
                for (int q = 0; q < nq; q++) {
                    got[q] = r.ids(q);
                }
                double[] lat = new double[Math.min(200, nq)];
                for (int q = 0; q < lat.length; q++) {
                    try (FloatMatrix one = queries.rowsView(q, q + 1)) {
                        long a = System.nanoTime();
                        index.search(one, sp);
                        lat[q] = (System.nanoTime() - a) / 1e6;
                    }
                }
                print(kind, labels[s], recall(got, truth), nq / batch, median(lat));
            }
        }
    }

    static void lucene(String kind, int m, FloatMatrix base, FloatMatrix queries, long[][] truth) throws Exception {
        int threads = Runtime.getRuntime().availableProcessors();
        Path dir = Files.createTempDirectory("ann-lucene");
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try (FSDirectory d = FSDirectory.open(dir)) {
            Codec codec = new Lucene103Codec() {
                @Override
                public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
                    return new Lucene99HnswVectorsFormat(m, 100, threads, pool);
                }
            };
            long t0 = System.nanoTime();
            IndexWriterConfig cfg = new IndexWriterConfig().setCodec(codec).setRAMBufferSizeMB(4096);
            try (IndexWriter w = new IndexWriter(d, cfg)) {
                for (long i = 0; i < base.rows(); i++) {
                    Document doc = new Document();
                    doc.add(new KnnFloatVectorField("v", base.getRow(i), VectorSimilarityFunction.DOT_PRODUCT));
                    w.addDocument(doc);
                }
                w.forceMerge(1);
                w.commit();
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            long bytes;
            try (Stream<Path> files = Files.list(dir)) {
                bytes = files.mapToLong(f -> f.toFile().length()).sum();
            }
            System.out.printf(Locale.ROOT, "%s build %.2f bytes/vector %.1f%n", kind, secs, (double) bytes / base.rows());
            try (DirectoryReader reader = DirectoryReader.open(d)) {
                IndexSearcher searcher = new IndexSearcher(reader);
                int nq = (int) queries.rows();
                float[][] qs = new float[nq][];
                for (int q = 0; q < nq; q++) {
                    qs[q] = queries.getRow(q);
                }
                for (int ef : new int[] {16, 32, 64, 128, 256}) {
                    long[][] got = new long[nq][];
                    for (int q = 0; q < nq; q++) { // warm
                        got[q] = top(searcher, qs[q], ef);
                    }
                    long b0 = System.nanoTime();
                    List<Future<?>> parts = new ArrayList<>();
                    for (int t = 0; t < threads; t++) {
                        final int from = t;
                        parts.add(pool.submit(() -> {
                            for (int q = from; q < nq; q += threads) {
                                got[q] = top(searcher, qs[q], ef);
                            }
                            return null;
                        }));
                    }
                    for (Future<?> f : parts) {
                        f.get();
                    }
                    double batch = (System.nanoTime() - b0) / 1e9;
                    double[] lat = new double[Math.min(200, nq)];
                    for (int q = 0; q < lat.length; q++) {
                        long a = System.nanoTime();
                        top(searcher, qs[q], ef);
                        lat[q] = (System.nanoTime() - a) / 1e6;
                    }
                    print(kind, "ef=" + ef, recall(got, truth), nq / batch, median(lat));
                }
            }
        } finally {
            pool.shutdown();
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    private static long[] top(IndexSearcher searcher, float[] q, int ef) {
        try {
            TopDocs td = searcher.search(new KnnFloatVectorQuery("v", q, ef), K);
            long[] ids = new long[td.scoreDocs.length];
            int i = 0;
            for (ScoreDoc sd : td.scoreDocs) {
                ids[i++] = sd.doc;
            }
            return ids;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static long[][] truth(Path npy, int nq) throws java.io.IOException {
        // int64 .npy: read it as raw little-endian longs after the header.
        byte[] all = Files.readAllBytes(npy);
        int headerLen = (all[8] & 0xff) | (all[9] & 0xff) << 8;
        java.nio.LongBuffer lb = java.nio.ByteBuffer.wrap(all, 10 + headerLen, all.length - 10 - headerLen)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN).asLongBuffer();
        int per = lb.remaining() / nq;
        long[][] t = new long[nq][K];
        for (int q = 0; q < nq; q++) {
            for (int i = 0; i < K; i++) {
                t[q][i] = lb.get(q * per + i);
            }
        }
        return t;
    }

    static double recall(long[][] got, long[][] truth) {
        long hits = 0;
        for (int q = 0; q < truth.length; q++) {
            for (int i = 0; i < Math.min(K, got[q].length); i++) {
                for (long t : truth[q]) {
                    if (t == got[q][i]) {
                        hits++;
                        break;
                    }
                }
            }
        }
        return (double) hits / (truth.length * (long) K);
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    static void print(String kind, String knob, double recall, double qps, double p50) {
        System.out.printf(Locale.ROOT, "%s %s recall@10 %.4f batch_qps %.0f single_p50_ms %.3f%n", kind, knob, recall,
                qps, p50);
    }
}
