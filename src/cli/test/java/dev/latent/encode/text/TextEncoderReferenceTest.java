package dev.latent.encode.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;
import dev.latent.compute.Reference;
import dev.latent.core.FloatMatrix;
import dev.latent.encode.SampleCorpus;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Latent's encoder against LangChain4j's in-process all-MiniLM-L6-v2 (the reference), plus truncation,
 * input order and the int8 model's distance from float32.
 */
class TextEncoderReferenceTest {
    private static TextEncoder fp32;
    private static TextEncoder int8;
    private static List<String> texts;

    @BeforeAll
    static void setUp() {
        fp32 = TextEncoder.builder().model("all-minilm-l6-v2").build();
        int8 = TextEncoder.builder().model("all-minilm-l6-v2-q").build();
        texts = referenceTexts(fp32);
    }

    @AfterAll
    static void tearDown() {
        if (fp32 != null) {
            fp32.close();
        }
        if (int8 != null) {
            int8.close();
        }
    }

    /**
     * About 260 corpus texts spread over the whole length range (every k-th by length), plus 20 synthetic
     * ones made by joining glosses up to just under 128 tokens. LangChain4j's encoder handles texts of
     * any length but splits them differently past its own limit, so the comparison stays within 128.
     */
    static List<String> referenceTexts(TextEncoder enc) {
        List<String> all = new ArrayList<>(SampleCorpus.texts());
        all.sort((a, b) -> a.length() != b.length() ? Integer.compare(a.length(), b.length()) : a.compareTo(b));
        List<String> out = new ArrayList<>();
        int step = all.size() / 260;
        for (int i = 0; i < all.size(); i += step) {
            out.add(all.get(i));
        }
        out.add(all.get(all.size() - 1));
        Random rnd = new Random(7);
        for (int s = 0; s < 20; s++) {
            StringBuilder sb = new StringBuilder();
            int target = 60 + rnd.nextInt(67);
            while (true) {
                String next = all.get(rnd.nextInt(all.size()));
                String candidate = sb.length() == 0 ? next : sb + " " + next;
                if (enc.countTokens(candidate) > target) {
                    break;
                }
                sb.setLength(0);
                sb.append(candidate);
            }
            if (sb.length() > 0) {
                out.add(sb.toString());
            }
        }
        for (String t : out) {
            assertTrue(enc.countTokens(t) <= 128, "reference text over 128 tokens: " + t);
        }
        return out;
    }

    @Test
    void float32MatchesLangChain4j() {
        AllMiniLmL6V2EmbeddingModel reference = new AllMiniLmL6V2EmbeddingModel();
        List<TextSegment> segments = texts.stream().map(TextSegment::from).toList();
        List<Embedding> expected = reference.embedAll(segments).content();
        double min = 1;
        String worst = null;
        try (FloatMatrix got = fp32.encode(texts)) {
            assertEquals(texts.size(), got.rows());
            assertEquals(384, got.cols());
            for (int i = 0; i < texts.size(); i++) {
                double c = Reference.cosine(got.getRow(i), expected.get(i).vector());
                if (c < min) {
                    min = c;
                    worst = texts.get(i);
                }
            }
        }
        System.out.printf("all-minilm-l6-v2 (fp32) vs LangChain4j: %d texts, min cosine %.9f (1 - min = %.2e) (%s)%n",
                texts.size(), min, 1 - min, worst);
        assertTrue(min >= 0.999, "min cosine " + min + " on: " + worst);
    }

    /**
     * int8 against float32 on the same texts. The bound is measured, not assumed: on these 285 texts the
     * minimum cosine was 0.9832 and the mean 0.9916, so the test asks for 0.975 and 0.988. Why not tighter:
     * dynamic quantisation picks one activation scale per tensor, that is per batch, so an int8 vector
     * depends slightly on the other texts in its batch and on the padded length (the test also prints how far
     * a text encoded alone is from the same text encoded in a batch).
     */
    @Test
    void int8StaysCloseToFloat32() {
        double min = 1, sum = 0;
        String worst = null;
        try (FloatMatrix a = fp32.encode(texts); FloatMatrix b = int8.encode(texts)) {
            for (int i = 0; i < texts.size(); i++) {
                double c = Reference.cosine(a.getRow(i), b.getRow(i));
                sum += c;
                if (c < min) {
                    min = c;
                    worst = texts.get(i);
                }
            }
        }
        double mean = sum / texts.size();
        double minAlone = 1;
        try (FloatMatrix batch = int8.encode(texts)) {
            for (int i = 0; i < texts.size(); i += 5) {
                try (FloatMatrix alone = int8.encode(List.of(texts.get(i)))) {
                    minAlone = Math.min(minAlone, Reference.cosine(alone.getRow(0), batch.getRow(i)));
                }
            }
        }
        System.out.printf("int8, one text alone vs in a batch: min cosine %.5f%n", minAlone);
        System.out.printf("all-minilm-l6-v2-q (int8) vs fp32: %d texts, min cosine %.5f, mean %.5f (%s)%n",
                texts.size(), min, mean, worst);
        assertTrue(min >= INT8_MIN_COSINE, "int8 min cosine " + min + " on: " + worst);
        assertTrue(mean >= INT8_MEAN_COSINE, "int8 mean cosine " + mean);
    }

    static final double INT8_MIN_COSINE = 0.975;
    static final double INT8_MEAN_COSINE = 0.988;

    /** 600 single-token words: encodes as its first maxLength tokens, and counts maxLength tokens. */
    @Test
    void longTextIsTruncatedAtMaxLength() {
        String[] words = ("time year people way day man thing woman life child world school state family student "
                + "group country problem hand part place case week company system program question work "
                + "government number night point home water room mother area money story fact month lot right "
                + "study book eye job word business issue side kind head house service friend father power hour "
                + "game line end member law car city community name president team minute idea body "
                + "information back parent face level office door health person art war history party result "
                + "change morning reason research girl moment air teacher force education").split(" ");
        int max = fp32.maxLength();
        StringBuilder longText = new StringBuilder();
        StringBuilder prefix = new StringBuilder();
        for (int i = 0; i < 600; i++) {
            String w = words[(i * 7) % words.length];
            if (i > 0) {
                longText.append(' ');
            }
            longText.append(w);
            if (i < max - 2) { // [CLS] and [SEP] take two of the max tokens
                if (i > 0) {
                    prefix.append(' ');
                }
                prefix.append(w);
            }
        }
        assertEquals(max, fp32.countTokens(prefix.toString()), "prefix should be exactly maxLength tokens");
        long before = fp32.tokensProcessed();
        try (FloatMatrix a = fp32.encode(List.of(longText.toString()))) {
            assertEquals(max, fp32.tokensProcessed() - before, "tokens counted for a 600-token text");
            try (FloatMatrix b = fp32.encode(List.of(prefix.toString()))) {
                double c = Reference.cosine(a.getRow(0), b.getRow(0));
                assertTrue(c >= 0.99999, "truncated text vs its first " + max + " tokens: cosine " + c);
            }
        }
    }

    /** Rows follow input order whatever the length sorting does: a shuffled input gives permuted rows. */
    @Test
    void resultsAreInInputOrder() {
        List<String> sample = new ArrayList<>(texts.subList(0, 120));
        List<String> shuffled = new ArrayList<>(sample);
        Collections.shuffle(shuffled, new Random(42));
        try (FloatMatrix a = fp32.encode(sample); FloatMatrix b = fp32.encode(shuffled)) {
            for (int i = 0; i < shuffled.size(); i++) {
                int j = sample.indexOf(shuffled.get(i));
                double c = Reference.cosine(b.getRow(i), a.getRow(j));
                assertTrue(c >= 0.99999, "row " + i + " (" + shuffled.get(i) + ") vs its own text's row " + j
                        + ": cosine " + c);
            }
            // And against one text encoded alone.
            for (int i : new int[] {0, 17, 119}) {
                try (FloatMatrix one = fp32.encode(List.of(sample.get(i)))) {
                    double c = Reference.cosine(one.getRow(0), a.getRow(i));
                    assertTrue(c >= 0.99999, "text " + i + " alone vs in a batch: cosine " + c);
                }
            }
        }
    }

    /** Two threads encoding at once through one encoder get the same rows as one at a time. */
    @Test
    void concurrentCallsGiveTheSameRows() throws Exception {
        List<String> a = texts.subList(0, 60);
        List<String> b = texts.subList(100, 170);
        try (FloatMatrix expectA = fp32.encode(a); FloatMatrix expectB = fp32.encode(b)) {
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
            try {
                var fa = pool.submit(() -> fp32.encode(a));
                var fb = pool.submit(() -> fp32.encode(b));
                try (FloatMatrix gotA = fa.get(); FloatMatrix gotB = fb.get()) {
                    for (int i = 0; i < a.size(); i++) {
                        assertTrue(Reference.cosine(gotA.getRow(i), expectA.getRow(i)) >= 0.99999, "call A row " + i);
                    }
                    for (int i = 0; i < b.size(); i++) {
                        assertTrue(Reference.cosine(gotB.getRow(i), expectB.getRow(i)) >= 0.99999, "call B row " + i);
                    }
                }
            } finally {
                pool.shutdown();
            }
        }
    }

    @Test
    void progressListenerSeesEveryText() {
        List<long[]> calls = new ArrayList<>();
        long before = int8.tokensProcessed();
        try (FloatMatrix m = int8.encode(texts, (done, tokens) -> calls.add(new long[] {done, tokens}))) {
            assertEquals(texts.size(), m.rows());
        }
        long[] last = calls.get(calls.size() - 1);
        assertEquals(texts.size(), last[0]);
        assertEquals(int8.tokensProcessed() - before, last[1]);
        for (int i = 1; i < calls.size(); i++) {
            assertTrue(calls.get(i)[0] > calls.get(i - 1)[0], "texts done must increase");
        }
        for (int r = 0; r < 3; r++) {
            try (FloatMatrix m = int8.encode(texts.subList(r, r + 1))) {
                float[] v = m.getRow(0);
                double n = 0;
                for (float f : v) {
                    n += f * f;
                }
                assertEquals(1.0, n, 1e-5, "unit norm");
            }
        }
    }
}
