package dev.latent.spark;

import dev.latent.core.FloatMatrix;
import dev.latent.encode.text.TextEncoder;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Embeds a text column of a Dataset, partition by partition, with one encoder per executor JVM, and
 * writes Parquet with columns {@code id}, {@code vector} and {@code model}.
 *
 * <p>The vector column is {@code array<float>} (elements never null): Spark SQL, pandas and PyArrow read it
 * as a list of floats without any decoding step, Spark ML turns it into a vector with
 * {@code array_to_vector}, and Parquet stores it as plain floats (the list's levels cost about a byte a
 * row against the 1.5 KB of a 384-float vector). A binary float32 column would be a little smaller but
 * unreadable until every consumer decodes it the same way.
 *
 * <p>Determinism: a partition is cut into batches of {@code batchSize} texts in the order the partition
 * holds them, and each batch is encoded by one call; the same input gives the same batches and the same
 * bits, so a task that Spark retries writes exactly what the failed attempt would have.
 *
 * <p>Null texts are skipped and counted ({@link NullTexts#SKIP}, the default) or fail the job naming the
 * row's id ({@link NullTexts#FAIL}).
 */
@Command(name = "EmbedJob", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Embeds a text column with Latent on Spark and writes Parquet: id, vector (array<float>), model.",
                "Example: spark-submit --class dev.latent.spark.EmbedJob latent-spark.jar --input texts.parquet "
                        + "--text-column body --id-column doc_id --output vectors.parquet"})
public final class EmbedJob implements Callable<Integer> {
    /** What to do with a row whose text is null. */
    public enum NullTexts { SKIP, FAIL }

    /** The job's settings; serializable, so tasks receive them. */
    public record Options(String textColumn, String idColumn, TextModel model, int batchSize, NullTexts nullTexts,
                          List<String> keepColumns) implements java.io.Serializable {
        public Options(String textColumn, String idColumn, TextModel model, int batchSize, NullTexts nullTexts) {
            this(textColumn, idColumn, model, batchSize, nullTexts, List.of());
        }

        public Options {
            keepColumns = List.copyOf(keepColumns == null ? List.of() : keepColumns);
            if (textColumn == null || textColumn.isBlank()) {
                throw new IllegalArgumentException("the text column must be named");
            }
            if (batchSize < 1) {
                throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
            }
            if (model == null) {
                throw new IllegalArgumentException("a model is needed");
            }
            if (nullTexts == null) {
                throw new IllegalArgumentException("say what null texts do: SKIP or FAIL");
            }
        }

        /**
         * Column {@code text}, ids by position, the default model, batches of 4096 (the CLI's block: the encoder
         * keeps its workers busy across a call, and a call's tail, where they wait, is rare), null texts skipped.
         */
        public static Options defaults() {
            return new Options("text", null, TextModel.named(null), 4096, NullTexts.SKIP);
        }

        public Options withColumns(String text, String id) {
            return new Options(text, id, model, batchSize, nullTexts, keepColumns);
        }

        public Options withModel(TextModel m) {
            return new Options(textColumn, idColumn, m, batchSize, nullTexts, keepColumns);
        }

        public Options withBatchSize(int n) {
            return new Options(textColumn, idColumn, model, n, nullTexts, keepColumns);
        }

        /**
         * Input columns carried unchanged into the output after {@code model}, each row's with its vector: the
         * text and the payload fields of its record (the text column itself may be named).
         */
        public Options withKeepColumns(List<String> columns) {
            return new Options(textColumn, idColumn, model, batchSize, nullTexts, columns);
        }

        public Options withNullTexts(NullTexts n) {
            return new Options(textColumn, idColumn, model, batchSize, n, keepColumns);
        }
    }

    /** The embedded Dataset (lazy) and the count of skipped null texts, filled in as it is computed. */
    public record Result(Dataset<Row> vectors, LongAccumulator skippedNullTexts) {
    }

    /**
     * The embedding of {@code input} (lazy: nothing runs until the result is written or collected). Without
     * an id column, a row's id is its position in the input (0-based, in file and line order), a
     * {@code long}; otherwise the id column keeps its type, which must be a string or an integer type.
     *
     * @throws IllegalArgumentException naming a missing column or one of the wrong type, before any task runs
     */
    public static Result embed(SparkSession spark, Dataset<Row> input, Options o) {
        StructType schema = input.schema();
        int textIndex = fieldIndex(schema, o.textColumn(), "text");
        if (!schema.fields()[textIndex].dataType().equals(DataTypes.StringType)) {
            throw new IllegalArgumentException("text column '" + o.textColumn() + "' holds "
                    + schema.fields()[textIndex].dataType().simpleString() + ", not strings");
        }
        List<StructField> kept = new ArrayList<>();
        for (String c : o.keepColumns()) {
            StructField f = schema.fields()[fieldIndex(schema, c, "kept")];
            if (List.of("id", "vector", "model").contains(c)) {
                throw new IllegalArgumentException("kept column '" + c + "' would clash with an output column (id, vector, model)");
            }
            kept.add(f);
        }
        org.apache.spark.sql.Column[] keptCols = o.keepColumns().stream().map(input::col).toArray(org.apache.spark.sql.Column[]::new);
        Dataset<Row> pairs;
        DataType idType;
        if (o.idColumn() == null) {
            idType = DataTypes.LongType;
            List<org.apache.spark.sql.Column> sel = new ArrayList<>(List.of(input.col(o.textColumn())));
            sel.addAll(List.of(keptCols));
            int extra = keptCols.length;
            JavaRDD<Row> rows = input.select(sel.toArray(new org.apache.spark.sql.Column[0])).javaRDD().zipWithIndex()
                    .map(t -> {
                        Object[] v = new Object[2 + extra];
                        v[0] = t._2();
                        v[1] = t._1().isNullAt(0) ? null : t._1().getString(0);
                        for (int i = 0; i < extra; i++) {
                            v[2 + i] = t._1().get(1 + i);
                        }
                        return RowFactory.create(v);
                    });
            StructType st = new StructType().add("id", DataTypes.LongType, false).add("text", DataTypes.StringType, true);
            for (int i = 0; i < kept.size(); i++) {
                st = st.add("__keep" + i, kept.get(i).dataType(), true);
            }
            pairs = spark.createDataFrame(rows, st);
        } else {
            int idIndex = fieldIndex(schema, o.idColumn(), "id");
            idType = schema.fields()[idIndex].dataType();
            if (!isIdType(idType)) {
                throw new IllegalArgumentException("id column '" + o.idColumn() + "' holds " + idType.simpleString()
                        + "; ids must be strings or integers");
            }
            List<org.apache.spark.sql.Column> sel = new ArrayList<>(List.of(input.col(o.idColumn()), input.col(o.textColumn())));
            for (int i = 0; i < keptCols.length; i++) {
                sel.add(keptCols[i].as("__keep" + i));
            }
            pairs = input.select(sel.toArray(new org.apache.spark.sql.Column[0]));
        }
        StructType out = new StructType(new StructField[] {
            DataTypes.createStructField("id", idType, true),
            DataTypes.createStructField("vector", DataTypes.createArrayType(DataTypes.FloatType, false), false),
            DataTypes.createStructField("model", DataTypes.StringType, false),
        });
        for (StructField f : kept) {
            out = out.add(f.name(), f.dataType(), true);
        }
        LongAccumulator skipped = spark.sparkContext().longAccumulator("null texts skipped");
        Dataset<Row> vectors = pairs.mapPartitions(new EmbedPartition(o, skipped), Encoders.row(out));
        return new Result(vectors, skipped);
    }

    /**
     * Writes vectors as Parquet without dictionary encoding: embedding floats almost never repeat, and the
     * writer would spend its time filling a dictionary it then throws away.
     */
    public static void write(Dataset<Row> vectors, String output) {
        vectors.write().mode(SaveMode.ErrorIfExists).option("parquet.enable.dictionary", "false").parquet(output);
    }

    static boolean isIdType(DataType t) {
        return t.equals(DataTypes.StringType) || t.equals(DataTypes.LongType) || t.equals(DataTypes.IntegerType)
                || t.equals(DataTypes.ShortType);
    }

    static int fieldIndex(StructType schema, String column, String role) {
        for (int i = 0; i < schema.fields().length; i++) {
            if (schema.fields()[i].name().equals(column)) {
                return i;
            }
        }
        throw new IllegalArgumentException("the input has no " + role + " column '" + column + "'; its columns: "
                + String.join(", ", schema.fieldNames()));
    }

    /** Embeds one partition: batches of rows (id, text) in partition order, one encode call each. */
    static final class EmbedPartition implements MapPartitionsFunction<Row, Row> {
        private final Options options;
        private final LongAccumulator skipped;

        EmbedPartition(Options options, LongAccumulator skipped) {
            this.options = options;
            this.skipped = skipped;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> in) {
            TextEncoder encoder = ExecutorEncoders.get(options.model());
            String label = options.model().label();
            TaskContext task = TaskContext.get();
            return new Batches<Row>(in) {
                @Override
                void fill(List<Row> ready) {
                    List<Object> ids = new ArrayList<>(options.batchSize());
                    List<String> texts = new ArrayList<>(options.batchSize());
                    List<Object[]> extras = new ArrayList<>(options.batchSize());
                    int extra = options.keepColumns().size();
                    while (texts.size() < options.batchSize() && in.hasNext()) {
                        Row r = in.next();
                        if (r.isNullAt(1)) {
                            if (options.nullTexts() == NullTexts.FAIL) {
                                throw new IllegalArgumentException("row with id " + r.get(0) + " has a null text in column '"
                                        + options.textColumn() + "' (null texts: FAIL; SKIP skips and counts them)");
                            }
                            skipped.add(1);
                            continue;
                        }
                        ids.add(r.get(0));
                        texts.add(r.getString(1));
                        Object[] e = new Object[extra];
                        for (int i = 0; i < extra; i++) {
                            e[i] = r.get(2 + i);
                        }
                        extras.add(e);
                    }
                    if (texts.isEmpty()) {
                        return;
                    }
                    Faults.beforeBatch(task);
                    try (FloatMatrix m = encoder.encode(texts)) {
                        for (int i = 0; i < texts.size(); i++) {
                            Object[] v = new Object[3 + extra];
                            v[0] = ids.get(i);
                            v[1] = m.getRow(i);
                            v[2] = label;
                            System.arraycopy(extras.get(i), 0, v, 3, extra);
                            ready.add(RowFactory.create(v));
                        }
                    }
                }
            };
        }
    }

    // ---- command line ----

    @Option(names = "--input", required = true, paramLabel = "PATH", description = "Input file or folder.")
    String input;

    @Option(names = "--format", paramLabel = "FORMAT",
            description = "parquet, json (one object a line), csv (RFC 4180, with a header row) or text (one text a line, "
                    + "column 'value'); default: from the input's extension, else parquet.")
    String format;

    @Option(names = "--text-column", paramLabel = "NAME", description = "Column with the texts (default: text; value for --format text).")
    String textColumn;

    @Option(names = "--id-column", paramLabel = "NAME",
            description = "Column with the ids (strings or integers); default: the row's position in the input.")
    String idColumn;

    @Option(names = "--keep-columns", paramLabel = "NAMES", split = ",",
            description = "Input columns carried into the output beside each vector (the text, payload fields), for "
                    + "KnnJoinJob --neighbor-columns.")
    List<String> keepColumns = new ArrayList<>();

    @Option(names = "--model", paramLabel = "NAME", description = "Model from the manifest in the job jar (default: its default model).")
    String model;

    @Option(names = "--onnx", paramLabel = "FILE",
            description = "Your own ONNX export: a path on every executor, or a file shipped with --files (needs --tokenizer).")
    String onnx;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "The tokenizer.json that goes with --onnx.")
    String tokenizer;

    @Option(names = "--threads", paramLabel = "N",
            description = "Encoder threads per executor JVM (default 0: all its cores; set it to spark.executor.cores).")
    int threads;

    @Option(names = "--batch", paramLabel = "N", description = "Texts per encode call (default 4096).")
    int batch = 4096;

    @Option(names = "--null-texts", paramLabel = "WHAT", description = "skip (count them; default) or fail.")
    String nullTexts = "skip";

    @Mixin
    JobOptions job = new JobOptions();

    @Override
    public Integer call() throws Exception {
        if ((onnx == null) != (tokenizer == null)) {
            throw new IllegalArgumentException("--onnx and --tokenizer go together");
        }
        TextModel m = onnx != null ? TextModel.files(onnx, tokenizer) : TextModel.named(model);
        String fmt = Jobs.format(format, input);
        Options o = new Options(textColumn != null ? textColumn : fmt.equals("text") ? "value" : "text", idColumn,
                m.withThreads(threads), batch, NullTexts.valueOf(nullTexts.toUpperCase(java.util.Locale.ROOT)), keepColumns);
        Jobs.inSession("latent embed", job.master, spark -> {
            Jobs.refuseExisting(spark, job.output);
            long t0 = System.nanoTime();
            Result r = embed(spark, Jobs.read(spark, fmt, input), o);
            write(r.vectors(), job.output);
            double s = (System.nanoTime() - t0) / 1e9;
            long rows = spark.read().parquet(job.output).count();
            System.out.printf("embedded %d texts in %.1f s (%.1f texts/s) with %s into %s; %d null texts skipped%n",
                    rows, s, rows / s, m.label(), job.output, r.skippedNullTexts().value());
        });
        return 0;
    }

    public static void main(String[] args) {
        System.exit(Jobs.run(new EmbedJob(), args));
    }
}
