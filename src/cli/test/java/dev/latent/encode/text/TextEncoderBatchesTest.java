package dev.latent.encode.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.FloatMatrix;
import dev.latent.encode.SampleCorpus;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link TextEncoder#batches} is the work {@code encode} does: every text once, batches of the batch size in
 * length order, each padded to its longest text; running a batch's texts gives the rows {@code encode} gives.
 */
class TextEncoderBatchesTest {
    @Test
    void batchesCoverEveryTextOncePaddedToTheirLongest() {
        List<String> texts = new ArrayList<>(SampleCorpus.texts().subList(0, 100));
        try (TextEncoder enc = TextEncoder.builder().model("all-minilm-l6-v2").maxBatchSize(16)
                .tokenBudget(16 * 512 * 4).build()) {
            List<TextEncoder.Batch> plan = enc.batches(texts);
            assertEquals(7, plan.size());
            boolean[] seen = new boolean[texts.size()];
            for (int i = 0; i < plan.size(); i++) {
                TextEncoder.Batch b = plan.get(i);
                assertEquals(i < 6 ? 16 : 4, b.size(), "batch " + i);
                assertEquals(b.size() * b.seqLen(), b.ids().length);
                long tokens = 0;
                int longest = 0;
                for (int r = 0; r < b.size(); r++) {
                    assertFalse(seen[b.rows()[r]], "text " + b.rows()[r] + " twice");
                    seen[b.rows()[r]] = true;
                    int len = 0;
                    for (int t = 0; t < b.seqLen(); t++) {
                        long m = b.mask()[r * b.seqLen() + t];
                        // Real tokens first, then padding: id 0, mask 0.
                        assertTrue(m == 1 ? t == len : b.ids()[r * b.seqLen() + t] == 0, "batch " + i + " row " + r);
                        len += (int) m;
                    }
                    assertEquals(enc.countTokens(texts.get(b.rows()[r])), len);
                    tokens += len;
                    longest = Math.max(longest, len);
                }
                assertEquals(longest, b.seqLen(), "batch " + i + " is padded to its longest text");
                assertEquals(tokens, b.tokens());
            }
            for (int t = 0; t < seen.length; t++) {
                assertTrue(seen[t], "text " + t + " in no batch");
            }
            // One batch's texts, encoded alone, give the rows encode gives them within the whole run.
            TextEncoder.Batch b = plan.get(3);
            List<String> part = new ArrayList<>();
            for (int row : b.rows()) {
                part.add(texts.get(row));
            }
            try (FloatMatrix all = enc.encode(texts); FloatMatrix alone = enc.encode(part)) {
                for (int r = 0; r < b.size(); r++) {
                    float[] want = all.getRow(b.rows()[r]);
                    float[] got = alone.getRow(r);
                    for (int c = 0; c < want.length; c++) {
                        assertEquals(want[c], got[c], 1e-6f, "row " + r + " column " + c);
                    }
                }
            }
            // As an Encoder: a text model of 384 dimensions on the CPU provider.
            dev.latent.encode.Encoder<String> e = enc;
            assertEquals(dev.latent.encode.Modality.TEXT, e.modality());
            assertEquals("CPU", e.provider());
            assertEquals(384, e.dimension());
            assertEquals("all-minilm-l6-v2", e.spec().name());
            assertThrows(IllegalArgumentException.class, () -> enc.batches(Arrays.asList("a", " ")));
            assertArrayEquals(new int[0], enc.batches(List.of()).stream().mapToInt(TextEncoder.Batch::size).toArray());
        }
    }
}
