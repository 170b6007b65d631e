package dev.latent.spark;

import dev.latent.encode.text.TextEncoder;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;
import org.apache.spark.SparkFiles;

/**
 * Which text model a job's executors open: a model of the manifest that ships inside the job jar
 * (by name), or a user's own ONNX export with its tokenizer.json (by path). A path is used as given
 * when the file exists on the executor (a shared file system), else looked up among the files shipped
 * with {@code spark-submit --files} by its file name.
 *
 * <p>Immutable and serializable: the driver builds one and every task receives a copy; equal values
 * share one encoder per executor JVM ({@link ExecutorEncoders}).
 */
public record TextModel(String name, String onnx, String tokenizer, int threads) implements Serializable {
    public TextModel {
        if ((onnx == null) != (tokenizer == null)) {
            throw new IllegalArgumentException("an ONNX file and its tokenizer.json go together");
        }
        if (name != null && onnx != null) {
            throw new IllegalArgumentException("name a manifest model or give ONNX and tokenizer files, not both");
        }
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0 (0: all the executor JVM's cores), got " + threads);
        }
    }

    /** A manifest model by name ({@code null}: the manifest's default), all cores of the executor JVM. */
    public static TextModel named(String name) {
        return new TextModel(name, null, null, 0);
    }

    /** A user's own export: paths on the executors, or names of files shipped with {@code --files}. */
    public static TextModel files(String onnx, String tokenizer) {
        return new TextModel(null, Objects.requireNonNull(onnx, "onnx"), Objects.requireNonNull(tokenizer, "tokenizer"), 0);
    }

    /** The same model with the encoder's threads capped (0: all cores). */
    public TextModel withThreads(int n) {
        return new TextModel(name, onnx, tokenizer, n);
    }

    /** What the output's model column records: the manifest name, or the ONNX file's name. */
    public String label() {
        if (onnx != null) {
            return Path.of(onnx).getFileName().toString();
        }
        return name != null ? name : TextEncoder.defaultModel();
    }

    /** Opens the encoder (on an executor). */
    TextEncoder open() throws NoSuchFileException {
        TextEncoder.Builder b = TextEncoder.builder();
        if (threads > 0) {
            // One worker with all the threads: a task's batches run one after another on them.
            b.workers(1).intraOpThreads(threads);
        }
        if (onnx != null) {
            return b.modelPath(locate(onnx)).tokenizerPath(locate(tokenizer)).build();
        }
        return b.model(name != null ? name : TextEncoder.defaultModel()).build();
    }

    private static Path locate(String file) throws NoSuchFileException {
        Path p = Path.of(file);
        if (Files.isRegularFile(p)) {
            return p;
        }
        Path shipped = Path.of(SparkFiles.get(p.getFileName().toString()));
        if (Files.isRegularFile(shipped)) {
            return shipped;
        }
        throw new NoSuchFileException(file, null, "not on this executor, and not among the files shipped with "
                + "--files (looked for " + shipped + ")");
    }
}
