package dev.latent.encode.onnx;

import java.util.Arrays;

/**
 * A model input or output as the ONNX file declares it.
 *
 * @param name  tensor name
 * @param type  element type, or {@code null} when it is one Latent does not handle ({@link #typeCode} says which)
 * @param typeCode ONNX element type code
 * @param shape declared dimensions; -1 for a symbolic one such as the batch size
 */
public record TensorInfo(String name, ElementType type, int typeCode, long[] shape) {
    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of dimensions. */
    public int rank() {
        return shape.length;
    }

    /** The last dimension, or -1 when symbolic or the tensor is a scalar. */
    public long lastDim() {
        return shape.length == 0 ? -1 : shape[shape.length - 1];
    }

    @Override
    public String toString() {
        return name + ": " + (type != null ? type.name().toLowerCase(java.util.Locale.ROOT) : "type " + typeCode)
                + Arrays.toString(shape);
    }
}
