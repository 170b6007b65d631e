package dev.latent.job;

import dev.latent.core.FloatMatrix;
import dev.latent.encode.tensor.CsvRows;
import dev.latent.encode.tensor.TensorEncoder;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Embeds numeric rows with a tensor model into {@link EmbeddingTargets}: the rows of a {@code .npy} file (ids: the
 * row numbers 0, 1, ...) or of a CSV file ({@link CsvRows}: ids from its {@code id} column, else the line
 * numbers), all encoded in memory, then the vectors, ids and an index under the row numbers written together,
 * with the model and modality in the index's metadata.
 *
 * <p>Holds no state: the method is static and runs on the calling thread. The caller owns the encoder.
 */
public final class RowEmbedding {
    private RowEmbedding() {
    }

    /**
     * Result of a row embedding run.
     *
     * @param rows    rows embedded
     * @param elapsed wall time of the run
     */
    public record Stats(long rows, Duration elapsed) {
    }

    /**
     * Reads the rows of {@code input} ({@code .npy} by its extension, in any case, else CSV), encodes them with
     * {@code enc} and writes {@code targets}, all of them or none.
     *
     * @throws EmbeddingInputException naming the file (and line) that cannot be read, or the file and the row the
     *                                 model refused (a number that is not finite, a width it does not take);
     *                                 nothing was written
     * @throws IOException             naming a target that could not be written; none changed
     */
    public static Stats run(Path input, TensorEncoder enc, EmbeddingTargets targets) throws IOException {
        long start = System.nanoTime();
        List<String> ids;
        FloatMatrix rows;
        try {
            if (input.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".npy")) {
                rows = Npy.read(input);
                ids = new ArrayList<>();
                for (long i = 0; i < rows.rows(); i++) {
                    ids.add(String.valueOf(i));
                }
            } else {
                CsvRows csv = CsvRows.read(input, enc.columns());
                rows = csv.values();
                ids = csv.ids();
            }
        } catch (IOException e) {
            throw new EmbeddingInputException(e.getMessage(), e);
        }
        try (FloatMatrix x = rows) {
            FloatMatrix v;
            try {
                v = enc.encode(x);
            } catch (IllegalArgumentException e) {
                throw new EmbeddingInputException(input + ": " + e.getMessage(), e);
            }
            try (v) {
                targets.describing(enc).write(v, ids);
                return new Stats(v.rows(), Duration.ofNanos(System.nanoTime() - start));
            }
        }
    }
}
