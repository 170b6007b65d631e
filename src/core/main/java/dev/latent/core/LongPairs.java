package dev.latent.core;

/** Sorting of parallel arrays: {@code long} keys and the values that go with them. Stateless and thread-safe. */
public final class LongPairs {
    private LongPairs() {
    }

    /**
     * Sorts {@code keys[lo..hi]} ascending (inclusive bounds), moving {@code values} with them: an in-place
     * quicksort that recurses into the smaller side, so the stack depth stays logarithmic. Equal keys end up in no
     * particular order.
     */
    public static void sort(long[] keys, long[] values, int lo, int hi) {
        while (lo < hi) {
            long pivot = keys[(lo + hi) >>> 1];
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (keys[i] < pivot) {
                    i++;
                }
                while (keys[j] > pivot) {
                    j--;
                }
                if (i <= j) {
                    long k = keys[i];
                    keys[i] = keys[j];
                    keys[j] = k;
                    long v = values[i];
                    values[i] = values[j];
                    values[j] = v;
                    i++;
                    j--;
                }
            }
            if (j - lo < hi - i) {
                sort(keys, values, lo, j);
                lo = i;
            } else {
                sort(keys, values, i, hi);
                hi = j;
            }
        }
    }
}
