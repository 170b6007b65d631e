package dev.latent.cli;

import dev.latent.core.FloatMatrix;
import dev.latent.encode.TextEncoder;
import dev.latent.space.FlatIndex;
import dev.latent.space.Npy;
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
    /** What a first pass over a corpus found. */
    record Scan(long count, long[] indexIds, boolean numericIds) {
    }

    /** Result of an embedding run. */
    record Stats(long texts, long tokens, Duration elapsed) {
    }

    private Embedding() {
    }

    /**
     * Checks every record and chooses index ids: the corpus's own ids when every one is an integer
     * (then they must be unique), else the record positions 0, 1, 2, …
     */
    static Scan scan(Corpus corpus) throws IOException {
        List<String> ids = new ArrayList<>();
        boolean numeric = true;
        try (Corpus.Reader r = corpus.open()) {
            Corpus.Entry e;
            while ((e = r.next()) != null) {
                ids.add(corpus.format() == Corpus.Format.JSONL ? e.id() : null);
                if (numeric && (e.id() == null || corpus.format() != Corpus.Format.JSONL || !isLong(e.id()))) {
                    numeric = false;
                }
            }
        }
        if (ids.isEmpty()) {
            throw new IOException(corpus.name() + ": no texts");
        }
        long[] indexIds = new long[ids.size()];
        for (int i = 0; i < indexIds.length; i++) {
            indexIds[i] = numeric ? Long.parseLong(ids.get(i)) : i;
        }
        if (numeric) {
            long[] sorted = indexIds.clone();
            Arrays.sort(sorted);
            for (int i = 1; i < sorted.length; i++) {
                if (sorted[i] == sorted[i - 1]) {
                    throw new IOException(corpus.name() + ": duplicate id " + sorted[i]);
                }
            }
        }
        return new Scan(ids.size(), indexIds, numeric);
    }

    private static boolean isLong(String s) {
        try {
            Long.parseLong(s);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
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
