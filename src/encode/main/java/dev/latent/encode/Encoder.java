package dev.latent.encode;

import dev.latent.core.FloatMatrix;
import java.util.List;

/**
 * A model that turns inputs into vectors, whatever its modality: {@code TextEncoder} (texts),
 * {@code ImageEncoder} (image files) and {@code TensorEncoder} (numeric rows) all are one, so code that only
 * needs vectors (embedding a corpus, serving, a benchmark) is written once.
 *
 * <p>Implementations own their ONNX session and native memory; {@link #close()} frees them, once. They are
 * thread-safe: concurrent {@link #encode} calls share the session.
 *
 * @param <I> one input: a text ({@code String}), an image file ({@code java.nio.file.Path}), a numeric row
 *            ({@code float[]})
 */
public interface Encoder<I> extends AutoCloseable {
    /**
     * The vectors of {@code inputs}: one row per input, in order, {@link #dimension()} columns. The caller owns
     * the matrix (close it).
     *
     * @throws IllegalArgumentException for an input the model cannot take, named by its index
     * @throws java.io.UncheckedIOException for an input file that cannot be read
     */
    FloatMatrix encode(List<I> inputs);

    /** Columns of the vectors. */
    int dimension();

    /** What the model's input is. */
    Modality modality();

    /** "CPU" or "CUDA": the ONNX Runtime execution provider in use. */
    String provider();

    /** The model: name, files, pooling, normalisation. */
    ModelSpec spec();

    /** Frees the session and native memory; later calls fail. */
    @Override
    void close();
}
