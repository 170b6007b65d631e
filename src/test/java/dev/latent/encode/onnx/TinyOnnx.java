package dev.latent.encode.onnx;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writes tiny ONNX models by hand (protobuf wire format, no ONNX library needed): one graph of Identity
 * nodes, each input {@code [batch, tokens]} copied to an output. Enough to test how the encoder checks a
 * model's inputs and outputs.
 */
public final class TinyOnnx {
    public static final int FLOAT = 1;
    public static final int INT64 = 7;

    private TinyOnnx() {
    }

    /**
     * A model whose inputs are {@code inputs} (all of {@code inputType}) and whose outputs are Identity copies
     * named {@code outputs[i]} of input {@code i}.
     */
    public static byte[] identity(String[] inputs, int inputType, String[] outputs) {
        Proto graph = new Proto();
        for (int i = 0; i < outputs.length; i++) {
            Proto node = new Proto().string(1, inputs[i]).string(2, outputs[i]).string(3, "n" + i).string(4, "Identity");
            graph.message(1, node);
        }
        graph.string(2, "tiny");
        for (String in : inputs) {
            graph.message(11, valueInfo(in, inputType));
        }
        for (String out : outputs) {
            graph.message(12, valueInfo(out, inputType));
        }
        return new Proto()
                .varint(1, 8)                                          // ir_version
                .string(2, "latent-test")                              // producer_name
                .message(7, graph)                                     // graph
                .message(8, new Proto().string(1, "").varint(2, 17))   // opset_import
                .bytes();
    }

    private static Proto valueInfo(String name, int elemType) {
        Proto shape = new Proto()
                .message(1, new Proto().string(2, "batch"))
                .message(1, new Proto().string(2, "tokens"));
        Proto tensor = new Proto().varint(1, elemType).message(2, shape);
        return new Proto().string(1, name).message(2, new Proto().message(1, tensor));
    }

    /** Minimal protobuf writer: varint and length-delimited fields. */
    private static final class Proto {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        private void raw(long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }

        Proto varint(int field, long v) {
            raw((long) field << 3);
            raw(v);
            return this;
        }

        Proto lengthDelimited(int field, byte[] b) {
            raw(((long) field << 3) | 2);
            raw(b.length);
            out.write(b, 0, b.length);
            return this;
        }

        Proto string(int field, String s) {
            return lengthDelimited(field, s.getBytes(StandardCharsets.UTF_8));
        }

        Proto message(int field, Proto m) {
            return lengthDelimited(field, m.bytes());
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
