package dev.latent.job;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.corpus.Corpus;
import dev.latent.corpus.CorpusScan;
import dev.latent.index.VectorIndex;
import dev.latent.space.VectorSet;
import dev.latent.space.format.IdsFile;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The vectors an analysis reads: an index file ({@code .lidx}: its vectors, ids and metric), a finished sharded
 * run ({@code manifest.json}, merged in memory, see {@link ShardedEmbedding#toIndex}) or an {@code .npy} file
 * (ids from an ids file, else the row numbers; metric as asked, default cosine), and, with a corpus, the text of
 * each row. Owns the vectors (and the index they view) until {@link #close()}; the ids array is its own, not to
 * be modified. Not thread-safe.
 */
public final class VectorInput implements AutoCloseable {
    private final Path file;
    private final FloatMatrix vectors;
    private final Metric metric;
    private final long[] ids;
    private final VectorIndex index;           // null for .npy input
    private final VectorSet.Snapshot pinned;   // the index's rows as read, null for .npy input

    private VectorInput(Path file, FloatMatrix vectors, Metric metric, long[] ids, VectorIndex index,
            VectorSet.Snapshot pinned) {
        this.file = file;
        this.vectors = vectors;
        this.metric = metric;
        this.ids = ids;
        this.index = index;
        this.pinned = pinned;
    }

    /** Whether {@code file} is read as an index (an {@code .lidx} file or a shard manifest), not as {@code .npy}. */
    public static boolean isIndex(Path file) {
        return file.getFileName().toString().endsWith(".lidx") || ShardedEmbedding.isManifest(file);
    }

    /**
     * Opens {@code file}.
     *
     * @param metric  the metric asked, or null: an index's own, cosine for {@code .npy}
     * @param idsFile for {@code .npy} only: one 64-bit integer id per row ({@link IdsFile#read}), or null for the
     *                row numbers
     * @throws IllegalArgumentException for an index: {@code idsFile} given, a metric that differs from the
     *                                  index's, or a damaged or unfinished sharded run (naming the problem)
     * @throws IOException              naming the file that cannot be read, or an ids file whose count differs
     *                                  from the rows
     */
    public static VectorInput open(Path file, Metric metric, Path idsFile) throws IOException {
        if (isIndex(file)) {
            if (idsFile != null) {
                throw new IllegalArgumentException("--ids is for .npy input; an index file holds its ids");
            }
            VectorIndex index = ShardedEmbedding.toIndexOrLoad(file, metric);
            if (metric != null && metric != index.metric()) {
                Metric own = index.metric();
                index.close();
                throw new IllegalArgumentException("--metric " + label(metric) + " differs from the index's metric ("
                        + own.name().toLowerCase(Locale.ROOT) + ")");
            }
            VectorSet.Snapshot pinned = index.snapshot();
            long[] ids = java.util.Arrays.copyOf(pinned.idsShared(), pinned.size());
            return new VectorInput(file, pinned.rows(), index.metric(), ids, index, pinned);
        }
        FloatMatrix m = Npy.read(file);
        long[] ids;
        try {
            if (idsFile != null) {
                ids = IdsFile.read(idsFile);
                if (ids.length != m.rows()) {
                    throw new IOException(idsFile + " has " + ids.length + " ids for the " + m.rows() + " rows of " + file);
                }
            } else {
                ids = new long[Math.toIntExact(m.rows())];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = i;
                }
            }
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
        return new VectorInput(file, m, metric != null ? metric : Metric.COSINE, ids, null, null);
    }

    /** A metric as {@code --metric} spells it: ip, cosine or l2. */
    private static String label(Metric m) {
        return m == Metric.INNER_PRODUCT ? "ip" : m.name().toLowerCase(Locale.ROOT);
    }

    /** The file read. */
    public Path file() {
        return file;
    }

    /** The vectors, one row per item; owned by this input (valid until {@link #close()}). */
    public FloatMatrix vectors() {
        return vectors;
    }

    /** The metric of the vectors. */
    public Metric metric() {
        return metric;
    }

    /** The id of every row (shared, not to be modified). */
    public long[] ids() {
        return ids;
    }

    /** Rows read. */
    public int rows() {
        return ids.length;
    }

    /**
     * The text of every row from {@code corpus}: for an index the record whose index id (as an embedding of the
     * corpus assigned it) is the row's id, for an {@code .npy} file the record at the row's position.
     *
     * @throws IOException naming the first row without a record, a corpus whose record count differs from the
     *                     rows of an {@code .npy} file, or a bad record of the corpus
     */
    public String[] texts(Corpus corpus) throws IOException {
        String[] texts = new String[rows()];
        byRow(corpus, (e, row) -> texts[row] = e.text());
        for (int i = 0; i < texts.length; i++) {
            if (texts[i] == null) {
                throw new IOException(corpus.name() + " has no record for id " + ids[i] + " of " + file
                        + ": give the corpus the index was embedded from");
            }
        }
        return texts;
    }

    /** Hands each corpus entry to {@code sink} with its row (entries without a row are skipped). */
    private void byRow(Corpus corpus, java.util.function.ObjIntConsumer<Corpus.Entry> sinkByRow) throws IOException {
        CorpusScan scan = CorpusScan.of(corpus);
        Map<Long, Integer> rowOf = null;
        if (index != null) {
            rowOf = new HashMap<>(rows() * 2);
            for (int r = 0; r < rows(); r++) {
                rowOf.put(ids[r], r);
            }
        } else if (scan.count() != rows()) {
            throw new IOException(corpus.name() + " has " + scan.count() + " records, " + file + " has " + rows()
                    + " rows: give the corpus the vectors were embedded from");
        }
        try (Corpus.Reader r = corpus.open()) {
            Corpus.Entry e;
            while ((e = r.next()) != null) {
                int p = (int) e.position();
                if (rowOf == null) {
                    sinkByRow.accept(e, p);
                } else {
                    Integer row = rowOf.get(scan.indexIds()[p]);
                    if (row != null) {
                        sinkByRow.accept(e, row);
                    }
                }
            }
        }
    }

    /**
     * The value of payload field {@code field} for every row, as text (numbers as JSON writes them, lists joined
     * with commas; null where a row's record lacks the field): from {@code corpus}'s records when one is given,
     * else from the index's own records.
     *
     * @throws IOException              as {@link #texts(Corpus)} for the corpus
     * @throws IllegalArgumentException when no row has the field, or there are no records to read it from
     */
    public String[] field(Corpus corpus, String field) throws IOException {
        String[] out = new String[rows()];
        if (corpus != null) {
            byRow(corpus.withPayload(java.util.List.of(field)), (e, row) -> out[row] = text(e.payload().get(field)));
        } else if (pinned != null && pinned.records().hasRecords()) {
            for (int i = 0; i < out.length; i++) {
                dev.latent.space.Record r = pinned.records().get(ids[i]);
                out[i] = r == null ? null : text(r.field(field));
            }
        } else {
            throw new IllegalArgumentException("no records to read field '" + field + "' from: give --corpus, or an "
                    + "index with records");
        }
        for (String v : out) {
            if (v != null) {
                return out;
            }
        }
        throw new IllegalArgumentException("no record has a field '" + field + "'"
                + (corpus != null ? " in " + corpus.name() : " in " + file));
    }

    private static String text(Object v) {
        if (v == null) {
            return null;
        }
        if (v instanceof java.util.List<?> list) {
            return String.join(",", list.stream().map(String::valueOf).toList());
        }
        return String.valueOf(v);
    }

    /**
     * The text of every row from {@code corpus} when one is given ({@link #texts(Corpus)}), else from the index's
     * own records (a row whose record has no text shows its key, a row without a record an empty text); null when
     * neither is there.
     */
    public String[] textsOrRecords(Corpus corpus) throws IOException {
        if (corpus != null) {
            return texts(corpus);
        }
        if (pinned == null || !pinned.records().hasRecords()) {
            return null;
        }
        String[] out = new String[rows()];
        for (int i = 0; i < out.length; i++) {
            dev.latent.space.Record r = pinned.records().get(ids[i]);
            out[i] = r == null ? "" : r.text() != null ? r.text() : r.key();
        }
        return out;
    }

    /** The key of every row from the index's records (the id where a row has none), or null without records. */
    public String[] keys() {
        if (pinned == null || !pinned.records().hasRecords()) {
            return null;
        }
        String[] out = new String[rows()];
        for (int i = 0; i < out.length; i++) {
            String k = pinned.records().key(ids[i]);
            out[i] = k != null ? k : Long.toString(ids[i]);
        }
        return out;
    }

    /** The index's metadata (its model among them), or null for {@code .npy} input. */
    public java.util.Map<String, String> metadata() {
        return index == null ? null : index.metadata();
    }

    /** Frees the vectors and the index they came from. */
    @Override
    public void close() {
        vectors.close();
        if (pinned != null) {
            pinned.close();
        }
        if (index != null) {
            index.close();
        }
    }

    @Override
    public String toString() {
        return file + " (" + rows() + " x " + vectors.cols() + ", " + metric + ", ids " + Arrays.toString(
                Arrays.copyOf(ids, Math.min(3, ids.length))) + "...)";
    }
}
