package dev.latent.encode.onnx;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes small ONNX models from tests, with no ONNX library: the few protobuf messages a graph needs
 * (ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto), encoded by hand. Enough for models of
 * Identity, Gemm, GlobalAveragePool, Flatten and the like, with float initializers. A negative dimension is
 * symbolic: -1 is named "batch", -2 "tokens".
 *
 * <pre>{@code
 * TinyOnnx.model().input("x", -1, 4).output("y", -1, 2)
 *     .initializer("w", new float[] {...}, 4, 2).initializer("b", new float[] {...}, 2)
 *     .node("Gemm", List.of("x", "w", "b"), List.of("y")).write(path);
 * }</pre>
 */
public final class TinyOnnx {
    public static final int FLOAT = 1;
    public static final int INT64 = 7;

    private final List<byte[]> nodes = new ArrayList<>();
    private final List<byte[]> initializers = new ArrayList<>();
    private final List<byte[]> inputs = new ArrayList<>();
    private final List<byte[]> outputs = new ArrayList<>();

    public static TinyOnnx model() {
        return new TinyOnnx();
    }

    /** A float input. */
    public TinyOnnx input(String name, long... dims) {
        return typedInput(name, FLOAT, dims);
    }

    /** An input of element type {@code elemType} ({@link #FLOAT}, {@link #INT64}). */
    public TinyOnnx typedInput(String name, int elemType, long... dims) {
        inputs.add(valueInfo(name, elemType, dims));
        return this;
    }

    public TinyOnnx output(String name, long... dims) {
        return typedOutput(name, FLOAT, dims);
    }

    public TinyOnnx typedOutput(String name, int elemType, long... dims) {
        outputs.add(valueInfo(name, elemType, dims));
        return this;
    }

    /**
     * A model whose inputs are {@code inputs} (all of {@code inputType}, shape {@code [batch, tokens]}) and whose
     * outputs are Identity copies named {@code outputs[i]} of input {@code i}.
     */
    public static byte[] identity(String[] inputs, int inputType, String[] outputs) {
        TinyOnnx m = model();
        for (String in : inputs) {
            m.typedInput(in, inputType, -1, -2);
        }
        for (int i = 0; i < outputs.length; i++) {
            m.typedOutput(outputs[i], inputType, -1, -2);
            m.node("Identity", java.util.List.of(inputs[i]), java.util.List.of(outputs[i]));
        }
        return m.toBytes();
    }

    public TinyOnnx initializer(String name, float[] values, long... dims) {
        Msg t = new Msg();
        for (long d : dims) {
            t.varint(1, d);
        }
        t.varint(2, 1); // FLOAT
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        for (float v : values) {
            int bits = Float.floatToIntBits(v);
            for (int i = 0; i < 4; i++) {
                raw.write((bits >>> (8 * i)) & 0xFF);
            }
        }
        t.string(8, name);
        t.bytes(9, raw.toByteArray());
        initializers.add(t.toBytes());
        return this;
    }

    /** A node; {@code intAttributes} are name/value pairs of INT attributes. */
    public TinyOnnx node(String op, List<String> in, List<String> out, Object... intAttributes) {
        Msg n = new Msg();
        for (String s : in) {
            n.string(1, s);
        }
        for (String s : out) {
            n.string(2, s);
        }
        n.string(3, op + nodes.size());
        n.string(4, op);
        for (int i = 0; i < intAttributes.length; i += 2) {
            Msg a = new Msg();
            a.string(1, (String) intAttributes[i]);
            a.varint(3, ((Number) intAttributes[i + 1]).longValue());
            a.varint(20, 2); // INT
            n.bytes(5, a.toBytes());
        }
        nodes.add(n.toBytes());
        return this;
    }

    public byte[] toBytes() {
        Msg g = new Msg();
        for (byte[] n : nodes) {
            g.bytes(1, n);
        }
        g.string(2, "tiny");
        for (byte[] t : initializers) {
            g.bytes(5, t);
        }
        for (byte[] v : inputs) {
            g.bytes(11, v);
        }
        for (byte[] v : outputs) {
            g.bytes(12, v);
        }
        Msg opset = new Msg();
        opset.string(1, "");
        opset.varint(2, 13);
        Msg m = new Msg();
        m.varint(1, 7); // IR version 7
        m.string(2, "latent-tests");
        m.bytes(7, g.toBytes());
        m.bytes(8, opset.toBytes());
        return m.toBytes();
    }

    public Path write(Path file) throws IOException {
        Files.write(file, toBytes());
        return file;
    }

    private static byte[] valueInfo(String name, int elemType, long... dims) {
        Msg shape = new Msg();
        for (long d : dims) {
            Msg dim = new Msg();
            if (d < 0) {
                dim.string(2, d == -1 ? "batch" : "tokens");
            } else {
                dim.varint(1, d);
            }
            shape.bytes(1, dim.toBytes());
        }
        Msg tensor = new Msg();
        tensor.varint(1, elemType);
        tensor.bytes(2, shape.toBytes());
        Msg type = new Msg();
        type.bytes(1, tensor.toBytes());
        Msg v = new Msg();
        v.string(1, name);
        v.bytes(2, type.toBytes());
        return v.toBytes();
    }

    /** Protobuf wire format: varint (type 0) and length-delimited (type 2) fields. */
    private static final class Msg {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        void varint(int field, long value) {
            raw((long) field << 3);
            raw(value);
        }

        void bytes(int field, byte[] b) {
            raw(((long) field << 3) | 2);
            raw(b.length);
            out.write(b, 0, b.length);
        }

        void string(int field, String s) {
            bytes(field, s.getBytes(StandardCharsets.UTF_8));
        }

        private void raw(long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }

        byte[] toBytes() {
            return out.toByteArray();
        }
    }
}
