package dev.latent.encode.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.FloatMatrix;
import dev.latent.encode.Encoder;
import dev.latent.encode.Modality;
import dev.latent.encode.TensorSpec;
import dev.latent.encode.onnx.TinyOnnx;
import dev.latent.encode.onnx.OnnxModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tensor models on numeric rows, against a float64 reference of the same affine map; CSV rules. */
class TensorEncoderTest {
    private static final long SEED = System.nanoTime();

    @TempDir
    Path dir;

    /** y = x W + b, written by the test as an ONNX Gemm. */
    private Path gemm(float[] w, float[] b, int f, int d) throws IOException {
        return TinyOnnx.model().input("x", -1, f).output("y", -1, d)
                .initializer("w", w, f, d).initializer("b", b, d)
                .node("Gemm", List.of("x", "w", "b"), List.of("y")).write(dir.resolve("gemm.onnx"));
    }

    @Test
    void rowsAreStandardisedThenEncodedAsTheModelSays() throws IOException {
        Random rnd = new Random(SEED);
        int f = 5;
        int d = 3;
        float[] w = new float[f * d];
        float[] b = new float[d];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        for (int i = 0; i < d; i++) {
            b[i] = (float) rnd.nextGaussian();
        }
        float[] mean = {1, -2, 0.5f, 10, 0};
        float[] std = {2, 0.5f, 1, 4, 3};
        TensorSpec spec = new TensorSpec(f, mean, std);
        for (int n : new int[] {1, 7, 1000}) {
            try (TensorEncoder enc = TensorEncoder.open(TensorEncoder.specOf(gemm(w, b, f, d), spec, false), OnnxModel.Options.cpu(1));
                 FloatMatrix x = FloatMatrix.allocate(n, f)) {
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < f; j++) {
                        x.set(i, j, (float) (rnd.nextGaussian() * 5));
                    }
                }
                try (FloatMatrix y = enc.encode(x)) {
                    assertEquals(n, y.rows());
                    assertEquals(d, y.cols());
                    for (int i = 0; i < n; i++) {
                        for (int c = 0; c < d; c++) {
                            double want = b[c];
                            for (int j = 0; j < f; j++) {
                                want += (x.get(i, j) - (double) mean[j]) / std[j] * w[j * d + c];
                            }
                            assertEquals(want, y.get(i, c), 1e-4 * (1 + Math.abs(want)), "row " + i + " seed " + SEED);
                        }
                    }
                }
                x.set(n - 1, 2, Float.NaN);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> enc.encode(x));
                assertTrue(e.getMessage().contains("row " + (n - 1) + ", column 2"), e.getMessage());
            }
        }
    }

    @Test
    void csvHeadersIdsAndBadRowsAreHandled() throws IOException {
        Path csv = dir.resolve("rows.csv");
        Files.writeString(csv, "amount,id,hour\n12.5,tx-1,3\n\n7,tx-2,23\n", StandardCharsets.UTF_8);
        CsvRows rows = CsvRows.read(csv, 2);
        assertEquals(List.of("tx-1", "tx-2"), rows.ids());
        assertEquals(12.5f, rows.values().get(0, 0));
        assertEquals(23f, rows.values().get(1, 1));
        rows.values().close();

        Files.writeString(csv, "1,2,3\n4,5\n", StandardCharsets.UTF_8);
        IOException e = assertThrows(IOException.class, () -> CsvRows.read(csv, 0));
        assertTrue(e.getMessage().endsWith("rows.csv:2: 2 columns, expected 3"), e.getMessage());
        Files.writeString(csv, "1,2,3\n4,five,6\n", StandardCharsets.UTF_8);
        e = assertThrows(IOException.class, () -> CsvRows.read(csv, 0));
        assertTrue(e.getMessage().contains("rows.csv:2: column 2 'five' is not a number"), e.getMessage());
        Files.writeString(csv, "1,2,3\n", StandardCharsets.UTF_8);
        e = assertThrows(IOException.class, () -> CsvRows.read(csv, 4));
        assertTrue(e.getMessage().contains("rows.csv:1: 3 feature columns, the model takes 4"), e.getMessage());
        Files.writeString(csv, "1,inf,3\n", StandardCharsets.UTF_8);
        assertThrows(IOException.class, () -> CsvRows.read(csv, 3));
        Files.writeString(csv, "0.5,1.5\n2.5,3.5\n", StandardCharsets.UTF_8); // no header: ids are line numbers
        CsvRows plain = CsvRows.read(csv, 2);
        assertEquals(List.of("1", "2"), plain.ids());
        assertEquals(3.5f, plain.values().get(1, 1));
        plain.values().close();
    }

    @Test
    void aModelThatIsNotRowsInIsRefused() throws IOException {
        Path image = TinyOnnx.model().input("x", -1, 3, 4, 4).output("y", -1, 3, 1, 1)
                .node("GlobalAveragePool", List.of("x"), List.of("y")).write(dir.resolve("pool.onnx"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TensorEncoder.open(TensorEncoder.specOf(image, new TensorSpec(3, null, null), false), OnnxModel.Options.cpu(1)));
        assertTrue(e.getMessage().contains("not a 2-D float tensor"), e.getMessage());
        Path gemm = gemm(new float[8], new float[2], 4, 2);
        e = assertThrows(IllegalArgumentException.class,
                () -> TensorEncoder.open(TensorEncoder.specOf(gemm, new TensorSpec(5, null, null), false), OnnxModel.Options.cpu(1)));
        assertTrue(e.getMessage().contains("takes 4 columns; its entry says 5"), e.getMessage());
    }

    /** As an {@link Encoder}: rows as arrays give the rows {@code encode(FloatMatrix)} gives; a short row is named. */
    @Test
    void theEncoderInterfaceGivesTheSameVectors() throws IOException {
        Random rnd = new Random(SEED + 1);
        int f = 4;
        int d = 3;
        float[] w = new float[f * d];
        float[] b = new float[d];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        List<float[]> rows = new java.util.ArrayList<>();
        for (int i = 0; i < 7; i++) {
            float[] r = new float[f];
            for (int j = 0; j < f; j++) {
                r[j] = (float) rnd.nextGaussian();
            }
            rows.add(r);
        }
        try (TensorEncoder enc = TensorEncoder.open(TensorEncoder.specOf(gemm(w, b, f, d), new TensorSpec(f, null, null), false),
                OnnxModel.Options.cpu(1));
             FloatMatrix x = FloatMatrix.of(rows.toArray(new float[0][]));
             FloatMatrix direct = enc.encode(x)) {
            Encoder<float[]> e = enc;
            assertEquals(Modality.TENSOR, e.modality());
            assertEquals("CPU", e.provider());
            assertEquals(d, e.dimension());
            try (FloatMatrix viaInterface = e.encode(rows)) {
                assertEquals(direct.rows(), viaInterface.rows());
                for (int i = 0; i < direct.rows(); i++) {
                    for (int c = 0; c < d; c++) {
                        assertEquals(direct.get(i, c), viaInterface.get(i, c), "row " + i);
                    }
                }
            }
            List<float[]> bad = List.of(rows.get(0), new float[f - 1]);
            IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> e.encode(bad));
            assertTrue(error.getMessage().contains("row 1 has 3 numbers"), error.getMessage());
        }
    }
}
