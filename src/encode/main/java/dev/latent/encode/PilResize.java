package dev.latent.encode;

/**
 * Resampling of 8-bit images as Pillow's {@code Image.resize} does it (its {@code Resample.c}): a separable
 * convolution whose filter support grows with the shrink factor (so shrinking averages, antialiased), the
 * coefficients normalised per output pixel and rounded to 22-bit fixed point, the horizontal pass first,
 * each pass rounding and clipping to 0..255. Matching the reference preprocessors of vision models this
 * closely keeps the vectors where the model expects them; Java2D's scaling does not antialias when it
 * shrinks. Stateless and thread-safe.
 */
public final class PilResize {
    /** Pillow's resampling filters that vision preprocessors use. */
    public enum Filter {
        NEAREST(0), BOX(0.5), BILINEAR(1.0), BICUBIC(2.0);

        final double support;

        Filter(double support) {
            this.support = support;
        }

        double weight(double x) {
            switch (this) {
                case BOX:
                    return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
                case BILINEAR:
                    x = Math.abs(x);
                    return x < 1.0 ? 1.0 - x : 0.0;
                case BICUBIC: {
                    final double a = -0.5;
                    x = Math.abs(x);
                    if (x < 1.0) {
                        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
                    }
                    if (x < 2.0) {
                        return (((x - 5) * x + 8) * x - 4) * a;
                    }
                    return 0.0;
                }
                default:
                    throw new AssertionError(this);
            }
        }

        /** Parses {@code nearest}, {@code box}, {@code bilinear} or {@code bicubic} (any case). */
        public static Filter parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown resampling filter '" + s
                        + "' (expected nearest, box, bilinear or bicubic)", e);
            }
        }
    }

    private static final int PRECISION_BITS = 32 - 8 - 2;

    private PilResize() {}

    /**
     * Resizes interleaved 8-bit pixels ({@code channels} per pixel, row-major) to {@code outW × outH}.
     *
     * @return the resized pixels, {@code outW * outH * channels} bytes (a copy when the size is unchanged)
     */
    public static byte[] resize(byte[] in, int inW, int inH, int channels, int outW, int outH, Filter filter) {
        if (inW < 1 || inH < 1 || outW < 1 || outH < 1) {
            throw new IllegalArgumentException("image sizes must be positive: " + inW + "x" + inH + " -> " + outW + "x" + outH);
        }
        if ((long) inW * inH * channels != in.length) {
            throw new IllegalArgumentException("pixel buffer holds " + in.length + " bytes, expected " + inW + "x" + inH + "x" + channels);
        }
        if (outW == inW && outH == inH) {
            return in.clone();
        }
        if (filter == Filter.NEAREST) {
            return nearest(in, inW, inH, channels, outW, outH);
        }
        Coeffs horiz = coeffs(inW, outW, filter);
        Coeffs vert = coeffs(inH, outH, filter);
        byte[] src = in;
        int srcH = inH;
        int[] vBounds = vert.bounds.clone();
        if (outW != inW) {
            // Only the source rows the vertical pass reads.
            int first = vert.bounds[0];
            int last = vert.bounds[outH * 2 - 2] + vert.bounds[outH * 2 - 1];
            for (int i = 0; i < outH; i++) {
                vBounds[i * 2] -= first;
            }
            src = horizontal(in, inW, channels, first, last - first, outW, horiz);
            srcH = last - first;
        }
        if (outH != inH) {
            return vertical(src, outW, channels, outH, vBounds, vert);
        }
        return src.length == (long) outW * outH * channels ? src : java.util.Arrays.copyOf(src, outW * outH * channels);
    }

    private record Coeffs(int ksize, int[] bounds, int[] k) {}

    /** Pillow's precompute_coeffs followed by normalize_coeffs_8bpc. */
    private static Coeffs coeffs(int inSize, int outSize, Filter filter) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = filter.support * filterScale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        int[] bounds = new int[outSize * 2];
        int[] k = new int[outSize * ksize];
        double[] w = new double[ksize];
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            double ss = 1.0 / filterScale;
            int xmin = (int) (center - support + 0.5);
            if (xmin < 0) {
                xmin = 0;
            }
            int xmax = (int) (center + support + 0.5);
            if (xmax > inSize) {
                xmax = inSize;
            }
            xmax -= xmin;
            double ww = 0.0;
            for (int x = 0; x < xmax; x++) {
                w[x] = filter.weight((x + xmin - center + 0.5) * ss);
                ww += w[x];
            }
            for (int x = 0; x < xmax; x++) {
                double v = ww != 0.0 ? w[x] / ww : w[x];
                k[xx * ksize + x] = v < 0 ? (int) (-0.5 + v * (1 << PRECISION_BITS)) : (int) (0.5 + v * (1 << PRECISION_BITS));
            }
            bounds[xx * 2] = xmin;
            bounds[xx * 2 + 1] = xmax;
        }
        return new Coeffs(ksize, bounds, k);
    }

    private static int clip8(int v) {
        int x = v >> PRECISION_BITS;
        return x < 0 ? 0 : Math.min(x, 255);
    }

    private static byte[] horizontal(byte[] in, int inW, int channels, int rowOffset, int rows, int outW, Coeffs c) {
        byte[] out = new byte[outW * rows * channels];
        for (int yy = 0; yy < rows; yy++) {
            int inRow = (yy + rowOffset) * inW * channels;
            int outRow = yy * outW * channels;
            for (int xx = 0; xx < outW; xx++) {
                int xmin = c.bounds[xx * 2];
                int xmax = c.bounds[xx * 2 + 1];
                int kb = xx * c.ksize;
                for (int ch = 0; ch < channels; ch++) {
                    int ss = 1 << (PRECISION_BITS - 1);
                    for (int x = 0; x < xmax; x++) {
                        ss += (in[inRow + (x + xmin) * channels + ch] & 0xFF) * c.k[kb + x];
                    }
                    out[outRow + xx * channels + ch] = (byte) clip8(ss);
                }
            }
        }
        return out;
    }

    private static byte[] vertical(byte[] in, int w, int channels, int outH, int[] bounds, Coeffs c) {
        byte[] out = new byte[w * outH * channels];
        int stride = w * channels;
        for (int yy = 0; yy < outH; yy++) {
            int ymin = bounds[yy * 2];
            int ymax = bounds[yy * 2 + 1];
            int kb = yy * c.ksize;
            for (int xx = 0; xx < stride; xx++) {
                int ss = 1 << (PRECISION_BITS - 1);
                for (int y = 0; y < ymax; y++) {
                    ss += (in[(y + ymin) * stride + xx] & 0xFF) * c.k[kb + y];
                }
                out[yy * stride + xx] = (byte) clip8(ss);
            }
        }
        return out;
    }

    /** Pillow's nearest neighbour: source pixel floor((x + 0.5) * in / out). */
    private static byte[] nearest(byte[] in, int inW, int inH, int channels, int outW, int outH) {
        byte[] out = new byte[outW * outH * channels];
        for (int y = 0; y < outH; y++) {
            int sy = Math.min(inH - 1, (int) ((y + 0.5) * inH / outH));
            for (int x = 0; x < outW; x++) {
                int sx = Math.min(inW - 1, (int) ((x + 0.5) * inW / outW));
                System.arraycopy(in, (sy * inW + sx) * channels, out, (y * outW + x) * channels, channels);
            }
        }
        return out;
    }
}
