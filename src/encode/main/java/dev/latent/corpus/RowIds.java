package dev.latent.corpus;

import java.io.IOException;
import java.util.Arrays;

/**
 * The one rule for the index ids of an embedded corpus, used by every path that embeds (a direct run, a sharded
 * run and its merge): when every record's id is a JSON integer ({@link Corpus.Entry#integerId()}), those integers
 * are the index ids and must be unique; otherwise (string ids, CSV ids, plain-text corpora, or any record without
 * an integer id) the records are numbered 0, 1, 2, ... in corpus order. Not thread-safe.
 */
public final class RowIds {
    private long[] ids = new long[1024];
    private int n;
    private boolean integers = true;

    /** An empty rule, to be fed every record's id in corpus order. */
    public RowIds() {
    }

    /** Adds the next record's id (in corpus order). */
    public void add(boolean integerId, String id) {
        if (n == ids.length) {
            ids = Arrays.copyOf(ids, n * 2);
        }
        if (integers && integerId) {
            ids[n] = Long.parseLong(id);
        } else {
            integers = false;
        }
        n++;
    }

    /** Adds the next record. */
    public void add(Corpus.Entry e) {
        add(e.integerId(), e.id());
    }

    /** Records added so far. */
    public int count() {
        return n;
    }

    /** Whether the index ids are the corpus's own integers (false: row positions). */
    public boolean integers() {
        return integers && n > 0;
    }

    /**
     * The index id of every record, in corpus order.
     *
     * @throws IOException naming {@code source} and the id when an integer id repeats
     */
    public long[] indexIds(String source) throws IOException {
        long[] out = new long[n];
        if (!integers()) {
            for (int i = 0; i < n; i++) {
                out[i] = i;
            }
            return out;
        }
        System.arraycopy(ids, 0, out, 0, n);
        long[] sorted = out.clone();
        Arrays.sort(sorted);
        for (int i = 1; i < sorted.length; i++) {
            if (sorted[i] == sorted[i - 1]) {
                throw new IOException(source + ": duplicate id " + sorted[i]);
            }
        }
        return out;
    }
}
