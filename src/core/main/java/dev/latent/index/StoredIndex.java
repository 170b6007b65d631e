package dev.latent.index;

import dev.latent.compute.Backend;
import dev.latent.core.Metric;
import dev.latent.space.VectorSet;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Vectors;
import dev.latent.space.Record;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What every index kind here shares: its rows in a {@link VectorSet} kept by {@link StoredVectors} (the lock,
 * the resident copy, the codes, the host fallback), and the {@link VectorIndex} members that only read them.
 * Thread-safety as {@link StoredVectors}: reads under its read lock, writes under its write lock.
 */
abstract class StoredIndex implements VectorIndex {
    final StoredVectors store;
    final VectorSet set;

    StoredIndex(VectorSet set, Backend backend, String owner) {
        this.store = new StoredVectors(set, backend, owner);
        this.set = set;
    }

    @Override
    public int dimension() {
        return set.dimension();
    }

    @Override
    public Metric metric() {
        return set.metric();
    }

    @Override
    public long size() {
        return store.size();
    }

    @Override
    public Backend backend() {
        return store.backend();
    }

    @Override
    public Map<String, String> metadata() {
        return store.metadata();
    }

    @Override
    public void putMetadata(String key, String value) {
        store.putMetadata(key, value);
    }

    @Override
    public boolean contains(long id) {
        return store.read(() -> set.contains(id));
    }

    @Override
    public long[] ids() {
        return store.read(set::ids);
    }

    @Override
    public Record record(long id) {
        return store.read(() -> set.record(id));
    }

    @Override
    public java.util.OptionalLong idOfKey(String key) {
        Objects.requireNonNull(key, "key");
        return store.read(() -> set.idOfKey(key));
    }

    @Override
    public boolean hasRecords() {
        return store.read(set::hasRecords);
    }

    /**
     * As {@link VectorIndex#upsert}: the stored vectors of the keys are removed and the batch added under the write
     * lock, with the vectors and records checked before the removal, so a failure changes nothing.
     */
    @Override
    public long[] upsert(List<Record> records, FloatMatrix vectors) {
        Objects.requireNonNull(records, "records");
        Objects.requireNonNull(vectors, "vectors");
        if (records.size() != vectors.rows()) {
            throw new IllegalArgumentException(records.size() + " records for " + vectors.rows() + " vectors");
        }
        return store.write(() -> {
            Map<String, Integer> seen = new HashMap<>();
            long[] stored = set.idsShared();
            long next = Long.MIN_VALUE;
            for (int i = 0; i < set.size(); i++) {
                next = Math.max(next, stored[i]);
            }
            next = next == Long.MIN_VALUE ? 0 : next + 1;
            long[] ids = new long[records.size()];
            List<Long> replaced = new ArrayList<>();
            for (int i = 0; i < ids.length; i++) {
                Record r = Objects.requireNonNull(records.get(i), "record " + i);
                Integer before = seen.put(r.key(), i);
                if (before != null) {
                    throw new IllegalArgumentException("duplicate key '" + r.key() + "' in the batch (items " + before
                            + " and " + i + ")");
                }
                java.util.OptionalLong id = set.idOfKey(r.key());
                if (id.isPresent()) {
                    replaced.add(id.getAsLong());
                    ids[i] = id.getAsLong();
                } else {
                    ids[i] = next++;
                }
            }
            if (vectors.cols() != dimension()) {
                throw new IllegalArgumentException("vectors have dimension " + vectors.cols() + ", the index has " + dimension());
            }
            Vectors.check(vectors, metric(), null, 0);
            long[] gone = replaced.stream().mapToLong(Long::longValue).toArray();
            if (gone.length > 0) {
                remove(gone);     // re-entrant: the write lock is held
            }
            add(ids, vectors, records);
            return ids;
        });
    }

    @Override
    public float[] vector(long id) {
        return store.read(() -> set.vector(id));
    }

    /**
     * Pins the stored rows and ids as they are now (O(1) under the lock; see {@link VectorSet#snapshot()}).
     * Adds and removes go on meanwhile without changing what the snapshot holds. The caller closes it.
     */
    @Override
    public VectorSet.Snapshot snapshot() {
        return store.read(set::snapshot);
    }

    /**
     * Keeps 8-bit codes of the rows ({@link dev.latent.compute.Sq8}, per-dimension ranges fitted to the stored
     * rows) beside the float32 ones: a top-k search then scans the codes (a quarter of the bytes) and re-ranks
     * its best {@code rerank · k} exactly on the float32 rows ({@link SearchParams#rerank}, default
     * {@value SearchParams#DEFAULT_RERANK}), so every returned score is exact and only the choice of candidates
     * is approximate: a true neighbour can be missed when its code ranks it below them. Range and filtered
     * searches stay exact. Recorded in the metadata ({@code encoding: sq8}): a saved index opens with codes again
     * (fitted again to its rows) and maps its float32 rows from the file instead of copying them into memory.
     * Adds after this are encoded with the same ranges (values outside them are clamped; the exact re-rank
     * keeps the results right).
     */
    public void encodeSq8() {
        store.encodeSq8();
    }

    /** Whether top-k searches go through 8-bit codes ({@link #encodeSq8()}). */
    public boolean sq8() {
        return store.read(() -> store.quantizer() != null);
    }
}
