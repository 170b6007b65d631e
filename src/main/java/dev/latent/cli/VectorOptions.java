package dev.latent.cli;

import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * The options of the commands that read vectors from an index or an {@code .npy} file, with the corpus they
 * were embedded from: {@code --metric} and {@code --ids} (for {@code .npy}), {@code --corpus} and
 * {@code --corpus-format}. A picocli mixin; one instance per command invocation.
 */
final class VectorOptions {
    @Option(names = "--metric", paramLabel = "METRIC", description = "For .npy input: cosine, ip or l2 (default cosine); an index has its own.")
    String metric;

    @Option(names = "--ids", paramLabel = "FILE", description = "For .npy input: ids, one integer per line (default: row numbers).")
    Path ids;

    @Option(names = "--corpus", paramLabel = "FILE", description = "The corpus the vectors were embedded from: adds their texts.")
    Path corpus;

    @Option(names = "--corpus-format", paramLabel = "FMT", defaultValue = "auto", description = "auto, text or jsonl.")
    String corpusFormat;

    /** Registers the inputs these options name. */
    FileRoles inputs(FileRoles roles) {
        return roles.input("ids input (--ids)", ids).input("input corpus (--corpus)", corpus);
    }

    /** The vectors of {@code file} with these options' metric and ids. */
    VectorInput open(Path file, CommandLine cl) throws IOException {
        return VectorInput.open(file, metric, ids, cl);
    }

    /** The corpus, or null when none was given. */
    Corpus corpus(CommandLine cl) throws IOException {
        return Corpus.option(cl, corpus, corpusFormat);
    }
}
