package dev.latent.job;

import dev.latent.core.FloatMatrix;
import dev.latent.corpus.Corpus;
import dev.latent.corpus.CorpusScan;
import dev.latent.encode.text.TextEncoder;
import dev.latent.index.FlatIndex;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.io.Writer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * Embeds a corpus block by block into any of: an {@code .npy} writer, an ids writer, an index. A first pass
 * ({@link CorpusScan#of}) checks every record, so a malformed line fails before any encoding, and decides the
 * index ids; {@link #run} is the second pass, which encodes. Memory holds one block of texts and its vectors
 * besides what the outputs keep. Holds no state; a run calls its encoder (which may run workers of its own) and
 * its outputs from the calling thread.
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
     * Encodes every record of {@code corpus} in blocks of {@code blockSize} texts, appending the vectors to
     * {@code vectors}, the corpus ids (one a line) to {@code idsOut} and the vectors under the scan's index ids to
     * {@code index}. Each output may be null; none is closed, committed or flushed here: the caller owns them
     * and commits afterwards, and on an exception nothing has been committed.
     *
     * @param scan     the scan of this corpus ({@link CorpusScan#of})
     * @param progress told the number of records encoded so far, from encoder threads too; may be null
     * @throws IOException naming the corpus and the lines of a block the encoder refused, or an output that
     *                     failed
     */
    public static Stats run(Corpus corpus, CorpusScan scan, TextEncoder enc, int blockSize, Npy.Writer vectors,
            Writer idsOut, FlatIndex index, LongConsumer progress) throws IOException {
        LongConsumer report = progress != null ? progress : n -> { };
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
                    v = enc.encode(texts, (textsDone, tokensDone) -> report.accept(base + textsDone));
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
                report.accept(done);
            }
        }
        return new Stats(done, enc.tokensProcessed() - tokensBefore, Duration.ofNanos(System.nanoTime() - start));
    }
}
