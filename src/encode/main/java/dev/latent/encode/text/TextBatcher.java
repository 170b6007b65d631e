package dev.latent.encode.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import dev.latent.encode.BatchPipeline;
import dev.latent.encode.text.TextEncoder.Batch;
import java.util.Arrays;
import java.util.Comparator;
import java.util.function.IntUnaryOperator;

/**
 * The text encoder's input side: tokenises texts through the Hugging Face tokenizer in chunks and packs them into
 * padded batches within the batch size, the token budget and the attention budget. Holds no native memory of its
 * own (the tokenizer is the encoder's, which closes it). Thread-safe: it keeps no state between calls.
 */
final class TextBatcher {
    private final HuggingFaceTokenizer tokenizer;
    private final int maxBatchSize;
    private final int tokenBudget;
    private final boolean withTypes;

    TextBatcher(HuggingFaceTokenizer tokenizer, int maxBatchSize, int tokenBudget, boolean withTypes) {
        this.tokenizer = tokenizer;
        this.maxBatchSize = maxBatchSize;
        this.tokenBudget = tokenBudget;
        this.withTypes = withTypes;
    }

    /** The padded length up to which the token budget alone bounds a batch (see TextEncoder's class comment: the attention budget). */
    static final long ATTENTION_LENGTH = 128;

    /** Input rows in length order (characters, a cheap proxy for tokens); ties by index keep it deterministic. */
    static int[] lengthOrder(String[] input) {
        Integer[] boxed = new Integer[input.length];
        for (int i = 0; i < boxed.length; i++) {
            boxed[i] = i;
        }
        Arrays.sort(boxed, Comparator.<Integer>comparingInt(i -> input[i].length()).thenComparingInt(i -> i));
        int[] order = new int[boxed.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = boxed[i];
        }
        return order;
    }

    /** Tokenises in chunks on the calling thread and queues batches; stops early when a worker failed. */
    void produce(String[] input, int[] order, BatchPipeline.Sink<Batch> sink) {
        int chunk = Math.max(maxBatchSize * 4, 64);
        for (int start = 0; start < order.length; start += chunk) {
            int end = Math.min(order.length, start + chunk);
            String[] chunkTexts = new String[end - start];
            for (int i = start; i < end; i++) {
                chunkTexts[i - start] = input[order[i]];
            }
            Tokens enc = tokenize(chunkTexts, withTypes);
            // Within the chunk, order by token count so each batch's padded length is tight.
            Integer[] idx = new Integer[enc.size()];
            for (int i = 0; i < idx.length; i++) {
                idx[i] = i;
            }
            Arrays.sort(idx, Comparator.<Integer>comparingInt(i -> enc.ids[i].length).thenComparingInt(i -> i));
            int i = 0;
            while (i < idx.length) {
                int j = i;
                int seqLen = 0;
                while (j < idx.length && j - i < maxBatchSize) {
                    int len = enc.ids[idx[j]].length;
                    int padded = Math.max(seqLen, len);
                    long texts = j - i + 1;
                    if (j > i && (texts * padded > tokenBudget
                            || texts * padded * padded > (long) tokenBudget * ATTENTION_LENGTH)) {
                        break;
                    }
                    seqLen = padded;
                    j++;
                }
                final int first = start;
                if (!sink.put(pack(enc, idx, i, j - i, seqLen, e -> order[first + e]))) {
                    return;
                }
                i = j;
            }
        }
    }

    /**
     * Packs the texts {@code idx[from, from + size)} of {@code enc} into one batch padded to {@code seqLen}
     * tokens; {@code rowOf} maps a text of {@code enc} to its input row.
     */
    static Batch pack(Tokens enc, Integer[] idx, int from, int size, int seqLen, IntUnaryOperator rowOf) {
        boolean types = enc.types() != null;
        int[] rows = new int[size];
        long[] ids = new long[size * seqLen];
        long[] mask = new long[size * seqLen];
        long[] typeIds = new long[size * seqLen];
        long tokens = 0;
        for (int r = 0; r < size; r++) {
            int e = idx[from + r];
            rows[r] = rowOf.applyAsInt(e);
            long[] eIds = enc.ids[e];
            long[] eMask = enc.mask[e];
            System.arraycopy(eIds, 0, ids, r * seqLen, eIds.length);
            System.arraycopy(eMask, 0, mask, r * seqLen, eMask.length);
            if (types) {
                long[] eTypes = enc.types[e];
                System.arraycopy(eTypes, 0, typeIds, r * seqLen, eTypes.length);
            }
            for (long m : eMask) {
                tokens += m;
            }
        }
        return new Batch(rows, ids, mask, typeIds, size, seqLen, tokens);
    }

    /** Token ids, attention masks and (when the model takes them) type ids of a chunk of texts. */
    record Tokens(long[][] ids, long[][] mask, long[][] types) {
        int size() {
            return ids.length;
        }
    }

    /**
     * Tokenises through the tokenizer's native batch call and copies out only the three arrays the model
     * takes, freeing each native encoding at once. (DJL's {@code Encoding} objects also carry every token
     * as a String, its character span and word ids: several kilobytes of garbage per text that nothing
     * here reads.) Truncation and special tokens are the tokenizer's, as configured in
     * {@code TextEncoder.loadTokenizer}.
     */
    Tokens tokenize(String[] texts, boolean withTypes) {
        TokenizersLibrary lib = TokenizersLibrary.LIB;
        long[] handles = lib.batchEncode(tokenizer.getHandle(), texts, true);
        long[][] ids = new long[texts.length][];
        long[][] mask = new long[texts.length][];
        long[][] types = withTypes ? new long[texts.length][] : null;
        try {
            for (int i = 0; i < handles.length; i++) {
                ids[i] = lib.getTokenIds(handles[i]);
                mask[i] = lib.getAttentionMask(handles[i]);
                if (withTypes) {
                    types[i] = lib.getTypeIds(handles[i]);
                }
            }
        } finally {
            for (long h : handles) {
                lib.deleteEncoding(h);
            }
        }
        return new Tokens(ids, mask, types);
    }
}
