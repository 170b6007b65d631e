package dev.latent.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.FloatMatrix;
import dev.latent.encode.SampleCorpus;
import dev.latent.encode.text.TextEncoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbedJobTest {
    private static final int N = 600;
    private static final int NULL_EVERY = 97;

    @TempDir
    Path dir;

    @AfterEach
    void clearFaults() {
        Faults.beforeBatch = null;
    }

    /** N sample glosses with ids doc-0..doc-(N-1); every NULL_EVERY-th text is null. In 3 partitions. */
    private static Dataset<Row> corpus(SparkSession spark) {
        List<String> texts = SampleCorpus.texts();
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < N; i++) {
            rows.add(RowFactory.create("doc-" + i, i % NULL_EVERY == 5 ? null : texts.get(i % texts.size()), i));
        }
        StructType schema = new StructType().add("doc", DataTypes.StringType).add("body", DataTypes.StringType)
                .add("n", DataTypes.IntegerType);
        return spark.createDataFrame(rows, schema).repartition(3);
    }

    private static Map<Object, float[]> collect(Dataset<Row> vectors) {
        Map<Object, float[]> out = new HashMap<>();
        for (Row r : vectors.collectAsList()) {
            List<Float> v = r.getList(1);
            float[] f = new float[v.size()];
            for (int i = 0; i < f.length; i++) {
                f[i] = v.get(i);
            }
            out.put(r.get(0), f);
        }
        return out;
    }

    @Test
    void vectorsAgreeWithTheLibraryAndARetriedTaskWritesTheSameBits() {
        SparkSession spark = LocalSpark.get();
        EmbedJob.Options o = EmbedJob.Options.defaults().withColumns("body", "doc").withBatchSize(64);
        EmbedJob.Result first = EmbedJob.embed(spark, corpus(spark), o);
        Map<Object, float[]> a = collect(first.vectors());
        long nulls = (N + NULL_EVERY - 1 - 5) / NULL_EVERY;
        assertEquals(N - nulls, a.size());
        assertEquals(nulls, first.skippedNullTexts().value());
        assertEquals(TextEncoder.defaultModel(), first.vectors().select("model").distinct().first().getString(0));

        // The first attempt of one task fails in its second batch; Spark retries it; same bits everywhere.
        AtomicInteger injected = new AtomicInteger();
        AtomicInteger batches = new AtomicInteger();
        Faults.beforeBatch = task -> {
            if (task.partitionId() == 1 && task.attemptNumber() == 0 && batches.incrementAndGet() == 2) {
                injected.incrementAndGet();
                throw new IllegalStateException("injected failure of partition 1, attempt 0");
            }
        };
        Map<Object, float[]> b = collect(EmbedJob.embed(spark, corpus(spark), o).vectors());
        assertEquals(1, injected.get(), "the failure was injected once");
        assertEquals(a.keySet(), b.keySet());
        for (Map.Entry<Object, float[]> e : a.entrySet()) {
            assertArrayEquals(e.getValue(), b.get(e.getKey()), "vector of " + e.getKey() + " after the retry");
        }
    }

    @Test
    void oneBatchAtATimeInPartitionOrderGivesTheLibrarysBitsExactly() {
        // The default model is int8 with dynamic quantisation: a vector depends a little on the texts
        // encoded with it, so the library's side encodes the same batches (64 non-null texts in order).
        SparkSession spark = LocalSpark.get();
        Dataset<Row> one = corpus(spark).orderBy("n").coalesce(1);
        Map<Object, float[]> got = collect(EmbedJob.embed(spark, one,
                EmbedJob.Options.defaults().withColumns("body", "doc").withBatchSize(64)).vectors());
        List<String> texts = SampleCorpus.texts();
        List<String> batch = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        int checked = 0;
        try (TextEncoder enc = TextEncoder.builder().model(TextEncoder.defaultModel()).build()) {
            for (int i = 0; i <= N; i++) {
                if (i < N && i % NULL_EVERY == 5) {
                    assertEquals(null, got.get("doc-" + i), "null text doc-" + i + " is skipped");
                    continue;
                }
                if (i < N) {
                    batch.add(texts.get(i % texts.size()));
                    ids.add("doc-" + i);
                }
                if (batch.size() == 64 || i == N && !batch.isEmpty()) {
                    try (FloatMatrix ref = enc.encode(batch)) {
                        for (int j = 0; j < batch.size(); j++) {
                            assertArrayEquals(ref.getRow(j), got.get(ids.get(j)), ids.get(j));
                            checked++;
                        }
                    }
                    batch.clear();
                    ids.clear();
                }
            }
        }
        assertEquals(got.size(), checked);
    }

    @Test
    void nullTextsFailTheJobWhenAskedAndTheErrorNamesTheRow() {
        SparkSession spark = LocalSpark.get();
        EmbedJob.Options o = EmbedJob.Options.defaults().withColumns("body", "doc").withNullTexts(EmbedJob.NullTexts.FAIL);
        SparkException e = assertThrows(SparkException.class, () -> EmbedJob.embed(spark, corpus(spark), o).vectors().count());
        assertTrue(messages(e).contains("has a null text in column 'body'"), messages(e));
        assertTrue(messages(e).matches("(?s).*row with id doc-\\d+ has a null text.*"), messages(e));
    }

    @Test
    void missingOrMistypedColumnsAreNamedBeforeAnyTaskRuns() {
        SparkSession spark = LocalSpark.get();
        Dataset<Row> in = corpus(spark);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EmbedJob.embed(spark, in, EmbedJob.Options.defaults().withColumns("text", "doc")));
        assertEquals("the input has no text column 'text'; its columns: doc, body, n", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> EmbedJob.embed(spark, in, EmbedJob.Options.defaults().withColumns("n", "doc")));
        assertEquals("text column 'n' holds int, not strings", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> EmbedJob.embed(spark, in, EmbedJob.Options.defaults().withColumns("body", "id")));
        assertTrue(e.getMessage().startsWith("the input has no id column 'id'"), e.getMessage());
    }

    @Test
    void aTextFileGetsIdsByLinePosition() throws Exception {
        SparkSession spark = LocalSpark.get();
        List<String> texts = SampleCorpus.texts().subList(0, 40);
        Path file = dir.resolve("texts.txt");
        Files.write(file, texts);
        Dataset<Row> in = Jobs.read(spark, "text", file.toString()).repartition(2);
        Map<Object, float[]> got = collect(EmbedJob.embed(spark, Jobs.read(spark, "text", file.toString()),
                EmbedJob.Options.defaults().withColumns("value", null)).vectors());
        assertEquals(40, in.count());
        try (TextEncoder enc = TextEncoder.builder().model(TextEncoder.defaultModel()).build();
             FloatMatrix ref = enc.encode(texts)) {
            for (int i = 0; i < texts.size(); i++) {
                float[] want = ref.getRow(i);
                float[] v = got.get((long) i);
                for (int j = 0; j < want.length; j++) {
                    assertEquals(want[j], v[j], 2e-5, "line " + i);
                }
            }
        }
    }

    @Test
    void theCommandLineEmbedsACsvAndRefusesARaggedOneAndAnExistingOutput() throws Exception {
        LocalSpark.get();
        Path csv = dir.resolve("in.csv");
        Files.writeString(csv, "id,text\n1,a dog barks\n2,\"a cat, asleep\"\n3,the stock market fell\n");
        Path out = dir.resolve("out.parquet");
        assertEquals(0, Jobs.run(new EmbedJob(), new String[] {"--input", csv.toString(), "--id-column", "id", "--output", out.toString()}));
        Dataset<Row> v = LocalSpark.get().read().parquet(out.toString());
        assertEquals(3, v.count());
        assertEquals("struct<id:string,vector:array<float>,model:string>", v.schema().simpleString());
        // Run again: the output exists and is not replaced.
        long before = Files.walk(out).count();
        assertEquals(1, Jobs.run(new EmbedJob(), new String[] {"--input", csv.toString(), "--output", out.toString()}));
        assertEquals(before, Files.walk(out).count());

        Path ragged = dir.resolve("ragged.csv");
        Files.writeString(ragged, "id,text\n1,a dog barks\n2,a cat,extra field\n");
        SparkException e = assertThrows(SparkException.class, () -> EmbedJob.embed(LocalSpark.get(),
                Jobs.read(LocalSpark.get(), "csv", ragged.toString()), EmbedJob.Options.defaults().withColumns("text", "id"))
                .vectors().count());
        assertTrue(messages(e).contains("Malformed"), messages(e));
    }

    /**
     * RFC 4180 quoting, as the command line reads it: doubled quotes inside a quoted field, a comma and a line break
     * in one, a quoted id. Spark's rows are the library reader's records, field for field, and the job embeds all.
     */
    @Test
    void aCsvWithDoubledQuotesAndLineBreaksReadsAsTheCommandLineReadsIt() throws Exception {
        SparkSession spark = LocalSpark.get();
        Path csv = dir.resolve("quoted.csv");
        Files.writeString(csv, "id,text\n"
                + "1,\"she said \"\"hello\"\" twice\"\n"
                + "\"2\",\"a cat, \"\"asleep\"\"\non two lines\"\n"
                + "3,\"\"\"quoted\"\" at the start\"\n"
                + "4,plain text\n");
        List<String> library = new ArrayList<>();
        try (dev.latent.corpus.Corpus.Reader r = dev.latent.corpus.Corpus.file(csv, "auto").open()) {
            for (dev.latent.corpus.Corpus.Entry e; (e = r.next()) != null; ) {
                library.add(e.id() + "|" + e.text());
            }
        }
        assertEquals(List.of("1|she said \"hello\" twice", "2|a cat, \"asleep\"\non two lines", "3|\"quoted\" at the start",
                "4|plain text"), library);
        List<String> sparkRows = new ArrayList<>();
        for (Row r : Jobs.read(spark, "csv", csv.toString()).collectAsList()) {
            sparkRows.add(r.getString(r.fieldIndex("id")) + "|" + r.getString(r.fieldIndex("text")));
        }
        assertEquals(library, sparkRows);

        Path out = dir.resolve("quoted.parquet");
        assertEquals(0, Jobs.run(new EmbedJob(), new String[] {"--input", csv.toString(), "--id-column", "id",
                "--output", out.toString()}));
        assertEquals(4, spark.read().parquet(out.toString()).count());
    }

    @Test
    void aParquetInputWithoutTheNamedColumnFailsNamingItAndWritesNothing() {
        SparkSession spark = LocalSpark.get();
        Path in = dir.resolve("in.parquet");
        corpus(spark).write().parquet(in.toString());
        Path out = dir.resolve("never.parquet");
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.err;
        int code;
        try {
            System.setErr(new java.io.PrintStream(err, true));
            code = Jobs.run(new EmbedJob(), new String[] {"--input", in.toString(), "--text-column", "content",
                    "--id-column", "doc", "--output", out.toString()});
        } finally {
            System.setErr(old);
        }
        assertEquals(1, code);
        assertTrue(err.toString().contains("the input has no text column 'content'; its columns: doc, body, n"), err.toString());
        assertTrue(!Files.exists(out), "no output for a failed run");
    }

    static String messages(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            b.append(c.getMessage()).append('\n');
        }
        return b.toString();
    }
}
