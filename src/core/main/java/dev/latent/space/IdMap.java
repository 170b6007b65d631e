package dev.latent.space;

import java.util.Arrays;

/**
 * Open-addressing hash map from caller ids (any {@code long}) to row numbers (non-negative
 * {@code int}), about 24 bytes per entry instead of the ~80 of a {@code HashMap<Long, Integer>}.
 * Linear probing with backward-shift deletion, so removals leave no tombstones. Not thread-safe.
 */
final class IdMap {
    private static final int EMPTY = -1;
    private long[] keys;
    private int[] values;
    private int size;
    private int mask;

    IdMap(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, (int) Math.min(1 << 30, expected * 2L)) - 1) << 1;
        allocate(cap);
    }

    private void allocate(int cap) {
        // Both arrays first, then assign: an OutOfMemoryError leaves the map as it was.
        long[] k = new long[cap];
        int[] v = new int[cap];
        Arrays.fill(v, EMPTY);
        keys = k;
        values = v;
        mask = cap - 1;
        size = 0;
    }

    int size() {
        return size;
    }

    private static int hash(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32));
    }

    /** The row of {@code key}, or -1. */
    int get(long key) {
        int i = hash(key) & mask;
        while (values[i] != EMPTY) {
            if (keys[i] == key) {
                return values[i];
            }
            i = (i + 1) & mask;
        }
        return EMPTY;
    }

    boolean containsKey(long key) {
        return get(key) != EMPTY;
    }

    /** Grows the table, if needed, so that {@code extra} more entries fit without a resize. */
    void ensureCapacity(long extra) {
        long needed = (size + extra) * 2;
        if (needed <= keys.length) {
            return;
        }
        if (needed > 1 << 30) {
            throw new IllegalStateException("too many ids for one index: " + (size + extra));
        }
        long[] oldKeys = keys;
        int[] oldValues = values;
        allocate(Integer.highestOneBit((int) needed - 1) << 1);
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldValues[i] != EMPTY) {
                put(oldKeys[i], oldValues[i]);
            }
        }
    }

    /** Inserts or replaces; call {@link #ensureCapacity} first when adding many. */
    void put(long key, int value) {
        if ((size + 1) * 2L > keys.length) {
            ensureCapacity(1);
        }
        int i = hash(key) & mask;
        while (values[i] != EMPTY) {
            if (keys[i] == key) {
                values[i] = value;
                return;
            }
            i = (i + 1) & mask;
        }
        keys[i] = key;
        values[i] = value;
        size++;
    }

    /** Removes {@code key}; returns its row or -1. */
    int remove(long key) {
        int i = hash(key) & mask;
        while (values[i] != EMPTY) {
            if (keys[i] == key) {
                int old = values[i];
                shiftBack(i);
                size--;
                return old;
            }
            i = (i + 1) & mask;
        }
        return EMPTY;
    }

    /** Backward-shift deletion: moves later members of the probe run into the hole at {@code hole}. */
    private void shiftBack(int hole) {
        int i = hole;
        int j = hole;
        while (true) {
            j = (j + 1) & mask;
            if (values[j] == EMPTY) {
                break;
            }
            int home = hash(keys[j]) & mask;
            // Entry j may move to i only if its home slot is not cyclically within (i, j].
            boolean stay = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
            if (!stay) {
                keys[i] = keys[j];
                values[i] = values[j];
                i = j;
            }
        }
        values[i] = EMPTY;
    }

    void clear() {
        Arrays.fill(values, EMPTY);
        size = 0;
    }
}
