package dev.latent.encode.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.latent.encode.ImageSpec;
import dev.latent.encode.ModelManifest;
import dev.latent.encode.ModelSpec;
import dev.latent.encode.onnx.OnnxModel;
import java.awt.image.BufferedImage;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The shipped digits autoencoder: reconstruction on held-out digits, planted outliers, decoding a path. */
class AutoencoderTest {
    private static final long SEED = System.nanoTime();
    private static Autoencoder ae;
    private static SampleDigits digits;
    private static int[] heldOut;
    private static double recordedHeldOutMse;

    @BeforeAll
    static void open() throws Exception {
        ModelSpec spec = ModelManifest.get().model("digits-ae");
        ae = Autoencoder.open(spec, OnnxModel.Options.cpu(1));
        digits = SampleDigits.load();
        try (InputStream in = AutoencoderTest.class.getClassLoader()
                .getResourceAsStream("dev/latent/encode/models/digits-ae/training.json")) {
            JsonNode t = new ObjectMapper().readTree(in);
            JsonNode idx = t.get("split").get("heldOutIndices");
            heldOut = new int[idx.size()];
            for (int i = 0; i < heldOut.length; i++) {
                heldOut[i] = idx.get(i).asInt();
            }
            recordedHeldOutMse = t.get("reconstructionMse").get("heldOut").asDouble();
        }
    }

    @AfterAll
    static void close() {
        if (ae != null) {
            ae.close();
        }
    }

    private static ImageSpec spec() {
        return ae.encoder().preprocessor().spec();
    }

    /** Pixel tensors of images, through the same preprocessing as files get. */
    private static float[] tensors(List<BufferedImage> images) {
        float[] out = new float[images.size() * spec().tensorSize()];
        for (int i = 0; i < images.size(); i++) {
            ae.encoder().preprocessor().tensor(ImagePreprocessor.toPixels(images.get(i), 1), out, i * spec().tensorSize());
        }
        return out;
    }

    @Test
    void theManifestEntryDescribesAnImageAutoencoder() {
        ModelSpec spec = ModelManifest.get().model("digits-ae");
        assertEquals(8, ae.dimension());
        assertEquals("digits-ae-decoder.onnx", spec.source().decoder());
        assertEquals(64, spec.image().tensorSize());
        ModelSpec text = ModelManifest.get().model(ModelManifest.get().defaultModel());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Autoencoder.open(text, OnnxModel.Options.cpu(1)));
        assertTrue(e.getMessage().contains("no decoder"), e.getMessage());
    }

    @Test
    void heldOutDigitsReconstructAsWellAsTrainingRecorded() {
        List<BufferedImage> images = new ArrayList<>();
        for (int i : heldOut) {
            images.add(digits.image(i));
        }
        double[] err = ae.reconstructionErrors(tensors(images), images.size());
        double mean = Arrays.stream(err).average().orElseThrow();
        System.out.printf("digits-ae held-out reconstruction MSE through 8-bit PNG pixels: %.5f (training record %.5f), %d digits%n",
                mean, recordedHeldOutMse, err.length);
        // The PNG route rounds pixels to 1/255 steps: the error may move a little, not much.
        assertEquals(recordedHeldOutMse, mean, 0.1 * recordedHeldOutMse);
        assertTrue(mean < 0.5 * 0.0245, "twice better than an 8-component PCA (0.0245): " + mean);
    }

    @Test
    void plantedOutliersHaveTheLargestReconstructionErrors() {
        Random rnd = new Random(SEED);
        List<BufferedImage> images = new ArrayList<>();
        for (int i : heldOut) {
            images.add(digits.image(i));
        }
        int normal = images.size();
        for (int p = 0; p < 10; p++) { // noise images
            BufferedImage img = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY);
            for (int y = 0; y < 8; y++) {
                for (int x = 0; x < 8; x++) {
                    img.getRaster().setSample(x, y, 0, rnd.nextInt(256));
                }
            }
            images.add(img);
        }
        for (int p = 0; p < 10; p++) { // inverted digits
            BufferedImage img = digits.image(heldOut[rnd.nextInt(heldOut.length)]);
            for (int y = 0; y < 8; y++) {
                for (int x = 0; x < 8; x++) {
                    img.getRaster().setSample(x, y, 0, 255 - img.getRaster().getSample(x, y, 0));
                }
            }
            images.add(img);
        }
        double[] err = ae.reconstructionErrors(tensors(images), images.size());
        Integer[] order = new Integer[err.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(err[b], err[a]));
        double worstNormal = 0;
        for (int i = 0; i < normal; i++) {
            worstNormal = Math.max(worstNormal, err[i]);
        }
        double leastPlanted = Double.MAX_VALUE;
        for (int i = normal; i < err.length; i++) {
            leastPlanted = Math.min(leastPlanted, err[i]);
        }
        System.out.printf("planted outliers: smallest planted error %.4f, largest held-out digit error %.4f (seed %d)%n",
                leastPlanted, worstNormal, SEED);
        for (int r = 0; r < 20; r++) {
            assertTrue(order[r] >= normal, "rank " + r + " is held-out digit " + order[r] + " (error " + err[order[r]]
                    + "), not a planted outlier; seed " + SEED);
        }
    }

    @Test
    void aPathFromAThreeToAnEightDecodesIntoAMorph() throws Exception {
        int three = -1;
        int eight = -1;
        for (int i : heldOut) {
            if (three < 0 && digits.label(i) == 3) {
                three = i;
            }
            if (eight < 0 && digits.label(i) == 8) {
                eight = i;
            }
        }
        float[] ends = tensors(List.of(digits.image(three), digits.image(eight)));
        float[] z = ae.encoder().run(ends, 2);
        int d = ae.dimension();
        int steps = 8;
        float[] path = new float[steps * d];
        for (int s = 0; s < steps; s++) {
            double t = s / (double) (steps - 1);
            for (int c = 0; c < d; c++) {
                path[s * d + c] = (float) ((1 - t) * z[c] + t * z[d + c]);
            }
        }
        float[] frames = ae.decode(path, steps);
        int size = spec().tensorSize();
        double[] toThree = new double[steps];
        double[] toEight = new double[steps];
        for (int s = 0; s < steps; s++) {
            for (int j = 0; j < size; j++) {
                toThree[s] += Math.pow(frames[s * size + j] - ends[j], 2);
                toEight[s] += Math.pow(frames[s * size + j] - ends[size + j], 2);
            }
        }
        System.out.println("path 3 -> 8: squared distance of each frame to the 3: " + Arrays.toString(toThree));
        System.out.println("path 3 -> 8: squared distance of each frame to the 8: " + Arrays.toString(toEight));
        assertTrue(toThree[0] < toEight[0] && toEight[steps - 1] < toThree[steps - 1], "the ends look like their digits");
        assertTrue(toThree[steps - 1] > toThree[0] && toEight[0] > toEight[steps - 1], "the path moves from one to the other");
        BufferedImage strip = Autoencoder.strip(frames, steps, spec(), 8, 4);
        assertEquals(steps * 64 + (steps + 1) * 4, strip.getWidth());
        Path out = Path.of("target", "digits-ae-path-3-to-8.png");
        Files.createDirectories(out.getParent());
        assertTrue(ImageIO.write(strip, "png", out.toFile()));
    }
}
