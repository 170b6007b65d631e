package dev.latent.encode.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.latent.core.FloatMatrix;
import dev.latent.encode.ImageSpec;
import dev.latent.encode.onnx.OnnxModel;
import dev.latent.space.format.Npy;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Preprocessing against Pillow: the reference tensors and embeddings in the test resources were computed by
 * {@code models/tools/make_image_reference.py} (Pillow 9.4, numpy, torch) from the same image files.
 */
class ImagePreprocessorTest {
    static Path resources() {
        try {
            return Path.of(ImagePreprocessorTest.class.getResource("/dev/latent/encode/image/reference.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<Path> images(JsonNode ref, Path dir) {
        List<Path> files = new ArrayList<>();
        ref.get("images").forEach(n -> files.add(dir.resolve(n.asText())));
        return files;
    }

    @Test
    void tensorsMatchPillowWithinOneHundredth() throws Exception {
        Path dir = resources();
        JsonNode ref = new ObjectMapper().readTree(dir.resolve("reference.json").toFile());
        List<Path> files = images(ref, dir);
        for (Iterator<Map.Entry<String, JsonNode>> it = ref.get("configs").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> config = it.next();
            ImageSpec spec = ImageSpec.fromJson(config.getValue());
            ImagePreprocessor pre = new ImagePreprocessor(spec);
            try (FloatMatrix want = Npy.read(dir.resolve("reference-" + config.getKey() + ".npy"))) {
                assertEquals(files.size(), want.rows());
                assertEquals(spec.tensorSize(), want.cols());
                for (int i = 0; i < files.size(); i++) {
                    float[] got = new float[spec.tensorSize()];
                    pre.tensor(files.get(i), got, 0);
                    float[] w = want.getRow(i);
                    double max = 0;
                    int exact = 0;
                    for (int j = 0; j < got.length; j++) {
                        double diff = Math.abs(got[j] - w[j]);
                        max = Math.max(max, diff);
                        exact += diff < 1e-5 ? 1 : 0;
                    }
                    String what = config.getKey() + " " + files.get(i).getFileName();
                    System.out.printf("preprocess %-28s max |diff| %.2e, %d of %d values equal%n", what, max, exact, got.length);
                    assertTrue(max <= 1e-2, what + ": max |diff| " + max);
                }
            }
        }
    }

    @Test
    void embeddingsThroughASmallCnnMatchTorch() throws Exception {
        Path dir = resources();
        JsonNode ref = new ObjectMapper().readTree(dir.resolve("reference.json").toFile());
        List<Path> files = images(ref, dir);
        ImageSpec spec = ImageSpec.fromJson(ref.get("configs").get("clip"));
        try (ImageEncoder enc = ImageEncoder.open(ImageEncoder.specOf(dir.resolve("tiny-cnn.onnx"), spec, false),
                OnnxModel.Options.cpu(1), 1);
             FloatMatrix want = Npy.read(dir.resolve("embeddings-clip.npy"))) {
            ImageEncoder.Result r = enc.encode(files, false);
            assertEquals(files.size(), r.vectors().rows());
            assertTrue(r.skipped().isEmpty());
            for (int i = 0; i < files.size(); i++) {
                float[] a = r.vectors().getRow(i);
                float[] b = want.getRow(i);
                double dot = 0, na = 0, nb = 0;
                for (int c = 0; c < a.length; c++) {
                    dot += (double) a[c] * b[c];
                    na += (double) a[c] * a[c];
                    nb += (double) b[c] * b[c];
                }
                double cos = dot / Math.sqrt(na * nb);
                System.out.printf("embedding %-20s cosine to torch %.7f%n", files.get(i).getFileName(), cos);
                assertTrue(cos >= 0.9999, files.get(i) + ": cosine " + cos);
            }
            r.vectors().close();
        }
    }
}
