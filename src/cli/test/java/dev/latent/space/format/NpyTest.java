package dev.latent.space.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.FloatMatrix;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {
    @TempDir
    Path dir;

    /** The fixtures were written by numpy: {@code np.arange(12).reshape(3, 4) * 0.5 - 1.25}. */
    private static float[][] expected() {
        float[][] a = new float[3][4];
        for (int i = 0; i < 12; i++) {
            a[i / 4][i % 4] = i * 0.5f - 1.25f;
        }
        return a;
    }

    /** A numpy fixture copied to a file (the test classes may sit in a jar, as in the GPU bundle). */
    private Path fixture(String name) throws IOException {
        Path file = dir.resolve("fixture-" + name);
        if (!Files.exists(file)) {
            try (InputStream in = NpyTest.class.getResourceAsStream("/npy/" + name)) {
                if (in == null) {
                    throw new IOException("test resource /npy/" + name + " is missing from the class path");
                }
                Files.copy(in, file);
            }
        }
        return file;
    }

    @Test
    void readsNumpyFixturesOfEveryAcceptedDtypeAndVersion() throws Exception {
        for (String name : List.of("f4le.npy", "f4be.npy", "f8le.npy", "f8be.npy", "v2.npy", "v3.npy")) {
            try (FloatMatrix m = Npy.read(fixture(name))) {
                float[][] got = m.toArray();
                float[][] want = expected();
                for (int r = 0; r < 3; r++) {
                    assertArrayEquals(want[r], got[r], name + " row " + r);
                }
            }
        }
        assertEquals(2, Npy.readHeader(fixture("v2.npy")).majorVersion());
        assertEquals(3, Npy.readHeader(fixture("v3.npy")).majorVersion());
        try (FloatMatrix m = Npy.read(fixture("empty.npy"))) {
            assertEquals(0, m.rows());
            assertEquals(5, m.cols());
        }
    }

    @Test
    void rejectsWhatItCannotReadWithTheReason() throws Exception {
        IOException f = assertThrows(IOException.class, () -> Npy.read(fixture("fortran.npy")));
        assertTrue(f.getMessage().contains("fortran_order=True"), f.getMessage());
        IOException i = assertThrows(IOException.class, () -> Npy.read(fixture("int32.npy")));
        assertTrue(i.getMessage().contains("'<i4'"), i.getMessage());
        IOException o = assertThrows(IOException.class, () -> Npy.read(fixture("oned.npy")));
        assertTrue(o.getMessage().contains("2-D"), o.getMessage());
        Path junk = dir.resolve("junk.npy");
        Files.writeString(junk, "hello, this is not numpy");
        IOException j = assertThrows(IOException.class, () -> Npy.read(junk));
        assertTrue(j.getMessage().contains("not an .npy file"), j.getMessage());
        assertThrows(NoSuchFileException.class, () -> Npy.read(dir.resolve("missing.npy")));
    }

    /** A version 1.0 .npy file with this header (padded to 64 bytes, ending in a newline) and 2 x 2 floats. */
    private Path craft(String name, String header) throws IOException {
        StringBuilder h = new StringBuilder(header);
        while ((10 + h.length() + 1) % 64 != 0) {
            h.append(' ');
        }
        h.append('\n');
        byte[] hb = h.toString().getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(10 + hb.length + 16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) hb.length).put(hb);
        b.putFloat(1).putFloat(2).putFloat(3).putFloat(4);
        Path p = dir.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    /** Headers numpy accepts are read; headers numpy refuses are refused, each with the reason. */
    @Test
    void headersAreReadExactlyAsNumpyReadsThem() throws Exception {
        String[] accepted = {
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
            "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 2)}",
            "{'shape': (2, 2), 'fortran_order': False, 'descr': '<f4'}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 2L), }",
            "{ 'descr' : '<f4' , 'fortran_order' : False , 'shape' : ( 2 , 2 , ) }",
        };
        String[][] refused = {
            {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'extra': 1, }", "a list value|unexpected"},
            {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'extra': 'x'}", "exactly the keys"},
            {"{'descr': '<f4', 'shape': (2, 2)}", "exactly the keys"},
            {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2)", "ends early|expected"},
            {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2)} trailing", "after the closing brace"},
            {"{'descr': '<f4', 'fortran_order': false, 'shape': (2, 2)}", "unexpected"},
            {"{'descr': '<f4', 'fortran_order': False, 'shape': (2.0, 2)}", "expected ','"},
            {"{'descr': '<f4', 'fortran_order': False, 'shape': [2, 2]}", "a list value"},
            {"{'descr': '<f4', 'fortran_order': False, 'shape': (4)}", "not a tuple"},
            {"{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 2)}", "unexpected"},
            {"{'descr': <f4, 'fortran_order': False, 'shape': (2, 2)}", "unexpected"},
        };
        boolean numpy = NpyTestSupport.numpyAvailable();
        int i = 0;
        for (String h : accepted) {
            Path p = craft("ok" + i++ + ".npy", h);
            try (FloatMatrix m = Npy.read(p)) {
                assertArrayEquals(new float[] {1, 2, 3, 4}, m.copyRows(0, 2), h);
            }
            if (numpy) {
                assertTrue(numpyLoads(p), "numpy should accept " + h);
            }
        }
        for (String[] r : refused) {
            Path p = craft("bad" + i++ + ".npy", r[0]);
            IOException e = assertThrows(IOException.class, () -> Npy.read(p), r[0]);
            assertTrue(java.util.regex.Pattern.compile(r[1]).matcher(e.getMessage()).find(), e.getMessage());
            if (numpy) {
                assertFalse(numpyLoads(p), "numpy accepts what we refuse: " + r[0]);
            }
        }
        // numpy refuses headers over 10,000 bytes unless told to trust the file; so does this reader.
        Path big = craft("big.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), " + " ".repeat(10100) + "}");
        IOException e = assertThrows(IOException.class, () -> Npy.read(big));
        assertTrue(e.getMessage().contains("numpy refuses headers over 10000 bytes"), e.getMessage());
    }

    private static boolean numpyLoads(Path p) throws Exception {
        Process proc = new ProcessBuilder("python3", "-c", "import numpy, sys; numpy.load(sys.argv[1])", p.toString())
                .redirectErrorStream(true).start();
        proc.getInputStream().readAllBytes();
        assertTrue(proc.waitFor(60, TimeUnit.SECONDS));
        return proc.exitValue() == 0;
    }

    @Test
    void truncatedDataIsReported() throws Exception {
        Path p = dir.resolve("t.npy");
        byte[] all = Files.readAllBytes(fixture("f4le.npy"));
        Files.write(p, java.util.Arrays.copyOf(all, all.length - 5));
        IOException e = assertThrows(IOException.class, () -> Npy.read(p));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void roundTripAndStreamingWrite() throws Exception {
        Random rnd = new Random(7);
        int d = 13;
        float[] flat = new float[101 * d];
        for (int i = 0; i < flat.length; i++) {
            flat[i] = (float) rnd.nextGaussian();
        }
        Path p = dir.resolve("out.npy");
        try (FloatMatrix m = FloatMatrix.of(flat, d)) {
            Npy.write(p, m);
            try (Npy.Writer w = Npy.writer(dir.resolve("stream.npy"), d)) {
                w.append(m.rowsView(0, 40));
                w.append(m.rowsView(40, 101));
                w.commit();
            }
        }
        for (Path f : List.of(p, dir.resolve("stream.npy"))) {
            Npy.Header h = Npy.readHeader(f);
            assertEquals(101, h.rows());
            assertEquals(d, h.cols());
            assertEquals(0, h.dataOffset() % 64, "data aligned to 64 bytes");
            try (FloatMatrix back = Npy.read(f)) {
                assertArrayEquals(flat, back.copyRows(0, 101));
            }
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(2, s.count(), "no temporary files left behind");
        }
    }

    @Test
    void abandonedWriteLeavesNoFile() throws Exception {
        Path p = dir.resolve("partial.npy");
        try (Npy.Writer w = Npy.writer(p, 4); FloatMatrix m = FloatMatrix.allocate(10, 4)) {
            w.append(m);
            // no commit: as if the producer failed half-way
        }
        assertFalse(Files.exists(p));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(0, s.count(), "temporary file removed");
        }
    }

    @Test
    void numpyReadsWhatWeWrite() throws Exception {
        Assumptions.assumeTrue(NpyTestSupport.numpyAvailable(), "python3 with numpy not available");
        Path p = dir.resolve("ours.npy");
        try (FloatMatrix m = FloatMatrix.of(new float[][] {{1.5f, -2f, 3f}, {4f, 5f, 6.25f}})) {
            Npy.write(p, m);
        }
        Process pr = new ProcessBuilder("python3", "-c",
                "import numpy as np,sys; a=np.load(sys.argv[1]); assert a.dtype==np.float32 and a.shape==(2,3), (a.dtype,a.shape);"
                        + " assert a.tolist()==[[1.5,-2.0,3.0],[4.0,5.0,6.25]], a.tolist()", p.toString())
                .redirectErrorStream(true).start();
        String out = new String(pr.getInputStream().readAllBytes());
        assertTrue(pr.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, pr.exitValue(), out);
    }
}
