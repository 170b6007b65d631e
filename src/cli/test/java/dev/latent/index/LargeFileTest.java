package dev.latent.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.compute.Backends;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.space.format.Npy;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Index and .npy files over 2 GiB (about 7 GB of native memory and 5 GB of disk, a minute or so).
 * Opt-in: {@code mvn test -Dtest=LargeFileTest -Dlatent.test.argLine=-Dlatent.test.large=true}.
 */
class LargeFileTest {
    @TempDir
    Path dir;

    @Test
    void indexAndNpyFilesOverTwoGiB() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("latent.test.large"),
                "set -Dlatent.test.large=true to run (needs ~7 GB of memory and ~5 GB of disk)");
        int d = 384;
        long n = 1_500_000;   // 2.3 GB of float32
        long[] ids = new long[(int) n];
        Path lidx = dir.resolve("big.lidx");
        Path npy = dir.resolve("big.npy");
        try (FlatIndex index = new FlatIndex(d, Metric.L2, Backends.java())) {
            int batch = 100_000;
            for (long b = 0; b < n; b += batch) {
                try (FloatMatrix m = FloatMatrix.allocate(batch, d)) {
                    long[] bids = new long[batch];
                    for (int i = 0; i < batch; i++) {
                        long row = b + i;
                        bids[i] = row * 3 + 1;
                        ids[(int) row] = bids[i];
                        m.set(i, 0, row);               // recognisable values at both ends of every row
                        m.set(i, d - 1, -row);
                    }
                    index.add(bids, m);
                }
            }
            index.save(lidx);
            index.exportNpy(npy);
        }
        assertTrue(Files.size(lidx) > (2L << 30), "index file over 2 GiB");
        try (FlatIndex back = FlatIndex.load(lidx, Backends.java()); FloatMatrix m = Npy.read(npy)) {
            assertEquals(n, back.size());
            assertArrayEquals(ids, back.ids());
            for (long row : new long[] {0, 559_240, 559_241, 1_000_000, n - 1}) {
                float[] v = back.vector(row * 3 + 1);
                assertEquals(row, v[0], 0f, "row " + row);
                assertEquals(-row, v[d - 1], 0f, "row " + row);
                assertEquals(row, m.get(row, 0), 0f, "npy row " + row);
                assertEquals(-row, m.get(row, d - 1), 0f, "npy row " + row);
            }
        }
    }
}
