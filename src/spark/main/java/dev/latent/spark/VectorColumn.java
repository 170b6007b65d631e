package dev.latent.spark;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Reads vectors out of a column: {@code array<float>} (what {@link EmbedJob} writes), {@code array<double>},
 * or {@code binary} holding little-endian float32 (what numpy's {@code tobytes()} gives on x86).
 */
final class VectorColumn {
    private VectorColumn() {
    }

    /** Checks that {@code column} exists and holds vectors; returns its index. */
    static int check(StructType schema, String column, String what) {
        int i = EmbedJob.fieldIndex(schema, column, what + " vector");
        DataType t = schema.fields()[i].dataType();
        boolean ok = t.equals(DataTypes.BinaryType) || t instanceof ArrayType a
                && (a.elementType().equals(DataTypes.FloatType) || a.elementType().equals(DataTypes.DoubleType));
        if (!ok) {
            throw new IllegalArgumentException(what + " column '" + column + "' holds " + t.simpleString()
                    + "; vectors must be array<float>, array<double> or binary float32");
        }
        return i;
    }

    /** The vector in field {@code i} of {@code r}; {@code id} names the row in errors. */
    static float[] read(Row r, int i, Object id, String what) {
        if (r.isNullAt(i)) {
            throw new IllegalArgumentException(what + " row with id " + id + " has a null vector");
        }
        Object v = r.get(i);
        if (v instanceof byte[] bytes) {
            if (bytes.length % 4 != 0) {
                throw new IllegalArgumentException(what + " row with id " + id + " has " + bytes.length
                        + " bytes of vector, not a whole number of float32 values");
            }
            float[] out = new float[bytes.length / 4];
            ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
            return out;
        }
        List<Object> list = r.getList(i);
        float[] out = new float[list.size()];
        for (int j = 0; j < out.length; j++) {
            Object x = list.get(j);
            if (x == null) {
                throw new IllegalArgumentException(what + " row with id " + id + " has a null at position " + j);
            }
            out[j] = ((Number) x).floatValue();
        }
        return out;
    }
}
