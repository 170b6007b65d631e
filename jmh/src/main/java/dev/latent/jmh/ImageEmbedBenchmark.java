package dev.latent.jmh;

import dev.latent.core.FloatMatrix;
import dev.latent.encode.ImageSpec;
import dev.latent.encode.ModelFiles;
import dev.latent.encode.ModelManifest;
import dev.latent.encode.ModelSpec;
import dev.latent.encode.PilResize;
import dev.latent.encode.image.ImageEncoder;
import dev.latent.encode.image.SampleDigits;
import dev.latent.encode.onnx.Feeds;
import dev.latent.encode.onnx.OnnxModel;
import dev.latent.encode.onnx.Outputs;
import dev.latent.encode.onnx.Provider;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Image embedding throughput on the CPU: images per second from files on disk to vectors, for the shipped
 * digits autoencoder (the 1,797 digits as 8×8 PNGs) and for a CNN-sized model ({@code bench-cnn-224.onnx}: a
 * small ResNet, 224 × 224 RGB, 0.25 G multiply-adds per image; {@code models/tools/make_bench_cnn.py}) on 64
 * synthetic 320 × 240 JPEGs, shorter side to 256 with Pillow's bicubic, centre crop 224.
 *
 * <p>In the same run, the peer is what a user writes without Latent: {@code ImageIO.read}, Java2D's bicubic
 * scaling ({@code drawImage} with {@code VALUE_INTERPOLATION_BICUBIC}, no antialiasing when shrinking), the
 * same crop and normalisation, then the same ONNX session in batches of 32 on one thread; and the model alone
 * on tensors made beforehand (the floor for the CNN: what is left once decoding and resizing cost nothing).
 * The {@code images} secondary score is images per second.
 *
 * <pre>
 * java -jar jmh/target/benchmarks.jar ImageEmbedBenchmark -f 1 -wi 1 -i 3
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 10, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 10, timeUnit = TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class ImageEmbedBenchmark {
    private static final ImageSpec CNN = new ImageSpec(224, 224, 256, PilResize.Filter.BICUBIC, 3, 1 / 255.0,
            new float[] {0.485f, 0.456f, 0.406f}, new float[] {0.229f, 0.224f, 0.225f});

    /** Synthetic photos for the CNN. */
    @Param({"64"})
    public int photos;

    private Path dir;
    private List<Path> digitFiles;
    private List<Path> photoFiles;
    private ImageEncoder digits;
    private ImageEncoder cnn;
    private OnnxModel cnnModel;
    private float[] cnnTensors;

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Images {
        public long images;

        @Setup(Level.Iteration)
        public void reset() {
            images = 0;
        }
    }

    @Setup(Level.Trial)
    public void setup() throws IOException {
        dir = Files.createTempDirectory("latent-image-bench");
        digitFiles = SampleDigits.load().write(dir.resolve("digits"), 0, SampleDigits.load().size());
        Random rnd = new Random(42);
        photoFiles = new ArrayList<>();
        Files.createDirectories(dir.resolve("photos"));
        for (int i = 0; i < photos; i++) {
            BufferedImage img = new BufferedImage(320, 240, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = img.createGraphics();
            for (int s = 0; s < 40; s++) {
                g.setColor(new Color(rnd.nextInt(256), rnd.nextInt(256), rnd.nextInt(256)));
                g.fillOval(rnd.nextInt(320) - 40, rnd.nextInt(240) - 40, 20 + rnd.nextInt(120), 20 + rnd.nextInt(120));
            }
            g.dispose();
            Path f = dir.resolve("photos").resolve(String.format("p%03d.jpg", i));
            ImageIO.write(img, "jpg", f.toFile());
            photoFiles.add(f);
        }
        int threads = Runtime.getRuntime().availableProcessors();
        digits = ImageEncoder.open(ModelManifest.get().model("digits-ae"), new OnnxModel.Options(1, threads, Provider.CPU), threads);
        Path onnx = dir.resolve("bench-cnn-224.onnx");
        try (InputStream in = ImageEmbedBenchmark.class.getResourceAsStream("/bench-cnn-224.onnx")) {
            Files.copy(in, onnx, StandardCopyOption.REPLACE_EXISTING);
        }
        ModelSpec cnnSpec = ImageEncoder.specOf(onnx, CNN, true);
        cnn = ImageEncoder.open(cnnSpec, new OnnxModel.Options(1, threads, Provider.CPU), threads);
        // The peer and the floor: one session with every core for intra-op threads, one caller.
        cnnModel = OnnxModel.open(ModelFiles.locate(cnnSpec.source()), OnnxModel.Options.cpu(threads));
        cnnTensors = new float[photos * CNN.tensorSize()];
        for (int i = 0; i < photos; i++) {
            cnn.preprocessor().tensor(photoFiles.get(i), cnnTensors, i * CNN.tensorSize());
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        digits.close();
        cnn.close();
        cnnModel.close();
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Benchmark
    public long latentDigitsAutoencoder(Images count) throws IOException {
        try (FloatMatrix v = digits.encode(digitFiles, false).vectors()) {
            count.images += v.rows();
            return v.rows();
        }
    }

    @Benchmark
    public long latentCnn(Images count) throws IOException {
        try (FloatMatrix v = cnn.encode(photoFiles, false).vectors()) {
            count.images += v.rows();
            return v.rows();
        }
    }

    /** The peer: ImageIO + Java2D bicubic scaling + the same crop, normalisation and ONNX session. */
    @Benchmark
    public double java2dCnn(Images count) throws IOException {
        int size = CNN.tensorSize();
        int batch = 32;
        float[] pixels = new float[batch * size];
        double sum = 0;
        for (int from = 0; from < photoFiles.size(); from += batch) {
            int n = Math.min(batch, photoFiles.size() - from);
            for (int j = 0; j < n; j++) {
                BufferedImage img = ImageIO.read(photoFiles.get(from + j).toFile());
                int w = img.getWidth();
                int h = img.getHeight();
                int sw = w <= h ? 256 : (int) ((long) 256 * w / h);
                int sh = w <= h ? (int) ((long) 256 * h / w) : 256;
                BufferedImage scaled = new BufferedImage(sw, sh, BufferedImage.TYPE_INT_RGB);
                Graphics2D g = scaled.createGraphics();
                g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BICUBIC);
                g.drawImage(img, 0, 0, sw, sh, null);
                g.dispose();
                int top = (sh - 224) / 2;
                int left = (sw - 224) / 2;
                float[] mean = CNN.mean();
                float[] std = CNN.std();
                for (int y = 0; y < 224; y++) {
                    for (int x = 0; x < 224; x++) {
                        int p = scaled.getRGB(x + left, y + top);
                        for (int c = 0; c < 3; c++) {
                            int v = (p >> (16 - 8 * c)) & 0xFF;
                            pixels[j * size + c * 224 * 224 + y * 224 + x] = (v / 255f - mean[c]) / std[c];
                        }
                    }
                }
            }
            sum += runCnn(pixels, n);
            count.images += n;
        }
        return sum;
    }

    /** The floor: the model alone on tensors made in the setup. */
    @Benchmark
    public double modelOnlyCnn(Images count) {
        int size = CNN.tensorSize();
        int batch = 32;
        double sum = 0;
        float[] pixels = new float[batch * size];
        for (int from = 0; from < photos; from += batch) {
            int n = Math.min(batch, photos - from);
            System.arraycopy(cnnTensors, from * size, pixels, 0, n * size);
            sum += runCnn(pixels, n);
            count.images += n;
        }
        return sum;
    }

    private double runCnn(float[] pixels, int n) {
        try (Feeds f = new Feeds().floats("pixel_values", pixels, n, 3, 224, 224);
             Outputs o = cnnModel.run(f, "features")) {
            return o.floats(0).get(0);
        }
    }
}
