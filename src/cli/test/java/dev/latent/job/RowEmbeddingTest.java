package dev.latent.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.encode.TensorSpec;
import dev.latent.encode.onnx.OnnxModel;
import dev.latent.encode.onnx.TinyOnnx;
import dev.latent.encode.tensor.TensorEncoder;
import dev.latent.index.FlatIndex;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Numeric rows from CSV or .npy through a tensor model (an affine map written by the test) into the targets. */
class RowEmbeddingTest {
    private static final long SEED = System.nanoTime();

    @TempDir
    Path dir;

    /** y = x W + b as an ONNX Gemm, 3 columns in, 2 out, opened as a tensor model. */
    private TensorEncoder encoder(Random rnd) throws IOException {
        float[] w = new float[3 * 2];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        Path onnx = TinyOnnx.model().input("x", -1, 3).output("y", -1, 2)
                .initializer("w", w, 3, 2).initializer("b", new float[] {0.5f, -1}, 2)
                .node("Gemm", List.of("x", "w", "b"), List.of("y")).write(dir.resolve("rows.onnx"));
        return TensorEncoder.open(TensorEncoder.specOf(onnx, new TensorSpec(3, null, null), false),
                OnnxModel.Options.cpu(1));
    }

    @Test
    void csvRowsKeepTheirIdsAndNpyRowsAreNumbered() throws IOException {
        Random rnd = new Random(SEED);
        try (TensorEncoder enc = encoder(rnd)) {
            Path csv = dir.resolve("rows.csv");
            Files.writeString(csv, "a,id,b,c\n1,tx-1,2,3\n4,tx-2,5,6\n-1,tx-3,0,1\n", StandardCharsets.UTF_8);
            EmbeddingTargets t = EmbeddingTargets.of(dir.resolve("v.npy"), dir.resolve("v.lidx"), Metric.L2)
                    .withMetadata("created_by", "a test");
            RowEmbedding.Stats st = RowEmbedding.run(csv, enc, t);
            assertEquals(3, st.rows());
            assertEquals(List.of("tx-1", "tx-2", "tx-3"), Files.readAllLines(t.ids(), StandardCharsets.UTF_8));
            try (FloatMatrix x = FloatMatrix.of(new float[][] {{1, 2, 3}, {4, 5, 6}, {-1, 0, 1}});
                 FloatMatrix want = enc.encode(x); FloatMatrix v = Npy.read(t.vectors());
                 FlatIndex index = FlatIndex.load(t.index())) {
                assertArrayEquals(want.copyRows(0, 3), v.copyRows(0, 3), "seed " + SEED);
                assertArrayEquals(new long[] {0, 1, 2}, index.ids());
                assertArrayEquals(want.copyRows(2, 1), index.vector(2));
                assertEquals(Map.of("model", "rows.onnx", "modality", "tensor", "created_by", "a test"),
                        index.metadata());

                Path npy = dir.resolve("rows.NPY");
                Npy.write(npy, x);
                EmbeddingTargets n = EmbeddingTargets.of(dir.resolve("n.npy"), null, Metric.L2);
                assertEquals(3, RowEmbedding.run(npy, enc, n).rows());
                assertEquals(List.of("0", "1", "2"), Files.readAllLines(n.ids(), StandardCharsets.UTF_8));
                try (FloatMatrix nv = Npy.read(n.vectors())) {
                    assertArrayEquals(want.copyRows(0, 3), nv.copyRows(0, 3));
                }
            }
        }
    }

    @Test
    void badRowsAreNamedAndNothingIsWritten() throws IOException {
        try (TensorEncoder enc = encoder(new Random(SEED + 1))) {
            EmbeddingTargets t = EmbeddingTargets.of(dir.resolve("v.npy"), dir.resolve("v.lidx"), Metric.L2);
            Path csv = dir.resolve("rows.csv");
            Files.writeString(csv, "1,2,3\n4,five,6\n", StandardCharsets.UTF_8);
            EmbeddingInputException e = assertThrows(EmbeddingInputException.class, () -> RowEmbedding.run(csv, enc, t));
            assertTrue(e.getMessage().endsWith("rows.csv:2: column 2 'five' is not a number"), e.getMessage());

            Path npy = dir.resolve("nan.npy");
            try (FloatMatrix x = FloatMatrix.of(new float[][] {{1, 2, 3}, {4, Float.NaN, 6}})) {
                Npy.write(npy, x);
            }
            e = assertThrows(EmbeddingInputException.class, () -> RowEmbedding.run(npy, enc, t));
            assertEquals(npy + ": row 1, column 1: NaN is not a finite number", e.getMessage());

            Path wide = dir.resolve("wide.npy");
            try (FloatMatrix x = FloatMatrix.allocate(2, 4)) {
                Npy.write(wide, x);
            }
            e = assertThrows(EmbeddingInputException.class, () -> RowEmbedding.run(wide, enc, t));
            assertEquals(wide + ": rows have 4 columns, model rows.onnx takes 3", e.getMessage());
            assertFalse(Files.exists(t.vectors()) || Files.exists(t.ids()) || Files.exists(t.index()));
        }
    }
}
