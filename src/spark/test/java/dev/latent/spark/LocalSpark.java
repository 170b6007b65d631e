package dev.latent.spark;

import org.apache.spark.sql.SparkSession;

/**
 * The one Spark session of the test suite: local mode with two worker threads and up to two attempts per
 * task (so the retry tests see Spark retry), UI off, bound to 127.0.0.1, two shuffle partitions. Started
 * by the first test that needs it (about 4 s), stopped when the test JVM exits.
 */
final class LocalSpark {
    private static SparkSession spark;

    private LocalSpark() {
    }

    static synchronized SparkSession get() {
        if (spark == null) {
            spark = SparkSession.builder()
                    .appName("latent-spark-tests")
                    .master("local[2,2]")
                    .config("spark.ui.enabled", "false")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .config("spark.sql.shuffle.partitions", "2")
                    .getOrCreate();
            spark.sparkContext().setLogLevel("ERROR");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> spark.stop(), "spark-stop"));
        }
        return spark;
    }
}
