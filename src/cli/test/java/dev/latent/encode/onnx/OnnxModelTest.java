package dev.latent.encode.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.encode.ModelFiles;
import dev.latent.encode.ModelSpec;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The generic model: named tensors of any element type in and out, checked feeds, many callers at once. */
class OnnxModelTest {
    @TempDir
    Path dir;

    private OnnxModel open(String file, String[] inputs, int type, String[] outputs, int threads) throws IOException {
        Path onnx = Files.write(dir.resolve(file), TinyOnnx.identity(inputs, type, outputs));
        return OnnxModel.open(ModelFiles.locate(ModelSpec.Source.ofPaths(onnx, null)),
                new OnnxModel.Options(1, threads, Provider.CPU));
    }

    private static float[] randomFloats(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return v;
    }

    @Test
    void describesItsTensorsAndRoundTripsFloatsOfAnyShape() throws IOException {
        try (OnnxModel m = open("float.onnx", new String[] {"pixels", "extra"}, TinyOnnx.FLOAT,
                new String[] {"embeds", "copy"}, 1); Feeds in = new Feeds()) {
            assertEquals("CPU", m.provider());
            assertEquals(List.of("pixels", "extra"), m.inputNames());
            assertEquals(List.of("embeds", "copy"), m.outputNames());
            TensorInfo px = m.inputs().get(0);
            assertEquals(ElementType.FLOAT, px.type());
            assertArrayEquals(new long[] {-1, -1}, px.shape());
            SplittableRandom r = new SplittableRandom(7);
            for (int[] shape : new int[][] {{1, 1}, {3, 7}, {1, 4097}, {2, 3}}) { // grows, then reuses
                int n = shape[0] * shape[1];
                float[] a = randomFloats(r, n);
                float[] b = randomFloats(r, n + 5); // longer than needed: only the shape's elements are fed
                in.floats("pixels", a, shape[0], shape[1]).floats("extra", b, shape[0], shape[1]);
                try (Outputs out = m.run(in, "copy", "embeds")) {
                    assertEquals(List.of("copy", "embeds"), out.names());
                    assertArrayEquals(new long[] {shape[0], shape[1]}, out.shape(1));
                    assertEquals(ElementType.FLOAT, out.type(0));
                    float[] gotA = new float[n];
                    float[] gotB = new float[n];
                    out.floats(1).get(gotA);
                    FloatBuffer fb = out.floats(0);
                    assertEquals(n, fb.remaining());
                    fb.get(gotB);
                    assertArrayEquals(a, gotA);
                    assertArrayEquals(java.util.Arrays.copyOf(b, n), gotB);
                    assertThrows(IllegalStateException.class, () -> out.longs(0), "float output read as int64");
                }
            }
        }
    }

    @Test
    void anIoBindingRunGivesWhatARunGivesAndRefusesTheDeviceWithoutCuda() throws IOException {
        try (OnnxModel m = open("bound.onnx", new String[] {"x", "z"}, TinyOnnx.FLOAT, new String[] {"y", "w"}, 2);
                Feeds in = new Feeds()) {
            SplittableRandom r = new SplittableRandom(11);
            for (int[] shape : new int[][] {{1, 1}, {5, 384}, {2, 7}}) {
                int n = shape[0] * shape[1];
                in.floats("x", randomFloats(r, n), shape[0], shape[1]).floats("z", randomFloats(r, n), shape[0], shape[1]);
                try (Outputs plain = m.run(in, "w", "y");
                        Outputs bound = m.runBound(in, OnnxModel.Placement.HOST, "w", "y")) {
                    assertFalse(bound.onDevice());
                    assertEquals(plain.names(), bound.names());
                    for (int i = 0; i < 2; i++) {
                        assertArrayEquals(plain.shape(i), bound.shape(i));
                        float[] want = new float[n];
                        float[] got = new float[n];
                        plain.floats(i).get(want);
                        bound.floats(i).get(got);
                        assertArrayEquals(want, got, "output " + i + " through the binding");
                        assertTrue(bound.address(i, ElementType.FLOAT) != 0);
                    }
                    assertThrows(IllegalStateException.class, () -> bound.address(0, ElementType.INT64));
                }
            }
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> m.runBound(in, OnnxModel.Placement.DEVICE, "y"));
            assertTrue(e.getMessage().contains("need the CUDA provider") && e.getMessage().endsWith("runs on CPU"),
                    e.getMessage());
            IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                    () -> m.runBound(in, OnnxModel.Placement.HOST, "nope"));
            assertTrue(bad.getMessage().contains("no output 'nope'"), bad.getMessage());
        }
    }

    @Test
    void int64TensorsRoundTrip() throws IOException {
        try (OnnxModel m = open("long.onnx", new String[] {"ids"}, TinyOnnx.INT64, new String[] {"out"}, 1);
                Feeds in = new Feeds()) {
            long[] ids = {Long.MIN_VALUE, -1, 0, 1, 101, Long.MAX_VALUE};
            in.longs("ids", ids, 2, 3);
            try (Outputs out = m.run(in, "out")) {
                LongBuffer lb = out.longs(0);
                long[] got = new long[6];
                lb.get(got);
                assertArrayEquals(ids, got);
            }
        }
    }

    @Test
    void feedsThatDoNotMatchTheModelAreNamed() throws IOException {
        try (OnnxModel m = open("check.onnx", new String[] {"a", "b"}, TinyOnnx.FLOAT, new String[] {"y"}, 1);
                Feeds in = new Feeds()) {
            in.floats("a", new float[4], 2, 2);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.run(in, "y"));
            assertTrue(e.getMessage().contains("input 'b'") && e.getMessage().contains("not given"), e.getMessage());
            in.longs("b", new long[4], 2, 2);
            e = assertThrows(IllegalArgumentException.class, () -> m.run(in, "y"));
            assertTrue(e.getMessage().contains("'b'") && e.getMessage().contains("INT64"), e.getMessage());
            in.floats("b", new float[4], 2, 2).floats("c", new float[1], 1, 1);
            e = assertThrows(IllegalArgumentException.class, () -> m.run(in, "y"));
            assertTrue(e.getMessage().contains("no input 'c'"), e.getMessage());
        }
        try (OnnxModel m = open("out.onnx", new String[] {"a"}, TinyOnnx.FLOAT, new String[] {"y"}, 1);
                Feeds in = new Feeds()) {
            in.floats("a", new float[1], 1, 1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.run(in, "z"));
            assertTrue(e.getMessage().contains("no output 'z'") && e.getMessage().contains("[y]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> in.floats("a", new float[3], 2, 2));
            assertTrue(e.getMessage().contains("needs 4 elements"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> in.bytes("a", ElementType.FLOAT, new byte[4], 4));
            assertTrue(e.getMessage().contains("one-byte"), e.getMessage());
        }
    }

    @Test
    void manyCallersShareOneModelAndCloseWaitsThenRefuses() throws Exception {
        OnnxModel m = open("shared.onnx", new String[] {"x"}, TinyOnnx.FLOAT, new String[] {"y"}, 4);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Integer>> done = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int seed = t;
                done.add(pool.submit(() -> {
                    SplittableRandom r = new SplittableRandom(seed);
                    int checked = 0;
                    try (Feeds in = new Feeds()) {
                        for (int i = 0; i < 50; i++) {
                            int rows = 1 + r.nextInt(9);
                            float[] x = randomFloats(r, rows * 13);
                            in.floats("x", x, rows, 13);
                            try (Outputs out = m.run(in, "y")) {
                                float[] y = new float[x.length];
                                out.floats(0).get(y);
                                assertArrayEquals(x, y);
                                checked++;
                            }
                        }
                    }
                    return checked;
                }));
            }
            for (Future<Integer> f : done) {
                assertEquals(50, f.get());
            }
        } finally {
            pool.shutdown();
        }
        m.close();
        m.close();
        try (Feeds in = new Feeds()) {
            in.floats("x", new float[1], 1, 1);
            assertThrows(IllegalStateException.class, () -> m.run(in, "y"));
        }
    }
}
