package dev.latent.encode;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;
import java.util.Objects;

/**
 * How an image becomes a model's pixel tensor, as the model's reference preprocessor does it: resize (the
 * shorter side to {@code resizeShortest} keeping the aspect ratio, then a centre crop of {@code width ×
 * height}; or, with {@code resizeShortest = 0}, straight to {@code width × height}) with a Pillow filter,
 * then {@code (pixel × rescale − mean[c]) / std[c]} per channel into an NCHW float tensor. Immutable.
 *
 * @param width          tensor width (the crop width)
 * @param height         tensor height
 * @param resizeShortest shorter side after resizing, before the centre crop; 0 for a direct resize
 * @param filter         Pillow resampling filter
 * @param channels       1 (grayscale, Pillow's "L") or 3 (RGB)
 * @param rescale        factor on 0..255 values, usually 1/255
 * @param mean           per-channel mean subtracted after rescaling ({@code channels} values)
 * @param std            per-channel standard deviation divided by ({@code channels} values)
 */
public record ImageSpec(int width, int height, int resizeShortest, PilResize.Filter filter, int channels, double rescale,
        float[] mean, float[] std) {

    public ImageSpec {
        Objects.requireNonNull(filter, "filter");
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        if (resizeShortest < 0) {
            throw new IllegalArgumentException("resizeShortest must be >= 0, got " + resizeShortest);
        }
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException("channels must be 1 or 3, got " + channels);
        }
        if (mean == null || mean.length != channels || std == null || std.length != channels) {
            throw new IllegalArgumentException("mean and std need " + channels + " values each");
        }
        for (float s : std) {
            if (!(s > 0)) {
                throw new IllegalArgumentException("std values must be positive, got " + Arrays.toString(std));
            }
        }
        mean = mean.clone();
        std = std.clone();
    }

    @Override
    public float[] mean() {
        return mean.clone();
    }

    @Override
    public float[] std() {
        return std.clone();
    }

    /** Floats per image in the tensor. */
    public int tensorSize() {
        return channels * width * height;
    }

    /**
     * Reads the manifest's {@code "image"} object: {@code size} (or {@code width} and {@code height}),
     * {@code resizeShortest} (default 0), {@code resample} (default {@code bicubic}), {@code channels}
     * ({@code 3}), {@code rescale} ({@code 1/255}), {@code mean} ({@code 0}s) and {@code std} ({@code 1}s).
     */
    public static ImageSpec fromJson(JsonNode n) {
        int size = n.path("size").asInt(0);
        int w = n.path("width").asInt(size);
        int h = n.path("height").asInt(size);
        int channels = n.path("channels").asInt(3);
        float[] mean = floats(n.path("mean"), channels, 0f);
        float[] std = floats(n.path("std"), channels, 1f);
        return new ImageSpec(w, h, n.path("resizeShortest").asInt(0), PilResize.Filter.parse(n.path("resample").asText("bicubic")),
                channels, n.path("rescale").asDouble(1.0 / 255), mean, std);
    }

    private static float[] floats(JsonNode n, int channels, float fallback) {
        float[] v = new float[channels];
        if (n.isMissingNode() || n.isNull()) {
            Arrays.fill(v, fallback);
            return v;
        }
        if (!n.isArray() || n.size() != channels) {
            throw new IllegalArgumentException("expected an array of " + channels + " numbers, got " + n);
        }
        for (int i = 0; i < channels; i++) {
            v[i] = (float) n.get(i).asDouble();
        }
        return v;
    }

    @Override
    public String toString() {
        return width + "x" + height + (resizeShortest > 0 ? " (shorter side " + resizeShortest + ", centre crop)" : "")
                + " " + filter.name().toLowerCase(java.util.Locale.ROOT) + ", " + (channels == 1 ? "grayscale" : "RGB")
                + ", mean " + Arrays.toString(mean) + ", std " + Arrays.toString(std);
    }
}
