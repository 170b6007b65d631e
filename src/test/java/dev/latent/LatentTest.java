package dev.latent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.latent.compute.Backends;
import dev.latent.core.Metric;
import dev.latent.index.FlatIndex;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The entry point delegates: index, loadIndex and backend. */
class LatentTest {
    @TempDir
    Path dir;

    @Test
    void entryPointRoundTrip() throws Exception {
        assertNotNull(Latent.backend());
        assertEquals(Backends.get(), Latent.backend());
        Path file = dir.resolve("x.lidx");
        try (FlatIndex index = Latent.index(3, Metric.L2)) {
            index.add(7, new float[] {1, 2, 3});
            index.add(9, new float[] {-1, 0, 4});
            index.save(file);
        }
        try (FlatIndex back = Latent.loadIndex(file)) {
            assertEquals(2, back.size());
            assertArrayEquals(new long[] {9}, back.search(new float[] {-1, 0, 3.5f}, 1).ids(0));
        }
    }
}
