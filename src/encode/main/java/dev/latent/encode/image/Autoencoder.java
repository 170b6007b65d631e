package dev.latent.encode.image;

import dev.latent.encode.ImageSpec;
import dev.latent.encode.ModelFiles;
import dev.latent.encode.ModelSpec;
import dev.latent.encode.onnx.Feeds;
import dev.latent.encode.onnx.OnnxModel;
import dev.latent.encode.onnx.Outputs;
import dev.latent.encode.onnx.TensorInfo;
import java.awt.image.BufferedImage;
import java.nio.FloatBuffer;
import java.util.Objects;

/**
 * An image autoencoder: its encoder (an {@link ImageEncoder}, image → latent vector) and its decoder (latent
 * vector → pixel tensor of the encoder's input shape). It gives what a plain encoder cannot: the
 * reconstruction error of an item ({@link #reconstructionErrors}), a direct anomaly score since the model
 * reconstructs well only what resembles its training data, and images for any point of the latent space
 * ({@link #decode}, {@link #toImage}), so a path between two items can be looked at.
 *
 * <p>Owns both ONNX sessions; {@link #close()} frees them once. Thread-safe.
 */
public final class Autoencoder implements AutoCloseable {
    private final ImageEncoder encoder;
    private final OnnxModel decoder;
    private final String decoderInput;
    private final String decoderOutput;

    private Autoencoder(ImageEncoder encoder, OnnxModel decoder) {
        this.encoder = encoder;
        this.decoder = decoder;
        if (decoder.inputs().size() != 1 || decoder.inputs().get(0).rank() != 2) {
            throw new IllegalArgumentException("decoder " + decoder.origin() + " must take one [N, D] latent input, has "
                    + decoder.inputs());
        }
        TensorInfo in = decoder.inputs().get(0);
        if (in.lastDim() > 0 && in.lastDim() != encoder.dimension()) {
            throw new IllegalArgumentException("decoder " + decoder.origin() + " takes " + in.lastDim()
                    + "-dimensional latents, the encoder gives " + encoder.dimension());
        }
        this.decoderInput = in.name();
        this.decoderOutput = decoder.outputNames().get(0);
        float[] probe = decode(new float[encoder.dimension()], 1);
        if (probe.length != encoder.preprocessor().spec().tensorSize()) {
            throw new IllegalArgumentException("decoder " + decoder.origin() + " gives " + probe.length
                    + " values per item; the encoder's input holds " + encoder.preprocessor().spec().tensorSize());
        }
    }

    /** Opens the encoder and decoder of an image model entry whose source names a {@code decoder}. */
    public static Autoencoder open(ModelSpec spec, OnnxModel.Options options) {
        Objects.requireNonNull(spec, "spec");
        if (spec.source().decoder() == null) {
            throw new IllegalArgumentException("model '" + spec.name() + "' has no decoder (its source names none), "
                    + "so it cannot decode latents or score reconstructions");
        }
        ImageEncoder enc = ImageEncoder.open(spec, options, 1);
        OnnxModel dec = null;
        try {
            dec = OnnxModel.open(ModelFiles.locate(spec.source().withOnnx(spec.source().decoder())), options);
            return new Autoencoder(enc, dec);
        } catch (RuntimeException e) {
            if (dec != null) {
                dec.close();
            }
            enc.close();
            throw e;
        }
    }

    public ImageEncoder encoder() {
        return encoder;
    }

    /** Latent dimension. */
    public int dimension() {
        return encoder.dimension();
    }

    /** Decodes {@code n} latent vectors ({@code n × dimension}) into pixel tensors ({@code n × C × H × W}). */
    public float[] decode(float[] latents, int n) {
        try (Feeds feeds = new Feeds().floats(decoderInput, latents, n, encoder.dimension());
             Outputs out = decoder.run(feeds, decoderOutput)) {
            FloatBuffer fb = out.floats(0);
            float[] v = new float[fb.remaining()];
            fb.get(v);
            return v;
        }
    }

    /**
     * Mean squared error per item between {@code n} preprocessed pixel tensors and their reconstruction
     * (decoder of encoder), in the tensor's units.
     */
    public double[] reconstructionErrors(float[] pixels, int n) {
        int size = encoder.preprocessor().spec().tensorSize();
        float[] rec = decode(encoder.run(pixels, n), n);
        double[] err = new double[n];
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int j = 0; j < size; j++) {
                double d = (double) pixels[i * size + j] - rec[i * size + j];
                s += d * d;
            }
            err[i] = s / size;
        }
        return err;
    }

    /**
     * One pixel tensor (at {@code offset} in {@code pixels}) as an image, undoing the normalisation, each
     * pixel drawn as a {@code scale × scale} block.
     */
    public static BufferedImage toImage(float[] pixels, int offset, ImageSpec spec, int scale) {
        int w = spec.width();
        int h = spec.height();
        int c = spec.channels();
        float[] mean = spec.mean();
        float[] std = spec.std();
        BufferedImage img = new BufferedImage(w * scale, h * scale, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int[] rgb = new int[3];
                for (int ch = 0; ch < 3; ch++) {
                    int src = c == 1 ? 0 : ch;
                    double v = (pixels[offset + src * w * h + y * w + x] * std[src] + mean[src]) / spec.rescale();
                    rgb[ch] = (int) Math.max(0, Math.min(255, Math.round(v)));
                }
                int p = (rgb[0] << 16) | (rgb[1] << 8) | rgb[2];
                for (int dy = 0; dy < scale; dy++) {
                    for (int dx = 0; dx < scale; dx++) {
                        img.setRGB(x * scale + dx, y * scale + dy, p);
                    }
                }
            }
        }
        return img;
    }

    /** Pixel tensors side by side in one row, with a {@code gap}-pixel white gap between them. */
    public static BufferedImage strip(float[] pixels, int n, ImageSpec spec, int scale, int gap) {
        int w = spec.width() * scale;
        int h = spec.height() * scale;
        BufferedImage out = new BufferedImage(n * w + (n + 1) * gap, h + 2 * gap, BufferedImage.TYPE_INT_RGB);
        java.awt.Graphics2D g = out.createGraphics();
        try {
            g.setColor(java.awt.Color.WHITE);
            g.fillRect(0, 0, out.getWidth(), out.getHeight());
            for (int i = 0; i < n; i++) {
                g.drawImage(toImage(pixels, i * spec.tensorSize(), spec, scale), gap + i * (w + gap), gap, null);
            }
        } finally {
            g.dispose();
        }
        return out;
    }

    @Override
    public void close() {
        try {
            decoder.close();
        } finally {
            encoder.close();
        }
    }
}
