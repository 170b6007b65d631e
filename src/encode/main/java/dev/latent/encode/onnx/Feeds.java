package dev.latent.encode.onnx;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.bytedeco.javacpp.BytePointer;

/**
 * Named input tensors for {@link OnnxModel#run}, held in native memory that grows on demand and is reused
 * from one run to the next (a worker keeps one {@code Feeds} for all its batches). Setting a name again
 * replaces its tensor.
 *
 * <p>Not thread-safe: one per worker thread. {@link #close()} frees the native buffers, exactly once.
 */
public final class Feeds implements AutoCloseable {
    /** One named tensor: its bytes, element type and shape. */
    static final class Slot {
        BytePointer data;
        long capacity;
        long bytes;
        ElementType type;
        long[] shape;
    }

    private final Map<String, Slot> slots = new LinkedHashMap<>();
    private boolean closed;

    /** Sets {@code name} to an int64 tensor of {@code shape} from the first elements of {@code values}. */
    public Feeds longs(String name, long[] values, long... shape) {
        long n = elements(name, shape, values.length);
        slot(name, ElementType.INT64, shape, n).data.position(0).asByteBuffer().asLongBuffer().put(values, 0, (int) n);
        return this;
    }

    /** Sets {@code name} to a float32 tensor of {@code shape} from the first elements of {@code values}. */
    public Feeds floats(String name, float[] values, long... shape) {
        long n = elements(name, shape, values.length);
        slot(name, ElementType.FLOAT, shape, n).data.position(0).asByteBuffer().asFloatBuffer().put(values, 0, (int) n);
        return this;
    }

    /** Sets {@code name} to an int32 tensor of {@code shape} from the first elements of {@code values}. */
    public Feeds ints(String name, int[] values, long... shape) {
        long n = elements(name, shape, values.length);
        slot(name, ElementType.INT32, shape, n).data.position(0).asByteBuffer().asIntBuffer().put(values, 0, (int) n);
        return this;
    }

    /** Sets {@code name} to a one-byte tensor ({@code uint8}, {@code int8} or {@code bool}) of {@code shape}. */
    public Feeds bytes(String name, ElementType type, byte[] values, long... shape) {
        if (type.bytes() != 1) {
            throw new IllegalArgumentException("input " + name + ": bytes() takes a one-byte element type, got " + type);
        }
        long n = elements(name, shape, values.length);
        slot(name, type, shape, n).data.position(0).put(values, 0, (int) n);
        return this;
    }

    /** The names set so far, in the order they were first set. */
    public Set<String> names() {
        return slots.keySet();
    }

    Slot get(String name) {
        return slots.get(name);
    }

    private static long elements(String name, long[] shape, int available) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("input " + name + ": negative dimension in shape "
                        + java.util.Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        if (n > available) {
            throw new IllegalArgumentException("input " + name + ": shape " + java.util.Arrays.toString(shape)
                    + " needs " + n + " elements, the array has " + available);
        }
        return n;
    }

    private Slot slot(String name, ElementType type, long[] shape, long elements) {
        if (closed) {
            throw new IllegalStateException("Feeds is closed");
        }
        Slot s = slots.computeIfAbsent(name, k -> new Slot());
        long bytes = elements * type.bytes();
        if (s.data == null || bytes > s.capacity) {
            long c = Math.max(Math.max(bytes, 64), s.capacity * 2);
            BytePointer fresh = new BytePointer(c);
            if (s.data != null) {
                s.data.close();
            }
            s.data = fresh;
            s.capacity = c;
        }
        s.bytes = bytes;
        s.type = type;
        s.shape = shape.clone();
        return s;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Slot s : slots.values()) {
            if (s.data != null) {
                s.data.close();
            }
        }
    }
}
