package dev.latent.job;

import dev.latent.core.FloatMatrix;
import dev.latent.corpus.Corpus;
import dev.latent.corpus.CorpusScan;
import dev.latent.encode.text.TextEncoder;
import java.io.IOException;
import java.time.Duration;
import dev.latent.space.Record;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * Embeds a corpus block by block into {@link EmbeddingTargets}: an {@code .npy} file, an ids file and an index,
 * committed together. A first pass ({@link CorpusScan#of}) checks every record, so a malformed line fails before
 * any encoding, and decides the index ids; {@link #run} is the second pass, which encodes. Memory holds one block
 * of texts and its vectors besides what the index keeps. Holds no state; a run calls its encoder (which may run
 * workers of its own) and writes its targets from the calling thread.
 */
public final class CorpusEmbedding {
    private CorpusEmbedding() {
    }

    /**
     * Result of an embedding run.
     *
     * @param texts   records embedded
     * @param tokens  tokens the encoder processed for them
     * @param elapsed wall time of the run
     */
    public record Stats(long texts, long tokens, Duration elapsed) {
    }

    /**
     * Encodes every record of {@code corpus} in blocks of {@code blockSize} texts into {@code targets}: the
     * vectors, the corpus ids (one a line) and an index holding the vectors under the scan's index ids, with the
     * model's name first in its metadata ({@link EmbeddingTargets#describing}). Every target appears when the
     * run completes, all together; on an exception none has changed.
     *
     * @param scan     the scan of this corpus ({@link CorpusScan#of})
     * @param progress told the number of records encoded so far, from encoder threads too; may be null
     * @throws IOException naming the corpus and the lines of a block the encoder refused, or a target that
     *                     failed
     */
    public static Stats run(Corpus corpus, CorpusScan scan, TextEncoder enc, int blockSize, EmbeddingTargets targets,
            LongConsumer progress) throws IOException {
        return run(corpus, scan, enc, blockSize, targets, progress, false);
    }

    /**
     * As {@link #run(Corpus, CorpusScan, TextEncoder, int, EmbeddingTargets, LongConsumer)}; with {@code upsert} a
     * record whose key (corpus id) came earlier replaces the earlier one in the index
     * ({@link EmbeddingTargets.Writer#upsertKeys()}) instead of stopping the run.
     */
    public static Stats run(Corpus corpus, CorpusScan scan, TextEncoder enc, int blockSize, EmbeddingTargets targets,
            LongConsumer progress, boolean upsert) throws IOException {
        if (blockSize < 1) {
            throw new IllegalArgumentException("block size must be > 0, got " + blockSize);
        }
        LongConsumer report = progress != null ? progress : n -> { };
        long start = System.nanoTime();
        long tokensBefore = enc.tokensProcessed();
        long done = 0;
        try (EmbeddingTargets.Writer out = targets.describing(enc).open(enc.dimension(), scan.count());
             Corpus.Reader r = corpus.open()) {
            if (upsert) {
                out.upsertKeys();
            }
            while (true) {
                List<Corpus.Entry> block = r.nextBlock(blockSize);
                if (block.isEmpty()) {
                    break;
                }
                List<String> texts = new ArrayList<>(block.size());
                List<String> ids = new ArrayList<>(block.size());
                List<Record> records = new ArrayList<>(block.size());
                for (Corpus.Entry e : block) {
                    texts.add(e.text());
                    ids.add(e.id());
                    try {
                        records.add(new Record(e.id(), e.text(), e.payload()));
                    } catch (IllegalArgumentException ex) {
                        throw new IOException(corpus.name() + ":" + e.line() + ": " + ex.getMessage(), ex);
                    }
                }
                final long base = done;
                FloatMatrix v;
                try {
                    v = enc.encode(texts, (textsDone, tokensDone) -> report.accept(base + textsDone));
                } catch (IllegalArgumentException ex) {
                    throw new IOException(corpus.name() + " (lines " + block.get(0).line() + "-"
                            + block.get(block.size() - 1).line() + "): " + ex.getMessage(), ex);
                }
                try (v) {
                    out.append(v, ids, Arrays.copyOfRange(scan.indexIds(), (int) base, (int) base + block.size()), records);
                } catch (IllegalArgumentException ex) {
                    throw new IOException(corpus.name() + " (lines " + block.get(0).line() + "-"
                            + block.get(block.size() - 1).line() + "): " + ex.getMessage(), ex);
                }
                done += block.size();
                report.accept(done);
            }
            out.commit();
        }
        return new Stats(done, enc.tokensProcessed() - tokensBefore, Duration.ofNanos(System.nanoTime() - start));
    }
}
