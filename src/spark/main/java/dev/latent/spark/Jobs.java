package dev.latent.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;

/** What the jobs' command lines share: the session, input formats, the output check, the exit code. */
final class Jobs {
    private Jobs() {
    }

    /**
     * Runs {@code work} in the session spark-submit configured (or a new one on {@code master} when given);
     * stops the session afterwards only if it made it, so a job called inside a running application (a
     * notebook, a test suite) leaves that application's session alone.
     */
    static void inSession(String app, String master, java.util.function.Consumer<SparkSession> work) {
        boolean existed = SparkSession.getActiveSession().isDefined() || SparkSession.getDefaultSession().isDefined();
        SparkSession.Builder b = SparkSession.builder().appName(app);
        if (master != null) {
            b.master(master);
        }
        SparkSession spark = b.getOrCreate();
        try {
            work.accept(spark);
        } finally {
            if (!existed) {
                spark.stop();
            }
        }
    }

    /** The format named, else the one the path's extension says, else Parquet. */
    static String format(String named, String path) {
        String f = named != null ? named.toLowerCase(Locale.ROOT) : guess(path);
        return switch (f) {
            case "parquet", "json", "csv", "text" -> f;
            case "jsonl" -> "json";
            case "txt" -> "text";
            default -> throw new IllegalArgumentException("unknown input format '" + f + "': parquet, json, csv or text");
        };
    }

    private static String guess(String path) {
        String p = path.toLowerCase(Locale.ROOT).replaceAll("/+$", "");
        for (String ext : new String[] {"parquet", "jsonl", "json", "csv", "txt"}) {
            if (p.endsWith("." + ext)) {
                return ext;
            }
        }
        return "parquet";
    }

    /**
     * Reads {@code path}. CSV has a header row and is read as RFC 4180 says, as the command line's reader
     * ({@link dev.latent.corpus.Corpus}) reads it: a quote inside a quoted field is written twice ({@code ""}; Spark's
     * default escape is a backslash, which would end the field there), and a quoted field may hold line breaks
     * ({@code multiLine}: a CSV file is then read by one task, not split). A ragged row (more or fewer fields
     * than the header) fails the job naming it instead of being padded with nulls.
     */
    static Dataset<Row> read(SparkSession spark, String format, String path) {
        return switch (format) {
            case "csv" -> spark.read().option("header", "true").option("mode", "FAILFAST")
                    .option("enforceSchema", "false").option("quote", "\"").option("escape", "\"")
                    .option("multiLine", "true").csv(path);
            case "json" -> spark.read().option("mode", "FAILFAST").json(path);
            case "text" -> spark.read().text(path);
            default -> spark.read().parquet(path);
        };
    }

    /** Refuses an output path that exists: a job never replaces data, its input included. */
    static void refuseExisting(SparkSession spark, String output) {
        try {
            Path p = new Path(output);
            FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
            if (fs.exists(p)) {
                throw new IllegalArgumentException("output " + output + " exists; choose a new path (nothing is replaced)");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check output " + output + ": " + e.getMessage(), e);
        }
    }

    /** Runs a picocli command: 0 on success, 2 for bad usage, 1 with a one-line reason otherwise. */
    static int run(Callable<Integer> job, String[] args) {
        CommandLine cl = new CommandLine(job);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root
                    && !(root instanceof IllegalArgumentException)) {
                root = root.getCause();
            }
            cmd.getErr().println(cmd.getCommandName() + ": " + root.getMessage());
            return 1;
        });
        return cl.execute(args);
    }
}
