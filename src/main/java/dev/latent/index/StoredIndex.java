package dev.latent.index;

import dev.latent.compute.Backend;
import dev.latent.core.Metric;
import dev.latent.space.VectorSet;
import java.util.Map;

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
