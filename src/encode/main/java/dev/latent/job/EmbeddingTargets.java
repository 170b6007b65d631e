package dev.latent.job;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.encode.Encoder;
import dev.latent.encode.Modality;
import dev.latent.index.FlatIndex;
import dev.latent.space.AtomicOutput;
import dev.latent.space.Record;
import dev.latent.space.OutputSet;
import dev.latent.space.format.Npy;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Where an embedding goes: a vectors file ({@code .npy}, float32, one row per item), an ids file (one id a line,
 * in row order) and an index file ({@code .lidx}, in {@link #metric()}, with {@link #metadata()}), any of them
 * null for "not written". The three are written together through {@link #open}: a {@link Writer} takes blocks of
 * vectors with their ids, and {@link Writer#commit()} makes every target appear at once, or none change
 * ({@link OutputSet}). The text, image and row embeddings ({@link CorpusEmbedding}, {@link ImageEmbedding},
 * {@link RowEmbedding}) all write through it.
 *
 * <p>An immutable value that holds no resources (the {@link Writer} owns the files and memory of a write); its
 * metadata map keeps its order and cannot be modified. Thread-safe; each {@link Writer} it opens is not.
 *
 * @param vectors  the {@code .npy} file, or null
 * @param ids      the ids file, or null
 * @param index    the index file, or null
 * @param metric   the index's metric (required, used when an index is written)
 * @param metadata written into the index after what {@link #describing} adds (model, modality), in this order
 */
public record EmbeddingTargets(Path vectors, Path ids, Path index, Metric metric, Map<String, String> metadata) {

    /**
     * @throws IllegalArgumentException when no target is given
     * @throws NullPointerException     for a null metric
     */
    public EmbeddingTargets {
        Objects.requireNonNull(metric, "metric");
        if (vectors == null && ids == null && index == null) {
            throw new IllegalArgumentException("nothing to write: give a vectors file, an ids file or an index file");
        }
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata == null ? Map.of() : metadata));
    }

    /**
     * Vectors, their ids beside them ({@link #idsBeside}) and an index; either file may be null (no vectors: no
     * ids either). No metadata besides what the embedding records.
     */
    public static EmbeddingTargets of(Path vectors, Path index, Metric metric) {
        return new EmbeddingTargets(vectors, vectors == null ? null : idsBeside(vectors), index, metric, Map.of());
    }

    /** The ids file that goes with a vectors file: {@code FILE.ids} beside {@code FILE.npy} (else the name + {@code .ids}). */
    public static Path idsBeside(Path vectors) {
        String n = vectors.getFileName().toString();
        return vectors.resolveSibling((n.endsWith(".npy") ? n.substring(0, n.length() - 4) : n) + ".ids");
    }

    /** These targets with {@code key} set to {@code value} in the metadata (kept in its place when present). */
    public EmbeddingTargets withMetadata(String key, String value) {
        Map<String, String> m = new LinkedHashMap<>(metadata);
        m.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
        return new EmbeddingTargets(vectors, ids, index, metric, m);
    }

    /**
     * These targets with the model of {@code encoder} first in the metadata: {@code model} (its name) and, for
     * a model that is not a text model, {@code modality} ({@code image} or {@code tensor}). Entries this
     * metadata already holds keep their values.
     */
    public EmbeddingTargets describing(Encoder<?> encoder) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model", encoder.spec().name());
        if (encoder.modality() != Modality.TEXT) {
            m.put("modality", encoder.modality().name().toLowerCase(Locale.ROOT));
        }
        m.putAll(metadata);
        return new EmbeddingTargets(vectors, ids, index, metric, m);
    }

    /**
     * Opens the targets for {@code dimension}-dimensional vectors: each target is written to a temporary file
     * beside it until {@link Writer#commit()}.
     *
     * @param expectedRows rows the index reserves room for up front (0: it grows as rows come)
     * @throws IOException naming a target that cannot be opened; nothing is left behind
     */
    public Writer open(int dimension, long expectedRows) throws IOException {
        return new Writer(this, dimension, expectedRows);
    }

    /**
     * Writes a whole matrix of vectors: {@code vectors} with one id per row in {@code rowIds}, under the index
     * ids 0, 1, 2, ... (the row numbers), then commits. The caller keeps the matrix.
     *
     * @throws IllegalArgumentException when the ids do not match the rows
     * @throws IOException              naming a target that could not be written; then none changed
     */
    public void write(FloatMatrix vectors, List<String> rowIds) throws IOException {
        write(vectors, rowIds, null);
    }

    /** As {@link #write(FloatMatrix, List)}, the index storing each row's record ({@code records} null: none). */
    public void write(FloatMatrix vectors, List<String> rowIds, List<Record> records) throws IOException {
        try (Writer w = open(vectors.cols(), vectors.rows())) {
            w.append(vectors, rowIds, null, records);
            w.commit();
        }
    }

    /**
     * An open set of targets taking blocks of rows. {@link #commit()} makes them appear together; closing
     * without a commit discards them (every target keeps what it held) and frees the index in memory.
     * Owns the index's native memory until closed. Not thread-safe: one thread appends and commits.
     */
    public static final class Writer implements AutoCloseable {
        private final EmbeddingTargets targets;
        private final OutputSet outputs = new OutputSet();
        private final int dimension;
        private Npy.Writer vectors;
        private java.io.Writer ids;
        private AtomicOutput indexOut;
        private FlatIndex index;
        private long rows;
        private boolean upsert;
        private boolean committed;
        private boolean closed;

        private Writer(EmbeddingTargets targets, int dimension, long expectedRows) throws IOException {
            if (dimension <= 0) {
                throw new IllegalArgumentException("dimension must be > 0, got " + dimension);
            }
            this.targets = targets;
            this.dimension = dimension;
            try {
                if (targets.index != null) {
                    index = new FlatIndex(dimension, targets.metric);
                    if (expectedRows > 0) {
                        // The row count is known: one allocation, no copies as the index grows.
                        index.reserve(expectedRows);
                    }
                }
                if (targets.vectors != null) {
                    vectors = Npy.writer(outputs.open(targets.vectors), dimension);
                }
                if (targets.ids != null) {
                    ids = new BufferedWriter(Channels.newWriter(outputs.open(targets.ids).channel(),
                            StandardCharsets.UTF_8), 1 << 16);
                }
                if (targets.index != null) {
                    indexOut = outputs.open(targets.index);
                }
            } catch (IOException | RuntimeException e) {
                try {
                    close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw e;
            }
        }

        /** The targets written. */
        public EmbeddingTargets targets() {
            return targets;
        }

        /** Columns of the vectors. */
        public int dimension() {
            return dimension;
        }

        /** Rows appended so far. */
        public long rows() {
            return rows;
        }

        /**
         * Appends the rows of {@code block}: to the vectors file, their ids to the ids file, and to the index
         * under {@code indexIds}. The caller keeps the block.
         *
         * @param rowIds   one id per row, each one line (no line break); may be null when no ids file is written
         * @param indexIds one index id per row, or null for the row numbers (the rows appended before + 0, 1, ...)
         * @throws IllegalArgumentException for a block of another dimension, or ids that do not match its rows
         * @throws IOException              naming a target that could not be written
         */
        public void append(FloatMatrix block, List<String> rowIds, long[] indexIds) throws IOException {
            append(block, rowIds, indexIds, null);
        }

        /**
         * As {@link #append(FloatMatrix, List, long[])}, the index storing each row's {@link Record} (key, text,
         * payload) with it; {@code records} null for none.
         *
         * @throws IllegalArgumentException also for a record key repeated in the block or already appended (named)
         */
        public void append(FloatMatrix block, List<String> rowIds, long[] indexIds, List<Record> records)
                throws IOException {
            requireOpen();
            if (block.cols() != dimension) {
                throw new IllegalArgumentException("block has dimension " + block.cols() + ", expected " + dimension);
            }
            int n = Math.toIntExact(block.rows());
            if (ids != null && (rowIds == null || rowIds.size() != n)) {
                throw new IllegalArgumentException("block has " + n + " rows and " + (rowIds == null ? "no"
                        : String.valueOf(rowIds.size())) + " ids");
            }
            if (indexIds != null && indexIds.length != n) {
                throw new IllegalArgumentException("block has " + n + " rows and " + indexIds.length + " index ids");
            }
            if (ids != null) {
                for (int i = 0; i < n; i++) {
                    String id = rowIds.get(i);
                    if (id.indexOf('\n') >= 0 || id.indexOf('\r') >= 0) {
                        throw new IllegalArgumentException("the id of row " + (rows + i) + " holds a line break; an "
                                + "ids file has one id a line");
                    }
                }
            }
            // The index first: it checks the block (ids, keys) and refuses it whole before any file grows.
            if (index != null) {
                long[] at = indexIds;
                if (at == null) {
                    at = new long[n];
                    for (int i = 0; i < n; i++) {
                        at[i] = rows + i;
                    }
                }
                if (upsert && records != null) {
                    addUpserting(at, block, records);
                } else {
                    index.add(at, block, records);
                }
            }
            if (vectors != null) {
                vectors.append(block);
            }
            if (ids != null) {
                for (String id : rowIds) {
                    ids.write(id);
                    ids.write('\n');
                }
            }
            rows += n;
        }

        /**
         * From now on a record whose key the index holds already (from an earlier block, or earlier in the same
         * block) replaces it in the index: the earlier vector and record are removed and the later one added under
         * its own id. The vectors and ids files keep every row. Without this, a repeated key is an error.
         */
        public Writer upsertKeys() {
            upsert = true;
            return this;
        }

        /** Adds a block to the index with later keys replacing earlier ones (see {@link #upsertKeys()}). */
        private void addUpserting(long[] at, FloatMatrix block, List<Record> records) {
            int n = at.length;
            java.util.Map<String, Integer> last = new java.util.HashMap<>();
            for (int i = 0; i < n; i++) {
                if (records.get(i) != null) {
                    last.put(records.get(i).key(), i);
                }
            }
            List<Integer> keep = new java.util.ArrayList<>(n);
            List<Long> replaced = new java.util.ArrayList<>();
            for (int i = 0; i < n; i++) {
                Record r = records.get(i);
                if (r == null || last.get(r.key()) == i) {
                    keep.add(i);
                    if (r != null) {
                        index.idOfKey(r.key()).ifPresent(replaced::add);
                    }
                }
            }
            if (!replaced.isEmpty()) {
                index.remove(replaced.stream().mapToLong(Long::longValue).toArray());
            }
            if (keep.size() == n) {
                index.add(at, block, records);
                return;
            }
            long[] ids = new long[keep.size()];
            List<Record> kept = new java.util.ArrayList<>(keep.size());
            try (FloatMatrix sub = FloatMatrix.allocate(keep.size(), dimension)) {
                float[] row = new float[dimension];
                for (int j = 0; j < ids.length; j++) {
                    int i = keep.get(j);
                    ids[j] = at[i];
                    kept.add(records.get(i));
                    sub.setRow(j, block.getRow(i, row));
                }
                index.add(ids, sub, kept);
            }
        }

        /**
         * Completes every target and replaces them together: each target holds its new content, or (on an
         * exception) every target holds what it held before. The index records the targets' metadata.
         *
         * @throws IOException naming the target that failed; nothing changed
         */
        public void commit() throws IOException {
            requireOpen();
            if (vectors != null) {
                vectors.finish();
            }
            if (ids != null) {
                ids.flush();
            }
            if (index != null) {
                targets.metadata.forEach(index::putMetadata);
                index.writeTo(indexOut);
            }
            outputs.commit();
            committed = true;
        }

        private void requireOpen() {
            if (committed || closed) {
                throw new IllegalStateException("these targets are " + (committed ? "committed" : "closed") + " already");
            }
        }

        /** Discards what was not committed (every target keeps its content) and frees the index. Idempotent. */
        @Override
        public void close() throws IOException {
            closed = true;
            try {
                outputs.close();
            } finally {
                if (index != null) {
                    index.close();
                    index = null;
                }
            }
        }
    }
}
