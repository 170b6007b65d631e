package dev.latent.core;

import java.nio.ByteOrder;
import java.util.Objects;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * A batch of per-token embeddings an encoder left in memory, not yet pooled into one vector per text: the
 * hand-over between an encoder and a search that pools them where they are. With {@link #onDevice()} the
 * floats are in CUDA device memory (an ONNX Runtime IoBinding output) and only a CUDA resident matrix reads
 * them; otherwise they are host memory and {@link #poolOnHost()} pools them here.
 *
 * <p>The memory belongs to the encoder's run and is valid only during the call that receives this record.
 *
 * @param address    the first float of {@code [queries][tokens][width]}, row-major
 * @param queries    texts in the batch
 * @param tokens     token positions per text (1 for an output that is already pooled)
 * @param width      floats per token (the model's hidden size)
 * @param mask       {@code [queries][tokens]} attention mask, nonzero for a real token (mean pooling reads it)
 * @param firstToken pool by taking the first token (CLS, or an already pooled output) instead of the mean
 * @param normalize  L2-normalise each pooled vector
 * @param device     the CUDA device {@code address} points into, or -1 for host memory
 */
public record TokenEmbeddings(long address, int queries, int tokens, int width, long[] mask, boolean firstToken,
                              boolean normalize, int device) {
    /** Host memory, for {@link #device}. */
    public static final int HOST = -1;

    public TokenEmbeddings {
        Objects.requireNonNull(mask, "mask");
        if (address == 0 || queries < 0 || tokens < 1 || width < 1) {
            throw new IllegalArgumentException("token embeddings at " + address + ": " + queries + " x " + tokens + " x "
                    + width);
        }
        if (!firstToken && mask.length < (long) queries * tokens) {
            throw new IllegalArgumentException("mask of " + mask.length + " for " + queries + " x " + tokens + " tokens");
        }
        if (device < HOST) {
            throw new IllegalArgumentException("device " + device);
        }
    }

    /** Whether {@code address} is a CUDA device pointer. */
    public boolean onDevice() {
        return device != HOST;
    }

    /** The pooled vectors, one row per text (host memory only). The caller closes the matrix. */
    public FloatMatrix poolOnHost() {
        if (onDevice()) {
            throw new IllegalStateException("token embeddings in device memory are pooled on the device");
        }
        long n = (long) queries * tokens * width;
        FloatMatrix out = FloatMatrix.allocate(queries, width);
        try (FloatPointer p = new FloatPointer(new Pointer() { { address = TokenEmbeddings.this.address; } })) {
            java.nio.FloatBuffer data = p.capacity(n).limit(n).asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
            float[] row = new float[width];
            float[] token = new float[width];
            for (int r = 0; r < queries; r++) {
                pool(data, r * tokens * width, tokens, mask, r * tokens, firstToken, normalize, row, token);
                out.setRow(r, row);
            }
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
        return out;
    }

    /**
     * Pools one text's token vectors into {@code row} (its length is the width): the first token, or the mean
     * of the tokens whose mask is nonzero (a float sum in token order times 1 / count), then, when
     * {@code normalize}, scaled to unit length (a double sum of squares in column order). The one definition
     * of pooling: the host encoder uses it, and the CUDA kernel reproduces it bit for bit.
     *
     * @param base     index in {@code data} of the text's first token
     * @param maskBase index in {@code mask} of the text's first token
     * @param token    scratch of the row's length
     */
    public static void pool(java.nio.FloatBuffer data, int base, int tokens, long[] mask, int maskBase,
                            boolean firstToken, boolean normalize, float[] row, float[] token) {
        int h = row.length;
        if (firstToken) {
            data.get(base, row, 0, h);
        } else {
            java.util.Arrays.fill(row, 0f);
            float count = 0;
            for (int k = 0; k < tokens; k++) {
                if (mask[maskBase + k] == 0) {
                    continue;
                }
                count++;
                data.get(base + k * h, token, 0, h); // bulk copy: one bounds check per token
                for (int c = 0; c < h; c++) {
                    row[c] += token[c];
                }
            }
            float inv = 1f / Math.max(count, 1e-9f);
            for (int c = 0; c < h; c++) {
                row[c] *= inv;
            }
        }
        if (normalize) {
            double ss = 0;
            for (int c = 0; c < h; c++) {
                ss += (double) row[c] * row[c];
            }
            float inv = (float) (1.0 / Math.max(Math.sqrt(ss), 1e-12));
            for (int c = 0; c < h; c++) {
                row[c] *= inv;
            }
        }
    }
}
