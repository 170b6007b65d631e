package dev.latent.jmh;

import dev.latent.compute.Backends;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.index.FlatIndex;
import dev.latent.index.VectorIndex;
import dev.latent.space.Record;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Heap held by an index's records once it is opened from its file (jmh/memory/records-heap.sh):
 * {@code build FILE N D} writes N vectors of dimension D, each with a record (key {@code doc-i}, a 200-byte text, a
 * payload of two fields); {@code load FILE} opens it, looks up a few records by id and by key, and prints the heap in
 * use after a full collection before and after the load, and the size of the vectors (off-heap, not in that figure).
 */
public final class RecordsMemory {
    private RecordsMemory() {
    }

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[1]);
        if (args[0].equals("build")) {
            int n = Integer.parseInt(args[2]);
            int d = Integer.parseInt(args[3]);
            SplittableRandom rnd = new SplittableRandom(42);
            String filler = "abcdefghijklmnopqrstuvwxyz ".repeat(8);
            try (FlatIndex index = new FlatIndex(d, Metric.COSINE, Backends.java())) {
                index.reserve(n);
                for (int from = 0; from < n; from += 100_000) {
                    int rows = Math.min(100_000, n - from);
                    float[] flat = new float[rows * d];
                    for (int i = 0; i < flat.length; i++) {
                        flat[i] = (float) (rnd.nextDouble() - 0.5);
                    }
                    long[] ids = new long[rows];
                    List<Record> records = new ArrayList<>(rows);
                    for (int i = 0; i < rows; i++) {
                        long id = from + i;
                        ids[i] = id;
                        String text = (id + " " + filler).substring(0, 200);
                        records.add(new Record("doc-" + id, text, Map.of("lang", id % 3 == 0 ? "en" : "de", "year", 1990 + id % 35)));
                    }
                    try (FloatMatrix m = FloatMatrix.of(flat, d)) {
                        index.add(ids, m, records);
                    }
                }
                index.save(file);
            }
            System.out.printf("wrote %s: %,d records, %,d bytes%n", file, n, Files.size(file));
            return;
        }
        long before = usedAfterGc();
        try (VectorIndex index = VectorIndex.load(file, Backends.java())) {
            long n = index.size();
            int d = index.dimension();
            long probes = 0;
            for (long id = 0; id < n; id += Math.max(1, n / 1000)) {
                Record r = index.record(id);
                if (r == null || index.idOfKey(r.key()).orElse(-1) != id) {
                    throw new AssertionError("record " + id + " is not found back");
                }
                probes++;
            }
            long after = usedAfterGc();
            System.out.printf("max heap %,d MB; %,d records opened from %s (%,d bytes), %,d looked up by id and key%n",
                    Runtime.getRuntime().maxMemory() >> 20, n, file.getFileName(), Files.size(file), probes);
            System.out.printf("heap in use: %.1f MB before the load, %.1f MB after: %.1f MB for the index "
                    + "(the vectors, %.1f MB, are off-heap)%n", before / 1e6, after / 1e6, (after - before) / 1e6,
                    n * d * 4 / 1e6);
        }
    }

    private static long usedAfterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
