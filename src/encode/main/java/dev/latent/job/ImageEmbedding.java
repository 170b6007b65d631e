package dev.latent.job;

import dev.latent.core.FloatMatrix;
import dev.latent.corpus.ImageCorpus;
import dev.latent.encode.image.ImageEncoder;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Embeds the images of an {@link ImageCorpus} into {@link EmbeddingTargets}: every image decoded, preprocessed and
 * encoded first (the vectors of the whole corpus in memory), then the vectors, the images' ids (their paths
 * relative to the corpus folder) and an index under the row numbers written together, with the model and
 * modality in the index's metadata. An image that cannot be read stops the run before anything is written, or,
 * when asked, is left out and reported.
 *
 * <p>Holds no state: the method is static and runs on the calling thread (the encoder runs workers of its own).
 * The caller owns the encoder.
 */
public final class ImageEmbedding {
    private ImageEmbedding() {
    }

    /**
     * Result of an image embedding run.
     *
     * @param images  images embedded (rows written)
     * @param skipped the images left out, each as "path: reason", in corpus order
     * @param elapsed wall time of the run
     */
    public record Stats(long images, List<String> skipped, Duration elapsed) {
        public Stats {
            skipped = List.copyOf(skipped);
        }
    }

    /**
     * Encodes every image of {@code images} with {@code enc} and writes {@code targets}, all of them or none.
     *
     * @param skipUnreadable false: an image that cannot be read or decoded stops the run; true: such images are
     *                       left out (told to {@code skipped} and listed in {@link Stats#skipped()})
     * @param skipped        told each image left out ("path: reason") before anything is written; may be null
     * @throws EmbeddingInputException naming the first image that cannot be read (without {@code skipUnreadable}),
     *                                 or saying that no image could be read; nothing was written
     * @throws IOException             naming a target that could not be written; none changed
     */
    public static Stats run(ImageCorpus images, ImageEncoder enc, boolean skipUnreadable, EmbeddingTargets targets,
            Consumer<String> skipped) throws IOException {
        long start = System.nanoTime();
        ImageEncoder.Result r;
        try {
            r = enc.encode(images.files(), skipUnreadable);
        } catch (IOException e) {
            throw new EmbeddingInputException(e.getMessage(), e);
        }
        try (FloatMatrix v = r.vectors()) {
            if (skipped != null) {
                r.skipped().forEach(skipped);
            }
            if (v.rows() == 0) {
                throw new EmbeddingInputException("no image could be read; nothing was written", null);
            }
            List<String> kept = new ArrayList<>(r.kept().length);
            List<dev.latent.space.Record> records = new ArrayList<>(r.kept().length);
            for (int item : r.kept()) {
                String id = images.ids().get(item);
                kept.add(id);
                records.add(dev.latent.space.Record.of(id, null));   // the key is the image's path; no text
            }
            targets.describing(enc).write(v, kept, records);
            return new Stats(v.rows(), r.skipped(), Duration.ofNanos(System.nanoTime() - start));
        }
    }
}
