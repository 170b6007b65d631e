package dev.latent.spark;

import dev.latent.compute.Backends;
import dev.latent.core.FloatMatrix;
import dev.latent.index.FlatIndex;
import dev.latent.index.VectorIndex;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Exact k-nearest-neighbour join: for every row of a query Dataset, the {@code k} nearest rows of a
 * reference Dataset, written as Parquet rows {@code query_id, rank (1 = nearest), neighbor_id, score}.
 *
 * <p>How: the driver reads the reference sorted by id and cuts it into blocks of {@code blockRows}; each
 * block is broadcast, and every query partition searches it with Latent's kernels (the backend each
 * executor picks: CUDA on a GPU executor, the native CPU kernels otherwise), in batches of queries. With
 * one block that is the answer; with several, each block's candidates are written aside and a window per
 * query keeps the best {@code k}. The driver holds one block at a time.
 *
 * <p>Order: best first (highest inner product or cosine, smallest squared L2), ties to the reference row
 * with the smaller id; exact, like the library's search. {@code excludeSelf} drops a neighbour whose id
 * equals the query's (a self-join for deduplication).
 */
@Command(name = "KnnJoinJob", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Exact k-NN join of query vectors against reference vectors with Latent on Spark; writes Parquet:",
                "query_id, rank, neighbor_id, score. Example: spark-submit --class dev.latent.spark.KnnJoinJob "
                        + "latent-spark.jar --queries q.parquet --reference vectors.parquet --k 10 --output knn.parquet"})
public final class KnnJoinJob implements Callable<Integer> {

    /** The join's settings. {@code blockRows} 0: blocks of about 256 MiB of vectors. */
    public record Options(String idColumn, String vectorColumn, int k, Metric metric, long blockRows, boolean excludeSelf,
                          int queryBatch, List<String> neighborColumns) implements Serializable {
        public Options(String idColumn, String vectorColumn, int k, Metric metric, long blockRows, boolean excludeSelf,
                       int queryBatch) {
            this(idColumn, vectorColumn, k, metric, blockRows, excludeSelf, queryBatch, List.of());
        }

        public Options {
            neighborColumns = List.copyOf(neighborColumns == null ? List.of() : neighborColumns);
            Objects.requireNonNull(idColumn, "idColumn");
            Objects.requireNonNull(vectorColumn, "vectorColumn");
            Objects.requireNonNull(metric, "metric");
            if (k < 1) {
                throw new IllegalArgumentException("k must be >= 1, got " + k);
            }
            if (blockRows < 0) {
                throw new IllegalArgumentException("block rows must be >= 0 (0: automatic), got " + blockRows);
            }
            if (queryBatch < 1) {
                throw new IllegalArgumentException("query batch must be >= 1, got " + queryBatch);
            }
        }

        /** Columns {@code id} and {@code vector}, cosine, automatic blocks, batches of 1024 queries. */
        public static Options of(int k) {
            return new Options("id", "vector", k, Metric.COSINE, 0, false, 1024);
        }

        public Options withMetric(Metric m) {
            return new Options(idColumn, vectorColumn, k, m, blockRows, excludeSelf, queryBatch, neighborColumns);
        }

        public Options withBlockRows(long rows) {
            return new Options(idColumn, vectorColumn, k, metric, rows, excludeSelf, queryBatch, neighborColumns);
        }

        public Options withExcludeSelf(boolean exclude) {
            return new Options(idColumn, vectorColumn, k, metric, blockRows, exclude, queryBatch, neighborColumns);
        }

        public Options withColumns(String id, String vector) {
            return new Options(id, vector, k, metric, blockRows, excludeSelf, queryBatch, neighborColumns);
        }

        /**
         * Columns of the reference (its records: key, text, payload fields) copied onto each result row for its
         * neighbour, after {@code score}.
         */
        public Options withNeighborColumns(List<String> columns) {
            return new Options(idColumn, vectorColumn, k, metric, blockRows, excludeSelf, queryBatch, columns);
        }

        public Options withQueryBatch(int n) {
            return new Options(idColumn, vectorColumn, k, metric, blockRows, excludeSelf, n, neighborColumns);
        }
    }

    /** What a run did. */
    public record Summary(long referenceRows, int dimension, int blocks) {
    }

    private static final long AUTO_BLOCK_BYTES = 256L << 20;

    /**
     * Runs the join and writes its Parquet to {@code output}, which must not exist.
     *
     * @throws IllegalArgumentException for a missing or mistyped column, a null vector or one of another
     *     dimension (naming the row's id), an empty reference
     */
    public static Summary run(SparkSession spark, Dataset<Row> queries, Dataset<Row> reference, Options o, String output) {
        StructType qs = queries.schema();
        StructType rs = reference.schema();
        DataType queryIdType = idType(qs, o.idColumn(), "query");
        DataType refIdType = idType(rs, o.idColumn(), "reference");
        VectorColumn.check(qs, o.vectorColumn(), "query");
        VectorColumn.check(rs, o.vectorColumn(), "reference");
        for (String c : o.neighborColumns()) {
            EmbedJob.fieldIndex(rs, c, "neighbour");
            if (List.of("query_id", "rank", "neighbor_id", "score").contains(c)) {
                throw new IllegalArgumentException("neighbour column '" + c + "' would clash with a result column");
            }
        }
        Jobs.refuseExisting(spark, output);

        Dataset<Row> q = queries.select(o.idColumn(), o.vectorColumn());
        Iterator<Row> refRows = reference.select(o.idColumn(), o.vectorColumn()).orderBy(o.idColumn()).toLocalIterator();
        if (!refRows.hasNext()) {
            throw new IllegalArgumentException("the reference has no rows");
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        StructType partial = new StructType()
                .add("query_id", queryIdType, true).add("ref_pos", DataTypes.LongType, false)
                .add("rank", DataTypes.IntegerType, false).add("neighbor_id", refIdType, true)
                .add("score", DataTypes.FloatType, false);
        String scratch = output.replaceAll("/+$", "") + "._blocks-" + UUID.randomUUID();
        long position = 0;
        int dimension = -1;
        int blocks = 0;
        boolean persisted = false;
        try {
            while (refRows.hasNext()) {
                RefBlock block = RefBlock.read(refRows, position, dimension, o.blockRows());
                dimension = block.dimension;
                position += block.ids.length;
                Broadcast<RefBlock> bc = jsc.broadcast(block);
                try {
                    Dataset<Row> found = q.mapPartitions(new JoinPartition(bc, o), Encoders.row(partial));
                    if (blocks == 0 && !refRows.hasNext()) {
                        finalColumns(found, reference, o).write().mode(SaveMode.ErrorIfExists).parquet(output);
                        return new Summary(position, dimension, 1);
                    }
                    if (!persisted) {
                        q = q.persist(StorageLevel.MEMORY_AND_DISK());   // read once per block from here on
                        persisted = true;
                    }
                    found.write().mode(SaveMode.ErrorIfExists).parquet(scratch + "/block-" + blocks);
                    blocks++;
                } finally {
                    bc.destroy();
                }
            }
            Column order = o.metric().higherIsNearer() ? functions.col("score").desc() : functions.col("score").asc();
            Dataset<Row> all = spark.read().parquet(scratch + "/block-*");
            Dataset<Row> best = all.withColumn("rank", functions.row_number().over(
                            Window.partitionBy("query_id").orderBy(order, functions.col("ref_pos").asc())))
                    .where(functions.col("rank").leq(o.k()));
            finalColumns(best, reference, o).write().mode(SaveMode.ErrorIfExists).parquet(output);
            return new Summary(position, dimension, blocks);
        } finally {
            if (persisted) {
                q.unpersist();
            }
            delete(spark, scratch);
        }
    }

    /** The result columns, then the neighbour's columns from the reference (joined on its id) when asked. */
    private static Dataset<Row> finalColumns(Dataset<Row> d, Dataset<Row> reference, Options o) {
        Dataset<Row> out = d.select("query_id", "rank", "neighbor_id", "score");
        if (o.neighborColumns().isEmpty()) {
            return out;
        }
        List<Column> cols = new java.util.ArrayList<>();
        cols.add(reference.col(o.idColumn()).as("__latent_nid"));
        for (String c : o.neighborColumns()) {
            cols.add(reference.col(c));
        }
        Dataset<Row> extra = reference.select(cols.toArray(new Column[0]));
        List<Column> keep = new java.util.ArrayList<>(List.of(out.col("query_id"), out.col("rank"), out.col("neighbor_id"),
                out.col("score")));
        for (String c : o.neighborColumns()) {
            keep.add(extra.col(c));
        }
        return out.join(extra, out.col("neighbor_id").equalTo(extra.col("__latent_nid")), "left")
                .select(keep.toArray(new Column[0]));
    }

    private static DataType idType(StructType schema, String column, String what) {
        DataType t = schema.fields()[EmbedJob.fieldIndex(schema, column, what + " id")].dataType();
        if (!EmbedJob.isIdType(t)) {
            throw new IllegalArgumentException(what + " id column '" + column + "' holds " + t.simpleString()
                    + "; ids must be strings or integers");
        }
        return t;
    }

    private static void delete(SparkSession spark, String path) {
        try {
            Path p = new Path(path);
            FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
            fs.delete(p, true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove scratch folder " + path + ": " + e.getMessage(), e);
        }
    }

    /** One block of the reference: consecutive rows in id order, row-major float32. */
    static final class RefBlock implements Serializable {
        final long firstPosition;
        final int dimension;
        final Object[] ids;
        final float[] vectors;

        private RefBlock(long firstPosition, int dimension, Object[] ids, float[] vectors) {
            this.firstPosition = firstPosition;
            this.dimension = dimension;
            this.ids = ids;
            this.vectors = vectors;
        }

        /** Up to {@code blockRows} rows (0: about 256 MiB) from {@code rows}; {@code dimension} -1 learns it. */
        static RefBlock read(Iterator<Row> rows, long firstPosition, int dimension, long blockRows) {
            List<Object> ids = new ArrayList<>();
            List<float[]> vecs = new ArrayList<>();
            int d = dimension;
            long limit = blockRows;
            while (rows.hasNext() && (limit == 0 || ids.size() < limit)) {
                Row r = rows.next();
                Object id = r.get(0);
                float[] v = VectorColumn.read(r, 1, id, "reference");
                if (d < 0) {
                    d = v.length;
                    if (d == 0) {
                        throw new IllegalArgumentException("reference row with id " + id + " has an empty vector");
                    }
                    if (limit == 0) {
                        limit = Math.max(1, Math.min(Integer.MAX_VALUE / d, AUTO_BLOCK_BYTES / (4L * d)));
                    }
                }
                if (v.length != d) {
                    throw new IllegalArgumentException("reference row with id " + id + " has a vector of dimension "
                            + v.length + "; the first has " + d);
                }
                ids.add(id);
                vecs.add(v);
            }
            if ((long) vecs.size() * d > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("a block of " + vecs.size() + " rows of dimension " + d
                        + " is over 2^31 floats; choose fewer block rows");
            }
            float[] flat = new float[vecs.size() * d];
            for (int i = 0; i < vecs.size(); i++) {
                System.arraycopy(vecs.get(i), 0, flat, i * d, d);
            }
            return new RefBlock(firstPosition, d, ids.toArray(), flat);
        }
    }

    /** Searches one broadcast block for every query of a partition, a batch of queries at a time. */
    static final class JoinPartition implements MapPartitionsFunction<Row, Row> {
        private final Broadcast<RefBlock> block;
        private final Options options;

        JoinPartition(Broadcast<RefBlock> block, Options options) {
            this.block = block;
            this.options = options;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> in) {
            RefBlock b = block.value();
            int d = b.dimension;
            int rows = b.ids.length;
            // The block as an index whose ids are its row numbers: searched on the executor's backend, and
            // answered on the host when that backend's device fails a batch.
            VectorIndex db = new FlatIndex(d, options.metric(), Backends.get());
            try (FloatMatrix ref = FloatMatrix.of(b.vectors, d)) {
                long[] rowIds = new long[rows];
                for (int i = 0; i < rows; i++) {
                    rowIds[i] = i;
                }
                db.add(rowIds, ref);
            } catch (RuntimeException e) {
                db.close();
                throw e;
            }
            Runnable release = db::close;
            TaskContext task = TaskContext.get();
            if (task != null) {
                task.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) ctx -> release.run());
            }
            int extra = options.excludeSelf() ? 1 : 0;
            int kk = (int) Math.min((long) options.k() + extra, rows);
            return new Batches<Row>(in) {
                @Override
                void done() {
                    release.run();
                }

                @Override
                void fill(List<Row> ready) {
                    List<Object> ids = new ArrayList<>();
                    List<float[]> vecs = new ArrayList<>();
                    while (ids.size() < options.queryBatch() && in.hasNext()) {
                        Row r = in.next();
                        Object id = r.get(0);
                        float[] v = VectorColumn.read(r, 1, id, "query");
                        if (v.length != d) {
                            throw new IllegalArgumentException("query row with id " + id + " has a vector of dimension "
                                    + v.length + "; the reference's is " + d);
                        }
                        ids.add(id);
                        vecs.add(v);
                    }
                    Neighbors nb;
                    try (FloatMatrix qm = FloatMatrix.of(vecs.toArray(new float[0][]))) {
                        nb = db.search(qm, kk);
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException("query batch starting at id " + ids.get(0) + ": " + e.getMessage(), e);
                    }
                    for (int qi = 0; qi < ids.size(); qi++) {
                        Object qid = ids.get(qi);
                        int rank = 0;
                        for (int r = 0; r < nb.count() && rank < options.k(); r++) {
                            int row = (int) nb.id(qi, r);
                            Object nid = b.ids[row];
                            if (options.excludeSelf() && String.valueOf(nid).equals(String.valueOf(qid))) {
                                continue;
                            }
                            rank++;
                            ready.add(RowFactory.create(qid, b.firstPosition + row, rank, nid, nb.score(qi, r)));
                        }
                    }
                }
            };
        }
    }

    // ---- command line ----

    @Option(names = "--queries", required = true, paramLabel = "PATH", description = "Query vectors (Parquet, or --format).")
    String queries;

    @Option(names = "--reference", required = true, paramLabel = "PATH", description = "Reference vectors (same format).")
    String reference;

    @Option(names = "--format", paramLabel = "FORMAT", description = "parquet (default) or json.")
    String format;

    @Option(names = "--id-column", paramLabel = "NAME", description = "Id column of both inputs (default: id).")
    String idColumn = "id";

    @Option(names = "--vector-column", paramLabel = "NAME",
            description = "Vector column of both inputs: array<float>, array<double> or binary float32 (default: vector).")
    String vectorColumn = "vector";

    @Option(names = "--k", paramLabel = "K", description = "Neighbours per query (default 10).")
    int k = 10;

    @Option(names = "--metric", paramLabel = "METRIC", description = "cosine (default), ip or l2.")
    String metric = "cosine";

    @Option(names = "--block-rows", paramLabel = "N", description = "Reference rows per broadcast block (default: about 256 MiB).")
    long blockRows;

    @Option(names = "--neighbor-columns", paramLabel = "NAMES", split = ",",
            description = "Reference columns (text, payload fields) copied onto each result row for its neighbour.")
    List<String> neighborColumns = new java.util.ArrayList<>();

    @Option(names = "--exclude-self", description = "Drop a neighbour whose id equals the query's (self-join, deduplication).")
    boolean excludeSelf;

    @Mixin
    JobOptions job = new JobOptions();

    @Override
    public Integer call() throws Exception {
        Options o = new Options(idColumn, vectorColumn, k, Metric.parse(metric), blockRows, excludeSelf, 1024, neighborColumns);
        Jobs.inSession("latent knn-join", job.master, spark -> {
            String fmt = Jobs.format(format, queries);
            long t0 = System.nanoTime();
            Summary s = run(spark, Jobs.read(spark, fmt, queries), Jobs.read(spark, fmt, reference), o, job.output);
            System.out.printf("joined against %d reference rows (dimension %d, %d block%s) in %.1f s into %s%n",
                    s.referenceRows(), s.dimension(), s.blocks(), s.blocks() == 1 ? "" : "s",
                    (System.nanoTime() - t0) / 1e9, job.output);
        });
        return 0;
    }

    public static void main(String[] args) {
        System.exit(Jobs.run(new KnnJoinJob(), args));
    }
}
