package dev.latent.index;

import dev.latent.compute.Backend;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.core.SearchResult;
import dev.latent.space.AtomicOutput;
import dev.latent.space.Record;
import dev.latent.space.VectorSet;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A searchable set of vectors with 64-bit ids under one {@link Metric}: what every caller holds, whatever
 * kind of index it is. {@link FlatIndex} is exact (every vector scored); approximate kinds implement the same
 * interface and read the approximate knobs of {@link SearchParams}.
 *
 * <p><b>One search entry point</b>, {@link #search(FloatMatrix, SearchParams)}, as FAISS's
 * {@code Index::search(..., const SearchParameters*)}: top-k, range, allowed ids and the approximate knobs all
 * go through {@link SearchParams}, and the answer is one shape, {@link SearchResult} ({@link Neighbors} for
 * top-k, {@link RangeResults} for a range). The two default methods below are the conveniences callers use
 * most. An index whose device fails a search answers it on the host (see {@link FlatIndex}), so callers never
 * handle a {@link dev.latent.compute.DeviceException} from a search.
 *
 * <p><b>Opening</b>: {@link #load(Path)} opens an index file as whatever kind its header names.
 * Abilities only some indexes have are optional interfaces ({@link DeviceTokenSearch}).
 *
 * <p>Implementations state their thread safety; the ones here allow concurrent searches with exclusive
 * writers, and saves that run beside writers.
 */
public interface VectorIndex extends AutoCloseable {
    /** The kind an index file names in its header: {@code "flat"}, {@code "ivf"}. */
    String kind();

    int dimension();

    Metric metric();

    /** Number of stored vectors. */
    long size();

    /** The backend that searches this index. */
    Backend backend();

    /** Adds vectors with ids; all or nothing (a failed add changes nothing). */
    default void add(long[] ids, FloatMatrix vectors) {
        add(ids, vectors, null);
    }

    /**
     * Adds vectors with ids, each with its {@link Record} (key, text, payload; {@code records} null or one per id,
     * an element null for none); all or nothing. Records are kept through removals, snapshots and saves, and a
     * file with records opens with them (mapped, not read into the heap).
     *
     * @throws IllegalArgumentException as {@link #add(long[], FloatMatrix)}, and for a key repeated in the batch or
     *     already stored (named: remove it first, or {@link #upsert})
     */
    void add(long[] ids, FloatMatrix vectors, List<Record> records);

    /**
     * Adds or replaces vectors by key: a record whose key is stored replaces that vector and record under the same
     * id; a new key gets the next free id (one above the largest stored). All or nothing.
     *
     * @return the id of each record, in order
     * @throws IllegalArgumentException for a null record, a key repeated in the batch, or as {@link #add}
     */
    long[] upsert(List<Record> records, FloatMatrix vectors);

    /**
     * As {@link #upsert(List, FloatMatrix)}, with the vectors as arrays (each of the index's dimension), as the
     * clients of other libraries hand them over.
     *
     * @throws IllegalArgumentException also for a count or dimension mismatch (naming the item)
     */
    default long[] upsert(List<Record> records, List<float[]> vectors) {
        int d = dimension();
        if (records.size() != vectors.size()) {
            throw new IllegalArgumentException(records.size() + " records for " + vectors.size() + " vectors");
        }
        float[] flat = new float[vectors.size() * d];
        for (int i = 0; i < vectors.size(); i++) {
            if (vectors.get(i).length != d) {
                throw new IllegalArgumentException("vector " + i + " has dimension " + vectors.get(i).length
                        + ", the index has " + d);
            }
            System.arraycopy(vectors.get(i), 0, flat, i * d, d);
        }
        try (FloatMatrix m = FloatMatrix.of(flat, d)) {
            return upsert(records, m);
        }
    }

    /** The record stored with {@code id}, or null when it has none. */
    Record record(long id);

    /** The id of the vector whose record has {@code key}, if one has. */
    java.util.OptionalLong idOfKey(String key);

    /**
     * Removes the vectors whose records have these keys; keys no record has are skipped. Returns how many were
     * removed.
     */
    default int removeKeys(java.util.Collection<String> keys) {
        long[] ids = keys.stream().map(this::idOfKey).filter(java.util.OptionalLong::isPresent)
                .mapToLong(java.util.OptionalLong::getAsLong).distinct().toArray();
        return ids.length == 0 ? 0 : remove(ids);
    }

    /** Whether vectors here may carry records (an index made or loaded with them). */
    boolean hasRecords();

    /** Adds one vector. */
    default void add(long id, float[] vector) {
        Objects.requireNonNull(vector, "vector");
        if (vector.length != dimension()) {
            throw new IllegalArgumentException("vector has dimension " + vector.length + ", the index has " + dimension());
        }
        try (FloatMatrix m = FloatMatrix.of(vector, dimension())) {
            add(new long[] {id}, m);
        }
    }

    /** Removes vectors by id; all ids are checked first. Returns how many were removed. */
    int remove(long... ids);

    boolean contains(long id);

    /** The stored ids in row order (a copy). */
    long[] ids();

    /** The stored vector of {@code id} as added (a copy). */
    float[] vector(long id);

    /**
     * Pins the stored rows and ids as they are now (O(1)), for analyses that read every vector and for saves;
     * adds and removes go on meanwhile without changing what the snapshot holds. The caller closes it.
     */
    VectorSet.Snapshot snapshot();

    /**
     * Searches every row of {@code queries} as {@code params} asks.
     *
     * @throws IllegalArgumentException for a dimension mismatch, a query that breaks the vector rule, an allowed
     *     id not in the index, or a knob outside this index's range (an {@code nprobe} above its list count)
     */
    SearchResult search(FloatMatrix queries, SearchParams params);

    /** The nearest {@code k} per query, best first, as ids: {@code search(queries, SearchParams.topK(k))}. */
    default Neighbors search(FloatMatrix queries, int k) {
        return (Neighbors) search(queries, SearchParams.topK(k));
    }

    /** The nearest {@code k} to one query vector. */
    default Neighbors search(float[] query, int k) {
        Objects.requireNonNull(query, "query");
        if (query.length != dimension()) {
            throw new IllegalArgumentException("query has dimension " + query.length + ", the index has " + dimension());
        }
        try (FloatMatrix q = FloatMatrix.of(query, dimension())) {
            return search(q, k);
        }
    }

    /** A copy of the metadata (a JSON object of strings in the index file). */
    Map<String, String> metadata();

    /** Sets one metadata entry; a null value removes it. */
    void putMetadata(String key, String value);

    /** Writes the index atomically to {@code file}. */
    default void save(Path file) throws IOException {
        try (AtomicOutput out = AtomicOutput.open(file)) {
            writeTo(out);
            out.commit();
        }
    }

    /** Writes the index file into {@code out}, which the caller commits. */
    void writeTo(AtomicOutput out) throws IOException;

    /** Frees what the index holds; the backend stays open (it may be shared). Idempotent. */
    @Override
    void close();

    /** Opens an index file of any kind, searched through {@code Backends.get()}. */
    static VectorIndex load(Path file) throws IOException {
        return load(file, null);
    }

    /**
     * Opens an index file as the kind its header names.
     *
     * @param backend the backend to search with, or null for {@code Backends.get()}
     * @throws IOException naming the problem: not an index file, a kind or version this build does not read,
     *     truncated, corrupt
     */
    static VectorIndex load(Path file, Backend backend) throws IOException {
        return IndexKinds.load(file, backend);
    }
}
