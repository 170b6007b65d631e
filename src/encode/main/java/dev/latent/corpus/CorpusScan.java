package dev.latent.corpus;

import java.io.IOException;
import java.util.Arrays;

/**
 * What a first pass over a corpus found: the record count, the index id of each record (by the one rule of
 * {@link RowIds}), and where each record's line starts (byte offset and line number), so records can be read
 * back one by one ({@link Corpus#readAt}). 24 bytes per record. The arrays are the scan's own, shared with the
 * caller and never changed by it: do not modify them. Immutable once made, so it may be shared between threads.
 *
 * @param count      records in the corpus (at least 1)
 * @param indexIds   the index id of each record, in corpus order
 * @param numericIds whether the index ids are the corpus's own JSON integers (false: row positions)
 * @param offsets    byte offset of each record's first line
 * @param lines      1-based number of each record's first line
 */
public record CorpusScan(long count, long[] indexIds, boolean numericIds, long[] offsets, long[] lines) {
    /**
     * Reads every record of {@code corpus} once, checking each (so a malformed line fails before any encoding),
     * and chooses the index ids by the rule of {@link RowIds}.
     *
     * @throws IOException naming the file and line of a bad record, a repeated integer id, or a corpus with no texts
     */
    public static CorpusScan of(Corpus corpus) throws IOException {
        RowIds rowIds = new RowIds();
        long[] offsets = new long[1024];
        long[] lines = new long[1024];
        int n = 0;
        try (Corpus.Reader r = corpus.open()) {
            Corpus.Entry e;
            while ((e = r.next()) != null) {
                if (n == offsets.length) {
                    offsets = Arrays.copyOf(offsets, n * 2);
                    lines = Arrays.copyOf(lines, n * 2);
                }
                rowIds.add(e);
                offsets[n] = e.offset();
                lines[n] = e.line();
                n++;
            }
        }
        if (n == 0) {
            throw new IOException(corpus.name() + ": no texts");
        }
        return new CorpusScan(n, rowIds.indexIds(corpus.name()), rowIds.integers(), Arrays.copyOf(offsets, n),
                Arrays.copyOf(lines, n));
    }
}
