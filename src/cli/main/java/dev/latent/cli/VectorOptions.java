package dev.latent.cli;

import dev.latent.core.Metric;
import dev.latent.corpus.Corpus;
import dev.latent.job.VectorInput;
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
        return open(file, metric, ids, cl);
    }

    /** The corpus, or null when none was given. */
    Corpus corpus(CommandLine cl) throws IOException {
        return corpus(cl, corpus, corpusFormat);
    }

    /**
     * The vectors of {@code file} ({@link VectorInput#open}): a bad {@code --metric}, {@code --ids} with an index,
     * a metric that differs from the index's or an index that cannot be used are usage errors.
     */
    static VectorInput open(Path file, String metricOption, Path idsFile, CommandLine cl) throws IOException {
        Metric asked = null;
        if (metricOption != null) {
            try {
                asked = Metric.parse(metricOption);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cl, e.getMessage());
            }
        }
        if (!VectorInput.isIndex(file)) {
            return VectorInput.open(file, asked, idsFile);   // an .npy file that cannot be read is no usage error
        }
        try {
            return VectorInput.open(file, asked, idsFile);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
    }

    /**
     * The corpus a command's {@code --corpus} option names, or null when it names none; a bad
     * {@code --corpus-format} is a usage error.
     */
    static Corpus corpus(CommandLine cl, Path file, String format) throws IOException {
        if (file == null) {
            return null;
        }
        try {
            return Corpus.file(file, format);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
    }
}
