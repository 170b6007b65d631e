package dev.latent.cli;

import dev.latent.core.FloatMatrix;
import dev.latent.encode.text.TextEncoder;
import dev.latent.index.FlatIndex;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.io.Writer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Embeds a corpus block by block into any of: an {@code .npy} writer, an ids writer, an index.
 * A first pass checks every record (so a malformed line fails before any encoding) and decides the
 * index ids; the second pass encodes. Not thread-safe.
 */
final class Embedding {
    /**
     * What a first pass over a corpus found: the record count, the index id of each record, and where
     * each record's line starts (byte offset and line number), so records can be read back one by one.
     */
    record Scan(long count, long[] indexIds, boolean numericIds, long[] offsets, long[] lines) {
    }

    /** Index id → record position, for reading records back by id (16 bytes per record). */
    static final class Lookup {
        private final Scan scan;
        private final long[] sortedIds;
        private final long[] positions;

        Lookup(Scan scan) {
            this.scan = scan;
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
            sortPairs(sortedIds, positions, 0, sortedIds.length - 1);
        }

        /** The position of the record with index id {@code id}, or -1. */
        int positionOf(long id) {
            if (sortedIds == null) {
                return id >= 0 && id < scan.count() ? (int) id : -1;
            }
            int i = Arrays.binarySearch(sortedIds, id);
            return i < 0 ? -1 : (int) positions[i];
        }

        /** Sorts keys ascending, moving values with them (keys are unique). */
        private static void sortPairs(long[] keys, long[] values, int lo, int hi) {
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
                // Recurse into the smaller side, loop on the larger: stack depth stays logarithmic.
                if (j - lo < hi - i) {
                    sortPairs(keys, values, lo, j);
                    lo = i;
                } else {
                    sortPairs(keys, values, i, hi);
                    hi = j;
                }
            }
        }
    }

    private Embedding() {
    }

    /** Result of an embedding run. */
    record Stats(long texts, long tokens, Duration elapsed) {
    }

    /** Checks every record and chooses index ids by the one rule of {@link RowIds}. */
    static Scan scan(Corpus corpus) throws IOException {
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
        return new Scan(n, rowIds.indexIds(corpus.name()), rowIds.integers(), Arrays.copyOf(offsets, n),
                Arrays.copyOf(lines, n));
    }

    /**
     * Encodes every record. Each output may be null. The caller commits the outputs afterwards;
     * on an exception nothing has been committed.
     */
    static Stats run(Corpus corpus, Scan scan, TextEncoder enc, int blockSize, Npy.Writer vectors,
            Writer idsOut, FlatIndex index, Progress progress) throws IOException {
        long start = System.nanoTime();
        long tokensBefore = enc.tokensProcessed();
        long done = 0;
        try (Corpus.Reader r = corpus.open()) {
            while (true) {
                List<Corpus.Entry> block = r.nextBlock(blockSize);
                if (block.isEmpty()) {
                    break;
                }
                List<String> texts = new ArrayList<>(block.size());
                for (Corpus.Entry e : block) {
                    texts.add(e.text());
                }
                final long base = done;
                FloatMatrix v;
                try {
                    v = enc.encode(texts, (textsDone, tokensDone) -> progress.done(base + textsDone));
                } catch (IllegalArgumentException ex) {
                    throw new IOException(corpus.name() + " (lines " + block.get(0).line() + "-"
                            + block.get(block.size() - 1).line() + "): " + ex.getMessage(), ex);
                }
                try (v) {
                    if (vectors != null) {
                        vectors.append(v);
                    }
                    if (index != null) {
                        long[] ids = Arrays.copyOfRange(scan.indexIds(), (int) base, (int) base + block.size());
                        index.add(ids, v);
                    }
                }
                if (idsOut != null) {
                    for (Corpus.Entry e : block) {
                        idsOut.write(e.id());
                        idsOut.write('\n');
                    }
                }
                done += block.size();
                progress.done(done);
            }
        }
        return new Stats(done, enc.tokensProcessed() - tokensBefore, Duration.ofNanos(System.nanoTime() - start));
    }
}
