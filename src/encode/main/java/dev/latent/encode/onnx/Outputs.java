package dev.latent.encode.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.List;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.onnxruntime.LongVector;
import org.bytedeco.onnxruntime.TensorTypeAndShapeInfo;
import org.bytedeco.onnxruntime.Value;
import org.bytedeco.onnxruntime.ValueVector;

/**
 * The output tensors of one {@link OnnxModel#run}, in host memory, in the order they were asked for. Owns
 * the native tensors until {@link #close()}; views returned by {@link #floats} and friends are valid until
 * then.
 *
 * <p>Not thread-safe; the caller that ran the model owns it and closes it exactly once.
 */
public final class Outputs implements AutoCloseable {
    private final List<String> names;
    private final ValueVector vector;
    /**
     * {@code ValueVector.get} is {@code @StdMove}: it moves each tensor out of the vector into a new native
     * {@code Ort::Value} owned by that Java object, so each must be closed here; left to the garbage collector,
     * a batch's output stayed allocated until a collection happened to run, and resident memory grew with
     * the corpus.
     */
    private final Value[] values;
    private final long[][] shapes;
    private final ElementType[] types;
    private final AutoCloseable binding;
    private final boolean onDevice;
    private boolean closed;

    /**
     * @param binding  the IoBinding the values came from (closed with them), or null
     * @param onDevice whether the values are in CUDA device memory
     */
    Outputs(List<String> names, ValueVector vector, AutoCloseable binding, boolean onDevice) {
        this.names = List.copyOf(names);
        this.vector = vector;
        this.binding = binding;
        this.onDevice = onDevice;
        int n = names.size();
        this.values = new Value[n];
        this.shapes = new long[n][];
        this.types = new ElementType[n];
        try {
            for (int i = 0; i < n; i++) {
                values[i] = vector.get(i);
                try (TensorTypeAndShapeInfo info = values[i].GetTensorTypeAndShapeInfo();
                        LongVector dims = info.GetShape()) {
                    shapes[i] = dims.get();
                    types[i] = ElementType.ofCode(info.GetElementType());
                }
            }
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /** How many outputs. */
    public int size() {
        return names.size();
    }

    /** Output names, in the order they were asked for. */
    public List<String> names() {
        return names;
    }

    /** Shape of output {@code i}. */
    public long[] shape(int i) {
        return shapes[i].clone();
    }

    /** Element type of output {@code i} ({@code null} for one Latent does not handle). */
    public ElementType type(int i) {
        return types[i];
    }

    /** Output {@code i} as float32, row-major. */
    public FloatBuffer floats(int i) {
        return raw(i, ElementType.FLOAT).asFloatBuffer();
    }

    /** Output {@code i} as int64, row-major. */
    public LongBuffer longs(int i) {
        return raw(i, ElementType.INT64).asLongBuffer();
    }

    /** Whether the outputs are in CUDA device memory ({@link OnnxModel#runBound} to the device). */
    public boolean onDevice() {
        return onDevice;
    }

    /**
     * The address of output {@code i}'s data, checked to be of element type {@code expected}: a device pointer
     * when {@link #onDevice()}, valid until {@link #close()}.
     */
    public long address(int i, ElementType expected) {
        checkReadable(i, expected);
        return values[i].GetTensorMutableDataByte().address();
    }

    private void checkReadable(int i, ElementType expected) {
        if (closed) {
            throw new IllegalStateException("Outputs are closed");
        }
        if (types[i] != expected) {
            throw new IllegalStateException("output " + names.get(i) + " is " + types[i] + ", not " + expected);
        }
    }

    /** Output {@code i}'s bytes in native order, checked to be of element type {@code expected}. */
    public ByteBuffer raw(int i, ElementType expected) {
        checkReadable(i, expected);
        if (onDevice) {
            throw new IllegalStateException("output " + names.get(i) + " is in device memory; read it with address()");
        }
        long n = expected.bytes();
        for (long d : shapes[i]) {
            n *= d;
        }
        Pointer p = values[i].GetTensorMutableDataByte();
        return p.capacity(n).limit(n).asByteBuffer().order(ByteOrder.nativeOrder());
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            for (Value v : values) {
                if (v != null) {
                    v.close();
                }
            }
        } finally {
            vector.close();
            if (binding != null) {
                try {
                    binding.close();
                } catch (Exception e) {
                    throw new IllegalStateException("closing the IoBinding of " + names + " failed", e);
                }
            }
        }
    }
}
