package dev.latent.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.Metric;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.apache.spark.SparkException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KnnJoinJobTest {
    @TempDir
    Path dir;

    private static final StructType SCHEMA = new StructType().add("id", DataTypes.LongType)
            .add("vector", DataTypes.createArrayType(DataTypes.FloatType, false));

    /** Rows with ids {@code ids[i]} and small-integer vectors (float32 sums exact: ties are real ties). */
    private static float[][] integerVectors(Random rnd, int n, int d) {
        float[][] v = new float[n][d];
        for (float[] row : v) {
            for (int j = 0; j < d; j++) {
                row[j] = rnd.nextInt(7) - 3;
            }
        }
        return v;
    }

    private static Dataset<Row> frame(SparkSession spark, long[] ids, float[][] v, int partitions) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < ids.length; i++) {
            rows.add(RowFactory.create(ids[i], v[i]));
        }
        return spark.createDataFrame(rows, SCHEMA).repartition(partitions);
    }

    /** query id -> list of (neighbor id, score) by rank, read back from the job's output. */
    private static TreeMap<Long, List<double[]>> read(SparkSession spark, Path out) {
        TreeMap<Long, List<double[]>> m = new TreeMap<>();
        for (Row r : spark.read().parquet(out.toString()).collectAsList()) {
            List<double[]> l = m.computeIfAbsent(r.getLong(0), x -> new ArrayList<>());
            while (l.size() < r.getInt(1)) {
                l.add(null);
            }
            l.set(r.getInt(1) - 1, new double[] {r.getLong(2), r.getFloat(3)});
        }
        return m;
    }

    /** Float64 brute force: best first, ties to the smaller reference id. */
    private static List<double[]> brute(float[] q, long[] ids, float[][] ref, Metric metric, int k, long self) {
        List<double[]> all = new ArrayList<>();
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == self) {
                continue;
            }
            double s = 0;
            double qq = 0;
            double rr = 0;
            for (int j = 0; j < q.length; j++) {
                s += metric == Metric.L2 ? (q[j] - (double) ref[i][j]) * (q[j] - (double) ref[i][j]) : (double) q[j] * ref[i][j];
                qq += (double) q[j] * q[j];
                rr += (double) ref[i][j] * ref[i][j];
            }
            if (metric == Metric.COSINE) {
                s /= Math.sqrt(qq) * Math.sqrt(rr);
            }
            all.add(new double[] {ids[i], s});
        }
        Comparator<double[]> byScore = Comparator.comparingDouble(a -> metric.higherIsNearer() ? -a[1] : a[1]);
        all.sort(byScore.thenComparingDouble(a -> a[0]));
        return all.subList(0, Math.min(k, all.size()));
    }

    private static long[] shuffledIds(Random rnd, int n) {
        List<Long> l = new ArrayList<>();
        for (long i = 0; i < n; i++) {
            l.add(i * 3 + 11);
        }
        Collections.shuffle(l, rnd);
        return l.stream().mapToLong(Long::longValue).toArray();
    }

    @Test
    void exactAgainstFloat64WithTiesToTheSmallerIdInOneBlockAndInManyBlocks() {
        SparkSession spark = LocalSpark.get();
        Random rnd = new Random(4097);
        int n = 1000;
        int d = 7;
        long[] ids = shuffledIds(rnd, n);
        float[][] ref = integerVectors(rnd, n, d);
        System.arraycopy(ref[3], 0, ref[10], 0, d);       // duplicates: exact ties between different ids
        System.arraycopy(ref[3], 0, ref[20], 0, d);
        float[][] q = integerVectors(rnd, 37, d);
        q[0] = ref[3].clone();
        long[] qids = new long[q.length];
        Arrays.setAll(qids, i -> 5000 + i);
        for (Metric metric : new Metric[] {Metric.INNER_PRODUCT, Metric.L2}) {
            for (long blockRows : new long[] {0, 97}) {
                Path out = dir.resolve(metric + "-" + blockRows);
                KnnJoinJob.Summary s = KnnJoinJob.run(spark, frame(spark, qids, q, 3), frame(spark, ids, ref, 4),
                        KnnJoinJob.Options.of(15).withMetric(metric).withBlockRows(blockRows), out.toString());
                assertEquals(blockRows == 0 ? 1 : 11, s.blocks());
                assertEquals(n, s.referenceRows());
                TreeMap<Long, List<double[]>> got = read(spark, out);
                assertEquals(q.length, got.size());
                for (int i = 0; i < q.length; i++) {
                    List<double[]> want = brute(q[i], ids, ref, metric, 15, Long.MIN_VALUE);
                    List<double[]> have = got.get(qids[i]);
                    assertEquals(want.size(), have.size());
                    for (int r = 0; r < want.size(); r++) {
                        assertEquals((long) want.get(r)[0], (long) have.get(r)[0], metric + " blocks " + blockRows + " query " + i + " rank " + (r + 1));
                        assertEquals(want.get(r)[1], have.get(r)[1], 0.0, "score, exact on integer data");
                    }
                }
            }
        }
    }

    @Test
    void cosineOnRandomFloatsKIsCappedByTheReferenceAndSelfIsExcluded() {
        SparkSession spark = LocalSpark.get();
        Random rnd = new Random(7);
        int n = 30;
        int d = 33;
        long[] ids = shuffledIds(rnd, n);
        float[][] ref = new float[n][d];
        for (float[] row : ref) {
            for (int j = 0; j < d; j++) {
                row[j] = (float) rnd.nextGaussian();
            }
        }
        Path out = dir.resolve("cos");
        KnnJoinJob.run(spark, frame(spark, ids, ref, 2), frame(spark, ids, ref, 1),
                KnnJoinJob.Options.of(50).withExcludeSelf(true).withBlockRows(7), out.toString());
        TreeMap<Long, List<double[]>> got = read(spark, out);
        assertEquals(n, got.size());
        for (int i = 0; i < n; i++) {
            List<double[]> want = brute(ref[i], ids, ref, Metric.COSINE, 50, ids[i]);
            List<double[]> have = got.get(ids[i]);
            assertEquals(n - 1, have.size(), "k = 50 over 30 rows less the query itself");
            for (int r = 0; r < want.size(); r++) {
                assertEquals(want.get(r)[1], have.get(r)[1], 1e-5, "cosine at rank " + (r + 1));
                // Random Gaussian data: no two cosines within 1e-5 of each other here, so the order is exact.
                assertEquals((long) want.get(r)[0], (long) have.get(r)[0], "query " + ids[i] + " rank " + (r + 1));
            }
        }
    }

    @Test
    void badVectorsAndColumnsAreNamed() throws Exception {
        SparkSession spark = LocalSpark.get();
        float[][] ref = {{1, 2, 3}, {4, 5, 6}};
        Dataset<Row> good = frame(spark, new long[] {1, 2}, ref, 1);
        Dataset<Row> shortQuery = frame(spark, new long[] {9}, new float[][] {{1, 2}}, 1);
        SparkException e = assertThrows(SparkException.class, () -> KnnJoinJob.run(spark, shortQuery, good,
                KnnJoinJob.Options.of(1), dir.resolve("a").toString()));
        assertTrue(EmbedJobTest.messages(e).contains("query row with id 9 has a vector of dimension 2; the reference's is 3"),
                EmbedJobTest.messages(e));

        Dataset<Row> withNull = spark.createDataFrame(List.of(RowFactory.create(1L, new float[] {1, 2, 3}),
                RowFactory.create(2L, null)), new StructType().add("id", DataTypes.LongType)
                .add("vector", DataTypes.createArrayType(DataTypes.FloatType, false), true));
        IllegalArgumentException ie = assertThrows(IllegalArgumentException.class, () -> KnnJoinJob.run(spark, good,
                withNull, KnnJoinJob.Options.of(1), dir.resolve("b").toString()));
        assertEquals("reference row with id 2 has a null vector", ie.getMessage());

        ie = assertThrows(IllegalArgumentException.class, () -> KnnJoinJob.run(spark, good,
                good.withColumnRenamed("vector", "emb"), KnnJoinJob.Options.of(1), dir.resolve("c").toString()));
        assertEquals("the input has no reference vector column 'vector'; its columns: id, emb", ie.getMessage());

        Path exists = Files.createDirectories(dir.resolve("exists"));
        ie = assertThrows(IllegalArgumentException.class, () -> KnnJoinJob.run(spark, good, good,
                KnnJoinJob.Options.of(1), exists.toString()));
        assertTrue(ie.getMessage().contains("exists; choose a new path"), ie.getMessage());
        assertEquals(List.of(), Arrays.asList(Files.list(exists).toArray()), "nothing written into the existing folder");
    }

    @Test
    void embedThenSelfJoinFromTheCommandLineFindsPlantedDuplicates() throws Exception {
        SparkSession spark = LocalSpark.get();
        Path corpus = dir.resolve("c.jsonl");
        Files.writeString(corpus, String.join("\n",
                "{\"id\":\"a\",\"text\":\"The cat sat on the mat.\"}",
                "{\"id\":\"b\",\"text\":\"Quarterly revenue rose by four percent.\"}",
                "{\"id\":\"c\",\"text\":\"The cat sat on the mat!\"}",
                "{\"id\":\"d\",\"text\":\"Revenue for the quarter rose four percent.\"}",
                "{\"id\":\"e\",\"text\":\"A volcano erupted on the island overnight.\"}") + "\n");
        Path vectors = dir.resolve("v.parquet");
        assertEquals(0, Jobs.run(new EmbedJob(), new String[] {"--input", corpus.toString(), "--id-column", "id",
                "--output", vectors.toString()}));
        Path knn = dir.resolve("knn.parquet");
        assertEquals(0, Jobs.run(new KnnJoinJob(), new String[] {"--queries", vectors.toString(), "--reference",
                vectors.toString(), "--k", "1", "--exclude-self", "--output", knn.toString()}));
        TreeMap<String, String> nearest = new TreeMap<>();
        for (Row r : spark.read().parquet(knn.toString()).collectAsList()) {
            assertEquals(1, r.getInt(1));
            nearest.put(r.getString(0), r.getString(2));
        }
        assertEquals("c", nearest.get("a"));
        assertEquals("a", nearest.get("c"));
        assertEquals("d", nearest.get("b"));
        assertEquals("b", nearest.get("d"));
        assertEquals(5, nearest.size());

        // records travel as columns: kept by the embedding, copied onto each result for its neighbour
        Path corpus2 = dir.resolve("c2.jsonl");
        Files.writeString(corpus2, String.join("\n",
                "{\"id\":\"a\",\"text\":\"The cat sat on the mat.\",\"lang\":\"en\",\"year\":2001}",
                "{\"id\":\"b\",\"text\":\"Quarterly revenue rose by four percent.\",\"lang\":\"en\",\"year\":2002}",
                "{\"id\":\"c\",\"text\":\"The cat sat on the mat!\",\"lang\":\"fr\",\"year\":2003}") + "\n");
        Path kept = dir.resolve("kept.parquet");
        assertEquals(0, Jobs.run(new EmbedJob(), new String[] {"--input", corpus2.toString(), "--id-column", "id",
                "--keep-columns", "text,lang,year", "--output", kept.toString()}));
        assertEquals(java.util.List.of("id", "vector", "model", "text", "lang", "year"),
                java.util.List.of(spark.read().parquet(kept.toString()).schema().fieldNames()));
        Path knn2 = dir.resolve("knn2.parquet");
        assertEquals(0, Jobs.run(new KnnJoinJob(), new String[] {"--queries", kept.toString(), "--reference",
                kept.toString(), "--k", "1", "--exclude-self", "--neighbor-columns", "text,lang", "--output", knn2.toString()}));
        Dataset<Row> res = spark.read().parquet(knn2.toString());
        assertEquals(java.util.List.of("query_id", "rank", "neighbor_id", "score", "text", "lang"),
                java.util.List.of(res.schema().fieldNames()));
        for (Row r : res.collectAsList()) {
            if (r.getString(0).equals("a")) {
                assertEquals("c", r.getString(2));
                assertEquals("The cat sat on the mat!", r.getString(4));
                assertEquals("fr", r.getString(5));
            }
        }
        assertEquals(3, res.count());
    }
}
