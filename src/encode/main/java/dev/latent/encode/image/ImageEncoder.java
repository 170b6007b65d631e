package dev.latent.encode.image;

import dev.latent.core.FloatMatrix;
import dev.latent.encode.BatchPipeline;
import dev.latent.encode.Encoder;
import dev.latent.encode.ImageSpec;
import dev.latent.encode.Modality;
import dev.latent.encode.ModelFiles;
import dev.latent.encode.ModelSpec;
import dev.latent.encode.Pooling;
import dev.latent.encode.onnx.ElementType;
import dev.latent.encode.onnx.Feeds;
import dev.latent.encode.onnx.OnnxModel;
import dev.latent.encode.onnx.Outputs;
import dev.latent.encode.onnx.TensorInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Encodes images with any ONNX vision model whose first input is a float pixel tensor {@code [N, C, H, W]}:
 * decoding and preprocessing by {@link ImagePreprocessor} as the model entry's {@link ImageSpec} says, batches
 * on the shared {@link BatchPipeline} (the calling thread decodes, workers run the model), then the output
 * named in the entry or the model's first: {@code [N, D]} as it is, {@code [N, T, D]} pooled over tokens
 * ({@link Pooling#CLS}: the first token; {@link Pooling#MEAN}: all of them), {@code [N, D, h, w]} averaged over
 * the feature map; finally scaled to unit length when the entry says {@code normalize}.
 *
 * <p>Owns its ONNX session and its worker threads; {@link #close()} frees them once. Thread-safe: calls may
 * run concurrently and share the workers.
 */
public final class ImageEncoder implements Encoder<Path> {
    private static final Logger LOG = LoggerFactory.getLogger("dev.latent.encode");

    /** Images per model call. */
    public static final int DEFAULT_BATCH = 32;

    private final ModelSpec spec;
    private final OnnxModel model;
    private final ImagePreprocessor preprocessor;
    private final String input;
    private final String output;
    private final int dimension;
    private final int batch;
    private final BatchPipeline pipeline;

    private ImageEncoder(ModelSpec spec, OnnxModel model, int batch, int workers) {
        this.spec = spec;
        this.model = model;
        this.preprocessor = new ImagePreprocessor(spec.image());
        this.batch = batch;
        TensorInfo in = model.inputs().get(0);
        ImageSpec image = spec.image();
        if (model.inputs().size() != 1) {
            throw new IllegalArgumentException("image model " + model.origin() + " has " + model.inputs().size()
                    + " inputs " + model.inputNames() + "; an image encoder feeds exactly one pixel tensor");
        }
        if (in.type() != ElementType.FLOAT || in.rank() != 4) {
            throw new IllegalArgumentException("image model " + model.origin() + ": input " + in
                    + " is not a 4-D float pixel tensor [N, C, H, W]");
        }
        long[] shape = in.shape();
        long[] want = {image.channels(), image.height(), image.width()};
        String[] what = {"channels", "height", "width"};
        for (int i = 0; i < 3; i++) {
            if (shape[i + 1] > 0 && shape[i + 1] != want[i]) {
                throw new IllegalArgumentException("image model " + model.origin() + ": input " + in + " takes "
                        + what[i] + " " + shape[i + 1] + ", but its preprocessing makes " + want[i]
                        + " (" + image + ")");
            }
        }
        this.input = in.name();
        this.output = model.outputNames().get(0);
        // One image of zeros tells the output's dimension and proves the model runs.
        float[] probe = run(new float[image.tensorSize()], 1);
        this.dimension = probe.length;
        if (spec.dimension() > 0 && spec.dimension() != dimension) {
            throw new IllegalArgumentException("image model " + model.origin() + " gives " + dimension
                    + "-dimensional vectors; its entry says " + spec.dimension());
        }
        this.pipeline = new BatchPipeline("latent-image", workers);
    }

    /**
     * Opens the image model of {@code spec} (modality {@code image}).
     *
     * @param workers threads running the model; each model call uses {@code intraOpThreads} of ONNX Runtime's
     */
    public static ImageEncoder open(ModelSpec spec, OnnxModel.Options options, int workers) {
        Objects.requireNonNull(spec, "spec");
        if (spec.modality() != Modality.IMAGE || spec.image() == null) {
            throw new IllegalArgumentException("model '" + spec.name() + "' is a " + spec.modality()
                    + " model, not an image model");
        }
        OnnxModel model = OnnxModel.open(ModelFiles.locate(spec.source()), options);
        try {
            return new ImageEncoder(spec, model, DEFAULT_BATCH, workers);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** An image model given by path, with its preprocessing; the first output, no pooling choice needed. */
    public static ModelSpec specOf(Path onnx, ImageSpec image, boolean normalize) {
        return ModelSpec.builder(onnx.getFileName().toString(), Modality.IMAGE, ModelSpec.Source.ofPaths(onnx, null))
                .description("ONNX model " + onnx).pooling(Pooling.CLS).normalize(normalize).image(image).build();
    }

    @Override
    public ModelSpec spec() {
        return spec;
    }

    @Override
    public Modality modality() {
        return Modality.IMAGE;
    }

    @Override
    public String provider() {
        return model.provider();
    }

    public ImagePreprocessor preprocessor() {
        return preprocessor;
    }

    /** Output dimension. */
    @Override
    public int dimension() {
        return dimension;
    }

    /**
     * The vectors of image files, in order (the {@link Encoder} form of {@link #encode(List, boolean)}: an
     * unreadable image stops the call).
     *
     * @throws UncheckedIOException naming the first image that cannot be read or decoded
     */
    @Override
    public FloatMatrix encode(List<Path> files) {
        try {
            return encode(files, false).vectors();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What encoding a list of image files gave: the vectors of the images kept, and the ones skipped. */
    public record Result(FloatMatrix vectors, int[] kept, List<String> skipped) {}

    /**
     * Encodes image files, in order.
     *
     * @param skipUnreadable false: the first unreadable image stops the call with an {@link IOException}
     *                       naming it, and nothing is returned; true: such images are left out and listed
     *                       (path and reason) in {@link Result#skipped()}
     */
    public Result encode(List<Path> files, boolean skipUnreadable) throws IOException {
        int n = files.size();
        int tensor = preprocessor.spec().tensorSize();
        List<float[]> vectors = new ArrayList<>(Collections.nCopies(n, null));
        List<String> skipped = Collections.synchronizedList(new ArrayList<>());
        List<String> notes = Collections.synchronizedList(new ArrayList<>());
        record Batch(int[] items, float[] pixels, int count) {}
        try {
            pipeline.run(sink -> {
                int[] items = new int[batch];
                float[] pixels = new float[batch * tensor];
                int count = 0;
                for (int i = 0; i < n; i++) {
                    try {
                        String note = preprocessor.tensor(files.get(i), pixels, count * tensor);
                        if (!note.isEmpty() && notes.size() < 1) {
                            notes.add(files.get(i) + ": " + note);
                        }
                    } catch (IOException e) {
                        if (!skipUnreadable) {
                            throw new UncheckedIOException(e);
                        }
                        skipped.add(e.getMessage());
                        continue;
                    }
                    items[count++] = i;
                    if (count == batch) {
                        if (!sink.put(new Batch(items, pixels, count))) {
                            return;
                        }
                        items = new int[batch];
                        pixels = new float[batch * tensor];
                        count = 0;
                    }
                }
                if (count > 0) {
                    sink.put(new Batch(items, pixels, count));
                }
            }, () -> new BatchPipeline.Worker<Batch>() {
                @Override
                public void accept(Batch b) {
                    float[] out = run(b.pixels(), b.count());
                    for (int j = 0; j < b.count(); j++) {
                        float[] v = new float[dimension];
                        System.arraycopy(out, j * dimension, v, 0, dimension);
                        vectors.set(b.items()[j], v);
                    }
                }

                @Override
                public void close() {}
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        if (!notes.isEmpty()) {
            LOG.info(notes.get(0) + " (model " + spec.name() + " takes " + (spec.image().channels() == 1 ? "grayscale" : "RGB")
                    + " images; other images are converted the same way)");
        }
        int kept = 0;
        for (float[] v : vectors) {
            kept += v != null ? 1 : 0;
        }
        int[] keptItems = new int[kept];
        FloatMatrix m = FloatMatrix.allocate(kept, dimension);
        int r = 0;
        for (int i = 0; i < n; i++) {
            if (vectors.get(i) != null) {
                keptItems[r] = i;
                m.setRow(r++, vectors.get(i));
            }
        }
        return new Result(m, keptItems, List.copyOf(skipped));
    }

    /**
     * Runs the model on {@code n} preprocessed images ({@code n × C × H × W} floats) and returns their vectors
     * ({@code n × dimension}, pooled and normalised as the entry says). Thread-safe.
     */
    public float[] run(float[] pixels, int n) {
        ImageSpec image = preprocessor.spec();
        try (Feeds feeds = new Feeds()
                .floats(input, pixels, n, image.channels(), image.height(), image.width());
             Outputs out = model.run(feeds, output)) {
            long[] shape = out.shape(0);
            FloatBuffer fb = out.floats(0);
            float[] vectors = pool(fb, shape, n);
            if (spec.normalize()) {
                dev.latent.core.Vectors.normalizeRows(vectors, n, vectors.length / n);
            }
            return vectors;
        }
    }

    private float[] pool(FloatBuffer fb, long[] shape, int n) {
        if (shape.length == 0 || shape[0] != n) {
            throw new IllegalStateException("image model " + model.origin() + ": output " + output + " has shape "
                    + java.util.Arrays.toString(shape) + ", expected " + n + " rows first");
        }
        if (shape.length == 2) {
            float[] v = new float[(int) (n * shape[1])];
            fb.get(v);
            return v;
        }
        if (shape.length == 3) {  // [N, T, D]: tokens
            int t = (int) shape[1];
            int d = (int) shape[2];
            float[] v = new float[n * d];
            for (int i = 0; i < n; i++) {
                int tokens = spec.pooling() == Pooling.CLS ? 1 : t;
                for (int k = 0; k < tokens; k++) {
                    for (int c = 0; c < d; c++) {
                        v[i * d + c] += fb.get((i * t + k) * d + c) / tokens;
                    }
                }
            }
            return v;
        }
        if (shape.length == 4) {  // [N, D, h, w]: a feature map
            int d = (int) shape[1];
            int hw = (int) (shape[2] * shape[3]);
            float[] v = new float[n * d];
            for (int i = 0; i < n; i++) {
                for (int c = 0; c < d; c++) {
                    double s = 0;
                    for (int p = 0; p < hw; p++) {
                        s += fb.get((i * d + c) * hw + p);
                    }
                    v[i * d + c] = (float) (s / hw);
                }
            }
            return v;
        }
        throw new IllegalStateException("image model " + model.origin() + ": output " + output + " has shape "
                + java.util.Arrays.toString(shape) + "; expected [N, D], [N, T, D] or [N, D, h, w]");
    }

    @Override
    public void close() {
        pipeline.close();
        model.close();
    }
}
