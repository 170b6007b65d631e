package dev.latent.corpus;

import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The corpus records of index ids (as an embedding of the corpus assigned them, {@link RowIds}), read back one
 * at a time from their byte offsets: the corpus is scanned once and about 40 bytes per record are kept, plus
 * the last 4,096 records read. Holds no open file. Not thread-safe (the cache is unsynchronised).
 */
public final class CorpusTexts {
    private final Corpus corpus;
    private final CorpusScan scan;
    /** Index ids sorted, and the record position of each; null when the ids are the positions. */
    private final long[] sortedIds;
    private final long[] positions;
    private final Map<Long, Corpus.Entry> cache = new LinkedHashMap<>(256, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, Corpus.Entry> eldest) {
            return size() > 4096;
        }
    };

    /**
     * Scans {@code corpus} once ({@link CorpusScan#of}).
     *
     * @throws IOException naming the file and line of a bad record
     */
    public CorpusTexts(Corpus corpus) throws IOException {
        this.corpus = corpus;
        this.scan = CorpusScan.of(corpus);
        if (!scan.numericIds()) {
            sortedIds = null;
            positions = null;
            return;
        }
        sortedIds = scan.indexIds().clone();
        positions = new long[sortedIds.length];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = i;
        }
        dev.latent.core.LongPairs.sort(sortedIds, positions, 0, sortedIds.length - 1);
    }

    /** The scan made when this was created. */
    public CorpusScan scan() {
        return scan;
    }

    /**
     * The record of index id {@code id}, or null when the corpus has none.
     *
     * @throws IOException when the record cannot be read back (the corpus changed since the scan)
     */
    public Corpus.Entry get(long id) throws IOException {
        Corpus.Entry e = cache.get(id);
        if (e != null) {
            return e;
        }
        int p = positionOf(id);
        if (p < 0) {
            return null;
        }
        e = corpus.readAt(scan.offsets()[p], scan.lines()[p], p);
        cache.put(id, e);
        return e;
    }

    /** The position of the record with index id {@code id}, or -1. */
    public int positionOf(long id) {
        if (sortedIds == null) {
            return id >= 0 && id < scan.count() ? (int) id : -1;
        }
        int i = Arrays.binarySearch(sortedIds, id);
        return i < 0 ? -1 : (int) positions[i];
    }
}
