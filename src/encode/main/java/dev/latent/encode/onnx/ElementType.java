package dev.latent.encode.onnx;

/**
 * ONNX tensor element types that Latent feeds and reads, with ONNX's own codes
 * ({@code TensorProto.DataType}) and their sizes in bytes.
 */
public enum ElementType {
    FLOAT(1, 4), UINT8(2, 1), INT8(3, 1), INT32(6, 4), INT64(7, 8), BOOL(9, 1), FLOAT16(10, 2), DOUBLE(11, 8);

    private final int code;
    private final int bytes;

    ElementType(int code, int bytes) {
        this.code = code;
        this.bytes = bytes;
    }

    /** ONNX's code for this type. */
    public int code() {
        return code;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** The type with ONNX code {@code code}, or {@code null} for one Latent does not handle (strings, complex). */
    public static ElementType ofCode(int code) {
        for (ElementType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        return null;
    }
}
