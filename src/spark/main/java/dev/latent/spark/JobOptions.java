package dev.latent.spark;

import picocli.CommandLine.Option;

/** The command-line options both jobs take: where the output goes, and the master outside spark-submit. */
final class JobOptions {
    @Option(names = "--output", required = true, paramLabel = "PATH", description = "Parquet output folder (must not exist).")
    String output;

    @Option(names = "--master", paramLabel = "URL", description = "Spark master when not set by spark-submit (e.g. local[2]).")
    String master;
}
