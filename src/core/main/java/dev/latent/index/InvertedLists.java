package dev.latent.index;

import java.util.Arrays;
import java.util.BitSet;

/**
 * The lists of an inverted-file index: each stored row's list ({@code label(row)}), and each list's rows in
 * ascending order, kept in line with the rows of the index's {@code VectorSet} as it adds rows at the end and
 * fills removal holes with its last row.
 *
 * <p><b>Pinning.</b> {@link #pinLabels()} hands out the label array itself for a save, in O(1): adds write
 * past the pinned rows, and the first removal after a pin copies the array before it changes a label (as
 * {@code VectorSet} snapshots do with rows).
 *
 * <p>Not thread-safe: the owning index changes it under its write lock and reads it under its read lock.
 */
final class InvertedLists {
    private final int count;
    private int[] labels = new int[0];     // row → list; length ≥ size
    private boolean pinned;                // a save reads labels [0, size at the pin)
    private int size;
    private final int[][] members;         // list → ascending rows, members[l][0, lengths[l])
    private final int[] lengths;
    private volatile long[][] csr;                  // {offsets, rows} of every list, or null after a change

    /** {@code count} empty lists. */
    InvertedLists(int count) {
        if (count < 1) {
            throw new IllegalArgumentException("an inverted-file index needs at least one list, got " + count);
        }
        this.count = count;
        this.members = new int[count][];
        Arrays.fill(members, new int[0]);
        this.lengths = new int[count];
    }

    /** Lists holding rows {@code 0 .. labels.length - 1} with these labels (each in {@code [0, count)}). */
    static InvertedLists of(int count, int[] labels) {
        InvertedLists l = new InvertedLists(count);
        l.reserve(labels.length);
        l.append(labels);
        return l;
    }

    /** Number of lists. */
    int count() {
        return count;
    }

    /** Number of rows. */
    int size() {
        return size;
    }

    /** The list of {@code row}. */
    int label(int row) {
        return labels[row];
    }

    /** Rows in each list. */
    int[] lengths() {
        return lengths.clone();
    }

    /** Number of rows in {@code list}. */
    int length(int list) {
        return lengths[list];
    }

    /**
     * The labels of rows {@code [0, size())} without a copy, for a save that reads them without the lock; a
     * later removal copies the array first.
     */
    int[] pinLabels() {
        pinned = true;
        return labels;
    }

    /** Room for {@code rows} labels in all, allocated before the rows are added (so an add cannot fail halfway). */
    void reserve(int rows) {
        if (rows > labels.length) {
            labels = Arrays.copyOf(labels, Math.max(rows, labels.length + labels.length / 2));
            pinned = false;
        }
    }

    /** Rows {@code [size(), size() + newLabels.length)} join their lists; {@link #reserve} made room. */
    void append(int[] newLabels) {
        for (int i = 0; i < newLabels.length; i++) {
            int list = newLabels[i];
            int row = size + i;
            labels[row] = list;
            if (lengths[list] == members[list].length) {
                members[list] = Arrays.copyOf(members[list], Math.max(4, lengths[list] + lengths[list] / 2 + 1));
            }
            members[list][lengths[list]++] = row;     // rows grow, so each list stays ascending
        }
        size += newLabels.length;
        csr = null;
    }

    /**
     * After the index removed rows: it now holds {@code newSize} rows, and the rows in {@code changed} (ascending,
     * each below {@code newSize}) received another row's content, of list {@code newLabels[i]}. Only the lists
     * that lost or gained a row are rebuilt.
     */
    void removed(int newSize, int[] changed, int[] newLabels) {
        if (pinned) {
            labels = labels.clone();
            pinned = false;
        }
        boolean[] affected = new boolean[count];
        for (int r = newSize; r < size; r++) {
            affected[labels[r]] = true;
        }
        BitSet changedRows = new BitSet(newSize);
        for (int i = 0; i < changed.length; i++) {
            affected[labels[changed[i]]] = true;
            affected[newLabels[i]] = true;
            changedRows.set(changed[i]);
            labels[changed[i]] = newLabels[i];
        }
        for (int list = 0; list < count; list++) {
            if (affected[list]) {
                rebuild(list, newSize, changed, changedRows);
            }
        }
        size = newSize;
        csr = null;
    }

    /** {@code list}'s unchanged rows below {@code newSize} merged with the changed rows now in it. */
    private void rebuild(int list, int newSize, int[] changed, BitSet changedRows) {
        int[] old = members[list];
        int[] out = new int[lengths[list] + changed.length];
        int n = 0;
        int c = 0;
        for (int i = 0; i < lengths[list]; i++) {
            int row = old[i];
            if (row >= newSize || changedRows.get(row)) {
                continue;
            }
            while (c < changed.length && changed[c] < row) {
                if (labels[changed[c]] == list) {
                    out[n++] = changed[c];
                }
                c++;
            }
            out[n++] = row;
        }
        for (; c < changed.length; c++) {
            if (labels[changed[c]] == list) {
                out[n++] = changed[c];
            }
        }
        members[list] = Arrays.copyOf(out, n);
        lengths[list] = n;
    }

    /**
     * Every list's rows in CSR form, {@code {offsets, rows}}: list {@code l} holds the ascending rows
     * {@code rows[offsets[l] .. offsets[l + 1])}. Built once and kept until the lists change; callers must not
     * modify the arrays.
     */
    long[][] csr() {
        long[][] c = csr;
        if (c == null) {
            long[] offsets = new long[count + 1];
            long[] rows = new long[size];
            int at = 0;
            for (int l = 0; l < count; l++) {
                for (int i = 0; i < lengths[l]; i++) {
                    rows[at++] = members[l][i];
                }
                offsets[l + 1] = at;
            }
            c = new long[][] {offsets, rows};
            csr = c;
        }
        return c;
    }

    /** Total rows in {@code lists}. */
    long rowsIn(int[] lists) {
        long n = 0;
        for (int l : lists) {
            n += lengths[l];
        }
        return n;
    }

    /**
     * Writes the rows of {@code lists} (distinct) into {@code out} from {@code at}, strictly ascending, and
     * returns the position after them.
     */
    int gather(int[] lists, long[] out, int at) {
        int end = at;
        for (int l : lists) {
            int[] rows = members[l];
            for (int i = 0; i < lengths[l]; i++) {
                out[end++] = rows[i];
            }
        }
        // The lists are ascending runs (contiguous row ranges after a build); the sort merges them.
        Arrays.sort(out, at, end);
        return end;
    }
}
