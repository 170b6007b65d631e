package dev.latent.encode.image;

import dev.latent.encode.ImageSpec;
import dev.latent.encode.PilResize;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Turns image files into a model's pixel tensor as {@link ImageSpec} describes: decoding (ImageIO, with the
 * TwelveMonkeys plug-ins for JPEG variants such as CMYK, and WebP), conversion to 8-bit grayscale or RGB the
 * way Pillow's {@code convert} does it (RGB → L by ITU-R 601-2 luma in 16-bit fixed point; L → RGB by copying;
 * alpha dropped; 16-bit channels scaled to 8 bits), {@link PilResize}, centre crop and normalisation.
 * Images above {@value #MAX_DECODE_PIXELS} pixels are decoded with subsampling so memory stays bounded (such
 * an image then differs slightly from a full decode). Stateless apart from its spec; thread-safe.
 */
public final class ImagePreprocessor {
    /** Largest pixel count decoded in full; larger images are subsampled while decoding. */
    public static final long MAX_DECODE_PIXELS = 40_000_000L;

    private final ImageSpec spec;

    public ImagePreprocessor(ImageSpec spec) {
        this.spec = spec;
    }

    public ImageSpec spec() {
        return spec;
    }

    /** 8-bit pixels, interleaved, row-major; {@code note} says what conversion was applied, or is empty. */
    public record Pixels(int width, int height, int channels, byte[] data, String note) {}

    /**
     * Decodes {@code file} into 8-bit pixels with the spec's channel count.
     *
     * @throws IOException naming the file when it cannot be read or decoded (unknown format, truncated data)
     */
    public Pixels decode(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": not a readable file");
        }
        BufferedImage image;
        try (InputStream in = Files.newInputStream(file); ImageInputStream iis = ImageIO.createImageInputStream(in)) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(iis);
            if (!readers.hasNext()) {
                throw new IOException(file + ": not an image in a format this build reads (PNG, JPEG, GIF, BMP, WebP, TIFF)");
            }
            ImageReader reader = readers.next();
            // Readers decode a cut stream as far as it goes and only warn (JPEG: "Missing EOI marker", "premature end
            // of data segment"), filling the rest with grey: such an image is not what the file was meant to hold.
            List<String> truncation = new ArrayList<>();
            reader.addIIOReadWarningListener((source, warning) -> {
                String w = warning == null ? "" : warning.toLowerCase(java.util.Locale.ROOT);
                if (w.contains("truncat") || w.contains("premature end") || w.contains("missing eoi")) {
                    truncation.add(warning);
                }
            });
            try {
                reader.setInput(iis, true, true);
                long pixels = (long) reader.getWidth(0) * reader.getHeight(0);
                ImageReadParam param = reader.getDefaultReadParam();
                if (pixels > MAX_DECODE_PIXELS) {
                    int step = (int) Math.ceil(Math.sqrt((double) pixels / MAX_DECODE_PIXELS));
                    param.setSourceSubsampling(step, step, 0, 0);
                }
                image = reader.read(0, param);
                if (!truncation.isEmpty()) {
                    throw new IOException("the file is truncated: " + String.join("; ", truncation));
                }
            } catch (IOException | RuntimeException e) {
                throw new IOException(file + ": cannot decode the image (" + e.getMessage() + "); is it truncated or damaged?", e);
            } finally {
                reader.dispose();
            }
        }
        if (image == null || image.getWidth() < 1 || image.getHeight() < 1) {
            throw new IOException(file + ": the image is empty");
        }
        return toPixels(image, spec.channels());
    }

    /** Converts a decoded image to 8-bit pixels with {@code channels} channels (1 or 3). */
    public static Pixels toPixels(BufferedImage image, int channels) {
        int w = image.getWidth();
        int h = image.getHeight();
        Raster raster = image.getRaster();
        boolean gray = image.getColorModel().getColorSpace().getType() == java.awt.color.ColorSpace.TYPE_GRAY
                && raster.getNumBands() <= 2;
        int bits = image.getColorModel().getComponentSize(0);
        String note = "";
        byte[] out = new byte[w * h * channels];
        if (gray) {
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                raster.getSamples(0, y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    int v = bits == 8 ? row[x] : (int) Math.round(row[x] * 255.0 / ((1 << bits) - 1));
                    for (int c = 0; c < channels; c++) {
                        out[(y * w + x) * channels + c] = (byte) v;
                    }
                }
            }
            if (channels == 3) {
                note = "grayscale image converted to RGB";
            }
            if (bits != 8) {
                note = (note.isEmpty() ? "" : note + "; ") + bits + "-bit samples scaled to 8 bits";
            }
        } else {
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                image.getRGB(0, y, w, 1, row, 0, w);
                for (int x = 0; x < w; x++) {
                    int p = row[x];
                    int r = (p >> 16) & 0xFF;
                    int g = (p >> 8) & 0xFF;
                    int b = p & 0xFF;
                    if (channels == 3) {
                        int o = (y * w + x) * 3;
                        out[o] = (byte) r;
                        out[o + 1] = (byte) g;
                        out[o + 2] = (byte) b;
                    } else {
                        out[y * w + x] = (byte) ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
                    }
                }
            }
            if (channels == 1) {
                note = "colour image converted to grayscale";
            }
        }
        return new Pixels(w, h, channels, out, note);
    }

    /** Decodes {@code file} and writes its tensor ({@link ImageSpec#tensorSize()} floats, CHW) at {@code offset}. */
    public String tensor(Path file, float[] dst, int offset) throws IOException {
        Pixels p = decode(file);
        tensor(p, dst, offset);
        return p.note();
    }

    /** Resizes, crops and normalises 8-bit pixels into {@code dst} at {@code offset} (CHW). */
    public void tensor(Pixels p, float[] dst, int offset) {
        int c = spec.channels();
        if (p.channels() != c) {
            throw new IllegalArgumentException("pixels have " + p.channels() + " channels, the model takes " + c);
        }
        int tw = spec.width();
        int th = spec.height();
        byte[] px;
        int w;
        int h;
        if (spec.resizeShortest() > 0) {
            int s = spec.resizeShortest();
            if (p.width() <= p.height()) {
                w = s;
                h = (int) ((long) s * p.height() / p.width());
            } else {
                h = s;
                w = (int) ((long) s * p.width() / p.height());
            }
            w = Math.max(w, 1);
            h = Math.max(h, 1);
            px = PilResize.resize(p.data(), p.width(), p.height(), c, w, h, spec.filter());
        } else {
            w = tw;
            h = th;
            px = PilResize.resize(p.data(), p.width(), p.height(), c, tw, th, spec.filter());
        }
        // Centre crop (top-left at floor((size - crop) / 2)); a side shorter than the crop is padded with zeros.
        int top = Math.floorDiv(h - th, 2);
        int left = Math.floorDiv(w - tw, 2);
        double scale = spec.rescale();
        float[] mean = spec.mean();
        float[] std = spec.std();
        int plane = tw * th;
        for (int ch = 0; ch < c; ch++) {
            double m = mean[ch];
            double sd = std[ch];
            for (int y = 0; y < th; y++) {
                int sy = y + top;
                for (int x = 0; x < tw; x++) {
                    int sx = x + left;
                    double v = sy >= 0 && sy < h && sx >= 0 && sx < w ? (px[(sy * w + sx) * c + ch] & 0xFF) * scale : 0.0;
                    dst[offset + ch * plane + y * tw + x] = (float) ((v - m) / sd);
                }
            }
        }
    }
}
