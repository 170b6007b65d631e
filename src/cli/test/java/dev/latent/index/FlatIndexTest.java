package dev.latent.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.compute.TooManyResultsException;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FlatIndexTest {
    @TempDir
    Path dir;

    /** The pure-Java reference backend (float64 accumulators); the float64 oracle below is independent of it. */
    private static Backend backend() {
        return Backends.java();
    }

    static double score(float[] q, float[] x, Metric m) {
        double dot = 0, qq = 0, xx = 0, l2 = 0;
        for (int i = 0; i < q.length; i++) {
            dot += (double) q[i] * x[i];
            qq += (double) q[i] * q[i];
            xx += (double) x[i] * x[i];
            double d = (double) q[i] - x[i];
            l2 += d * d;
        }
        switch (m) {
            case INNER_PRODUCT: return dot;
            case COSINE: return dot / Math.sqrt(qq * xx);
            default: return l2;
        }
    }

    private static float[][] randomRows(Random rnd, int n, int d) {
        float[][] a = new float[n][d];
        for (float[] row : a) {
            for (int j = 0; j < d; j++) {
                row[j] = (float) rnd.nextGaussian();
            }
        }
        return a;
    }

    /** Float64 reference: top-k ids over the (id → vector) map, best first, ties by lower id order given. */
    static long[] reference(Map<Long, float[]> live, float[] q, int k, Metric m) {
        List<Long> ids = new ArrayList<>(live.keySet());
        ids.sort((a, b) -> {
            double sa = score(q, live.get(a), m);
            double sb = score(q, live.get(b), m);
            return m.higherIsNearer() ? Double.compare(sb, sa) : Double.compare(sa, sb);
        });
        return ids.subList(0, Math.min(k, ids.size())).stream().mapToLong(Long::longValue).toArray();
    }

    /**
     * The index's top-k against float64 brute force, allowing for float32 rounding among near-ties (with
     * d = 1, every cosine is ±1 in exact arithmetic and their float32 values differ in the last bit): the
     * score at every rank within 1e-5 of the reference's at that rank, no id twice, and every id whose
     * reference score beats the k-th by more than that among the results.
     */
    static void assertMatchesReference(Map<Long, float[]> live, float[] q, int k, Metric m, long[] got, String msg) {
        long[] want = reference(live, q, k, m);
        assertEquals(want.length, got.length, msg);
        double kth = score(q, live.get(want[want.length - 1]), m);
        java.util.Set<Long> seen = new java.util.HashSet<>();
        for (int r = 0; r < got.length; r++) {
            assertTrue(live.containsKey(got[r]), msg + ": rank " + r + " is not a live id");
            assertTrue(seen.add(got[r]), msg + ": id " + got[r] + " twice");
            double g = score(q, live.get(got[r]), m);
            double w = score(q, live.get(want[r]), m);
            assertEquals(w, g, 1e-5 * (1 + Math.abs(w)), msg + ": score at rank " + r);
        }
        for (long id : want) {
            double s = score(q, live.get(id), m);
            boolean clearlyIn = m.higherIsNearer() ? s > kth + 1e-5 * (1 + Math.abs(kth)) : s < kth - 1e-5 * (1 + Math.abs(kth));
            assertTrue(!clearlyIn || seen.contains(id), msg + ": id " + id + " (score " + s + ", k-th " + kth + ") is missing");
        }
    }

    @Test
    void addRemoveSearchMatchBruteForce() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        for (Metric metric : Metric.values()) {
            int d = 1 + rnd.nextInt(40);
            Map<Long, float[]> live = new HashMap<>();
            try (FlatIndex index = new FlatIndex(d, metric, backend())) {
                long next = 1_000_000_000_000L;
                // Several batches, enough to force the storage to grow past its first capacity.
                for (int b = 0; b < 4; b++) {
                    int n = 300 + rnd.nextInt(400);
                    float[][] rows = randomRows(rnd, n, d);
                    long[] ids = new long[n];
                    for (int i = 0; i < n; i++) {
                        ids[i] = next;
                        next += 1 + rnd.nextInt(1000);
                        live.put(ids[i], rows[i]);
                    }
                    try (FloatMatrix m = FloatMatrix.of(rows)) {
                        index.add(ids, m);
                    }
                }
                // Remove a random third.
                List<Long> all = new ArrayList<>(live.keySet());
                long[] gone = all.stream().filter(x -> rnd.nextInt(3) == 0).mapToLong(Long::longValue).toArray();
                assertEquals(gone.length, index.remove(gone));
                for (long g : gone) {
                    live.remove(g);
                    assertFalse(index.contains(g));
                }
                assertEquals(live.size(), index.size());
                float[][] qs = randomRows(rnd, 7, d);
                int k = 1 + rnd.nextInt(20);
                try (FloatMatrix q = FloatMatrix.of(qs)) {
                    Neighbors nb = index.search(q, k);
                    for (int i = 0; i < qs.length; i++) {
                        assertMatchesReference(live, qs[i], k, metric, nb.ids(i),
                                "metric " + metric + " d " + d + " query " + i + " seed " + seed);
                    }
                    // Single query path agrees with the batch path.
                    assertArrayEquals(nb.ids(3), index.search(qs[3], k).ids(0));
                    // Stored vectors come back by id.
                    long someId = live.keySet().iterator().next();
                    assertArrayEquals(live.get(someId), index.vector(someId));
                }
            }
        }
    }

    @Test
    void filteredSearchSeesOnlyAllowedIds() {
        Random rnd = new Random(11);
        int d = 9;
        float[][] rows = randomRows(rnd, 500, d);
        long[] ids = new long[500];
        Map<Long, float[]> allowed = new HashMap<>();
        List<Long> allowedIds = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            ids[i] = 10L * i + 3;
            if (i % 7 == 0) {
                allowed.put(ids[i], rows[i]);
                allowedIds.add(ids[i]);
            }
        }
        allowedIds.add(allowedIds.get(0));   // a repeat is ignored
        try (FlatIndex index = new FlatIndex(d, Metric.L2, backend()); FloatMatrix m = FloatMatrix.of(rows)) {
            index.add(ids, m);
            float[][] qs = randomRows(rnd, 3, d);
            try (FloatMatrix q = FloatMatrix.of(qs)) {
                Neighbors nb = (Neighbors) index.search(q, SearchParams.topK(5).allowedIds(allowedIds.stream().mapToLong(Long::longValue).toArray()));
                for (int i = 0; i < 3; i++) {
                    assertArrayEquals(reference(allowed, qs[i], 5, Metric.L2), nb.ids(i));
                }
                Neighbors big = (Neighbors) index.search(q, SearchParams.topK(1000).allowedIds(ids[1], ids[2]));
                assertEquals(2, big.count());
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> index.search(q, SearchParams.topK(3).allowedIds(ids[0], 4)));
                assertTrue(e.getMessage().contains("4"), e.getMessage());
            }
        }
    }

    @Test
    void rangeSearchReturnsEverythingWithinTheRadius() {
        Random rnd = new Random(5);
        int d = 6;
        float[][] rows = randomRows(rnd, 800, d);
        long[] ids = new long[800];
        Map<Long, float[]> live = new HashMap<>();
        for (int i = 0; i < 800; i++) {
            ids[i] = 800 - i;
            live.put(ids[i], rows[i]);
        }
        for (Metric metric : Metric.values()) {
            float radius = metric == Metric.L2 ? 6f : metric == Metric.COSINE ? 0.6f : 2.5f;
            try (FlatIndex index = new FlatIndex(d, metric, backend()); FloatMatrix m = FloatMatrix.of(rows)) {
                index.add(ids, m);
                float[][] qs = randomRows(rnd, 4, d);
                try (FloatMatrix q = FloatMatrix.of(qs)) {
                    RangeResults rr = (RangeResults) index.search(q, SearchParams.within(radius));
                    for (int i = 0; i < qs.length; i++) {
                        List<Long> want = new ArrayList<>();
                        for (Map.Entry<Long, float[]> e : live.entrySet()) {
                            float s = (float) score(qs[i], e.getValue(), metric);
                            if (metric.higherIsNearer() ? s >= radius : s <= radius) {
                                want.add(e.getKey());
                            }
                        }
                        long[] got = rr.ids(i);
                        assertEquals(want.size(), got.length, metric + " query " + i);
                        long[] sortedGot = got.clone();
                        Arrays.sort(sortedGot);
                        assertArrayEquals(want.stream().mapToLong(Long::longValue).sorted().toArray(), sortedGot);
                        float[] sc = rr.scores(i);
                        for (int r = 1; r < sc.length; r++) {
                            assertFalse(metric.better(sc[r], sc[r - 1]), "best first");
                        }
                        // The k-NN agrees with the head of the range list.
                        if (got.length > 0) {
                            assertEquals(got[0], index.search(qs[i], 1).id(0, 0));
                        }
                    }
                }
            }
        }
    }

    @Test
    void failedAddLeavesTheIndexAsItWas() {
        int d = 4;
        try (FlatIndex index = new FlatIndex(d, Metric.COSINE, backend())) {
            try (FloatMatrix m = FloatMatrix.of(new float[][] {{1, 0, 0, 0}, {0, 1, 0, 0}})) {
                index.add(new long[] {1, 2}, m);
            }
            float[] q = {1, 0.1f, 0, 0};
            Neighbors before = index.search(q, 2);

            try (FloatMatrix nan = FloatMatrix.of(new float[][] {{1, 1, 1, 1}, {1, 1, Float.NaN, 1}})) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> index.add(new long[] {3, 4}, nan));
                assertTrue(e.getMessage().contains("row 1, column 2"), e.getMessage());
            }
            try (FloatMatrix inf = FloatMatrix.of(new float[][] {{Float.POSITIVE_INFINITY, 1, 1, 1}})) {
                assertThrows(IllegalArgumentException.class, () -> index.add(new long[] {3}, inf));
            }
            try (FloatMatrix zero = FloatMatrix.of(new float[][] {{1, 1, 1, 1}, {0, 0, 0, 0}})) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> index.add(new long[] {3, 4}, zero));
                assertTrue(e.getMessage().contains("row 1") && e.getMessage().contains("zero"), e.getMessage());
            }
            // Finite, but beyond what the float32 kernels can score: refused here, not later by every search.
            try (FloatMatrix huge = FloatMatrix.of(new float[][] {{1, 1, 1, 1}, {2e19f, 1, 1, 1}})) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> index.add(new long[] {3, 4}, huge));
                assertTrue(e.getMessage().contains("row 1") && e.getMessage().contains("float32"), e.getMessage());
            }
            try (FloatMatrix tiny = FloatMatrix.of(new float[][] {{1e-23f, 1e-23f, 0, 0}})) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> index.add(new long[] {3}, tiny));
                assertTrue(e.getMessage().contains("row 0") && e.getMessage().contains("too close to zero"),
                        e.getMessage());
            }
            try (FloatMatrix ok = FloatMatrix.of(new float[][] {{1, 1, 1, 1}, {2, 1, 1, 1}})) {
                IllegalArgumentException dupBatch = assertThrows(IllegalArgumentException.class,
                        () -> index.add(new long[] {7, 7}, ok));
                assertTrue(dupBatch.getMessage().contains("duplicate id 7"), dupBatch.getMessage());
                IllegalArgumentException dupStored = assertThrows(IllegalArgumentException.class,
                        () -> index.add(new long[] {9, 2}, ok));
                assertTrue(dupStored.getMessage().contains("id 2"), dupStored.getMessage());
            }
            try (FloatMatrix wrongDim = FloatMatrix.allocate(1, 5)) {
                assertThrows(IllegalArgumentException.class, () -> index.add(new long[] {3}, wrongDim));
            }
            IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                    () -> index.remove(1, 99));
            assertTrue(unknown.getMessage().contains("99"), unknown.getMessage());

            assertEquals(2, index.size());
            assertArrayEquals(new long[] {1, 2}, index.ids());
            Neighbors after = index.search(q, 2);
            assertArrayEquals(before.ids(0), after.ids(0));
            assertArrayEquals(before.scores(0), after.scores(0));
            assertThrows(IllegalArgumentException.class, () -> index.search(q, 0));
            assertThrows(IllegalArgumentException.class, () -> index.search(new float[] {0, 0, 0, 0}, 1));
        }
    }

    @Test
    void emptyIndexAndUseAfterClose() {
        FlatIndex index = new FlatIndex(3, Metric.INNER_PRODUCT, backend());
        Neighbors nb = index.search(new float[] {1, 2, 3}, 5);
        assertEquals(1, nb.queries());
        assertEquals(0, nb.count());
        index.add(1, new float[] {1, 0, 0});
        try (FloatMatrix none = FloatMatrix.allocate(0, 3)) {
            assertEquals(0, index.search(none, 3).queries());
            assertEquals(0, index.search(none, SearchParams.within(0f)).queries());
        }
        index.close();
        index.close();
        assertThrows(IllegalStateException.class, () -> index.search(new float[] {1, 2, 3}, 5));
    }

    private FlatIndex sample(int n, int d, Metric metric, long seed) {
        Random rnd = new Random(seed);
        FlatIndex index = new FlatIndex(d, metric, backend());
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = rnd.nextLong();
        }
        try (FloatMatrix m = FloatMatrix.of(randomRows(rnd, n, d))) {
            index.add(ids, m);
        }
        index.putMetadata("model", "all-minilm-l6-v2-q");
        index.putMetadata("note", "ünïcode ✓");
        return index;
    }

    @Test
    void saveLoadRoundTrip() throws IOException {
        Path file = dir.resolve("a.lidx");
        try (FlatIndex index = sample(333, 17, Metric.COSINE, 3)) {
            index.remove(index.ids()[5]);
            index.save(file);
            try (FlatIndex back = FlatIndex.load(file, backend())) {
                assertEquals(17, back.dimension());
                assertEquals(Metric.COSINE, back.metric());
                assertEquals(332, back.size());
                assertArrayEquals(index.ids(), back.ids());
                assertEquals(index.metadata(), back.metadata());
                for (long id : index.ids()) {
                    assertArrayEquals(index.vector(id), back.vector(id));
                }
                float[] q = index.vector(index.ids()[0]);
                assertArrayEquals(index.search(q, 10).ids(0), back.search(q, 10).ids(0));
            }
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(1, s.count(), "no temporary files left behind");
        }
        // Empty index round trip.
        Path empty = dir.resolve("empty.lidx");
        try (FlatIndex e = new FlatIndex(8, Metric.L2, backend())) {
            e.save(empty);
        }
        try (FlatIndex e = FlatIndex.load(empty, backend())) {
            assertEquals(0, e.size());
            assertEquals(Metric.L2, e.metric());
        }
    }

    @Test
    void corruptByteIsCaughtByTheChecksum() throws IOException {
        Path file = dir.resolve("c.lidx");
        try (FlatIndex index = sample(50, 8, Metric.L2, 4)) {
            index.save(file);
        }
        long len = Files.size(file);
        for (long pos : new long[] {20, 100, len / 2, len - 10}) {
            Path copy = dir.resolve("c" + pos + ".lidx");
            Files.copy(file, copy);
            flipByte(copy, pos);
            IOException e = assertThrows(IOException.class, () -> FlatIndex.load(copy, backend()));
            assertTrue(e.getMessage().contains("checksum") || e.getMessage().contains("corrupt"),
                    "byte " + pos + ": " + e.getMessage());
        }
    }

    /** Rewrites bytes of an index file and its CRC32C, as a tool that knows the format could. */
    static void patchWithChecksum(Path file, long pos, ByteBuffer bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.write(bytes, pos);
            ByteBuffer all = ByteBuffer.allocate((int) ch.size() - 4);
            ch.read(all, 0);
            all.flip();
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(all);
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, (int) crc.getValue()), ch.size() - 4);
        }
    }

    @Test
    void aNonZeroReservedFieldOrANonFiniteVectorIsRefusedAtLoad() throws IOException {
        Path file = dir.resolve("r.lidx");
        try (FlatIndex index = sample(50, 8, Metric.L2, 4)) {
            index.save(file);
        }
        // Version 2 keeps the index kind and the vector encoding at bytes 36 and 38.
        Path kind = dir.resolve("kind.lidx");
        Files.copy(file, kind);
        patchWithChecksum(kind, 36, ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort(0, (short) 5));
        IOException k = assertThrows(IOException.class, () -> FlatIndex.load(kind, backend()));
        assertTrue(k.getMessage().contains("index kind 5 is not supported"), k.getMessage());
        Path encoding = dir.resolve("encoding.lidx");
        Files.copy(file, encoding);
        patchWithChecksum(encoding, 38, ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort(0, (short) 3));
        IOException en = assertThrows(IOException.class, () -> FlatIndex.load(encoding, backend()));
        assertTrue(en.getMessage().contains("vector encoding 3 is not supported"), en.getMessage());
        // Version 1 had a reserved zero there.
        Path reserved = dir.resolve("reserved.lidx");
        try (var in = FlatIndexTest.class.getResourceAsStream("/index/v1-l2-5x3.lidx")) {
            Files.copy(in, reserved);
        }
        patchWithChecksum(reserved, 36, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 5));
        IOException e = assertThrows(IOException.class, () -> FlatIndex.load(reserved, backend()));
        assertTrue(e.getMessage().contains("reserved field at byte 36 is 5"), e.getMessage());

        // Row 17, column 3 becomes NaN (vectors start at the first multiple of 64 after the header and metadata).
        long metaLen;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer h = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(h, 0);
            metaLen = h.getInt(32) & 0xffffffffL;
        }
        long vectors = (40 + metaLen + 63) / 64 * 64;
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
            Path nan = dir.resolve("nan.lidx");
            Files.copy(file, nan, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            patchWithChecksum(nan, vectors + (17L * 8 + 3) * 4,
                    ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, bad));
            IOException n = assertThrows(IOException.class, () -> FlatIndex.load(nan, backend()));
            assertTrue(n.getMessage().startsWith(nan + ": stored vector row 17, column 3 is " + bad), n.getMessage());
        }
    }

    /** A file written by the first release (format version 1) loads, and saving writes version 2. */
    @Test
    void aVersionOneFileLoads() throws IOException {
        Path v1 = dir.resolve("v1.lidx");
        try (var in = FlatIndexTest.class.getResourceAsStream("/index/v1-l2-5x3.lidx")) {
            Files.copy(in, v1);
        }
        try (FlatIndex index = FlatIndex.load(v1, backend())) {
            assertEquals(Metric.L2, index.metric());
            assertEquals(3, index.dimension());
            assertArrayEquals(new long[] {10, 20, 30, -5, 1L << 40}, index.ids());
            assertArrayEquals(new float[] {0.5f, 0.25f, -2}, index.vector(30));
            assertEquals("all-minilm-l6-v2-q", index.metadata().get("model"));
            assertArrayEquals(new long[] {-5}, index.search(new float[] {7, -7, 0.1f}, 1).ids(0));
            Path v2 = dir.resolve("v2.lidx");
            index.save(v2);
            try (FileChannel ch = FileChannel.open(v2, StandardOpenOption.READ)) {
                ByteBuffer h = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN);
                ch.read(h, 0);
                assertEquals(2, h.getInt(8), "saved as version 2");
                assertEquals(0, h.getShort(36), "flat");
                assertEquals(0, h.getShort(38), "float32");
            }
            try (FlatIndex back = FlatIndex.load(v2, backend())) {
                assertArrayEquals(index.ids(), back.ids());
            }
        }
    }

    @Test
    void reserveAllocatesOnceAndChangesNothing() {
        Random rnd = new Random(3);
        try (FlatIndex index = new FlatIndex(5, Metric.L2, backend())) {
            index.add(1, new float[] {1, 2, 3, 4, 5});
            index.reserve(5000);
            assertEquals(5000, index.capacity());
            assertArrayEquals(new float[] {1, 2, 3, 4, 5}, index.vector(1));
            for (int b = 0; b < 9; b++) {
                float[][] rows = randomRows(rnd, 555, 5);
                long[] ids = new long[555];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = 100 + b * 555 + i;
                }
                try (FloatMatrix m = FloatMatrix.of(rows)) {
                    index.add(ids, m);
                }
                assertEquals(5000, index.capacity(), "no reallocation below the reserved size");
            }
            assertEquals(4996, index.size());
            index.reserve(10);
            assertEquals(5000, index.capacity());
            assertArrayEquals(new float[] {1, 2, 3, 4, 5}, index.vector(1));
        }
    }

    @Test
    void aRangeSearchPastItsLimitStopsBeforeHoldingTheResults() {
        try (FlatIndex index = sample(500, 4, Metric.COSINE, 9); FloatMatrix q = FloatMatrix.of(new float[] {1, 0, 0, 0}, 4)) {
            assertEquals(500, index.search(q, SearchParams.within(-1f).maxResults(500)).count(0));
            TooManyResultsException e = assertThrows(TooManyResultsException.class, () -> index.search(q, SearchParams.within(-1f).maxResults(499)));
            assertEquals(0, e.query());
            assertEquals(499, e.limit());
        }
    }

    @Test
    void truncatedFileIsReported() throws IOException {
        Path file = dir.resolve("t.lidx");
        try (FlatIndex index = sample(50, 8, Metric.L2, 5)) {
            index.save(file);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 100);
        }
        IOException e = assertThrows(IOException.class, () -> FlatIndex.load(file, backend()));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void otherVersionAndOtherFilesAreRejected() throws IOException {
        Path file = dir.resolve("v.lidx");
        try (FlatIndex index = sample(5, 8, Metric.L2, 6)) {
            index.save(file);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 7), 8);
        }
        IOException e = assertThrows(IOException.class, () -> FlatIndex.load(file, backend()));
        assertTrue(e.getMessage().contains("index file version 7, this build reads 1"), e.getMessage());

        Path other = dir.resolve("other.lidx");
        Files.writeString(other, "{\"this\": \"is JSON, not an index file at all\"}");
        IOException m = assertThrows(IOException.class, () -> FlatIndex.load(other, backend()));
        assertTrue(m.getMessage().contains("not a Latent index file"), m.getMessage());
    }

    @Test
    void npyImportAndExport() throws IOException {
        Path npy = dir.resolve("v.npy");
        try (FlatIndex index = sample(40, 6, Metric.INNER_PRODUCT, 8)) {
            index.exportNpy(npy);
            try (FlatIndex back = FlatIndex.fromNpy(npy, index.ids(), Metric.INNER_PRODUCT, backend())) {
                for (long id : index.ids()) {
                    assertArrayEquals(index.vector(id), back.vector(id));
                }
            }
            try (FlatIndex seq = FlatIndex.fromNpy(npy, null, Metric.L2, backend())) {
                assertEquals(40, seq.size());
                assertArrayEquals(index.vector(index.ids()[39]), seq.vector(39));
            }
        }
    }

    @Test
    void filesLargerThanOneTransferChunkRoundTrip() throws IOException {
        // 40,000 x 100 floats = 16 MB: several 8 MiB chunks on write and read.
        int n = 40_000, d = 100;
        Random rnd = new Random(21);
        float[] flat = new float[n * d];
        for (int i = 0; i < flat.length; i++) {
            flat[i] = (float) rnd.nextGaussian();
        }
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = (long) i * i;
        }
        Path file = dir.resolve("big.lidx");
        Path npy = dir.resolve("big.npy");
        try (FlatIndex index = new FlatIndex(d, Metric.INNER_PRODUCT, backend()); FloatMatrix m = FloatMatrix.of(flat, d)) {
            index.add(ids, m);
            index.save(file);
            index.exportNpy(npy);
        }
        try (FlatIndex back = FlatIndex.load(file, backend()); FloatMatrix fromNpy = Npy.read(npy)) {
            assertArrayEquals(ids, back.ids());
            assertArrayEquals(flat, fromNpy.copyRows(0, n));
            for (int i : new int[] {0, 20_970, 20_971, n - 1}) {
                assertArrayEquals(Arrays.copyOfRange(flat, i * d, (i + 1) * d), back.vector(ids[i]), "row " + i);
            }
        }
    }

    @Test
    void concurrentSearchesWhileAdding() throws Exception {
        int d = 8;
        Random rnd = new Random(9);
        try (FlatIndex index = new FlatIndex(d, Metric.L2, backend())) {
            try (FloatMatrix m = FloatMatrix.of(randomRows(rnd, 100, d))) {
                long[] ids = new long[100];
                for (int i = 0; i < 100; i++) {
                    ids[i] = i;
                }
                index.add(ids, m);
            }
            float[] probe = index.vector(42);
            java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
            Thread[] readers = new Thread[3];
            for (int t = 0; t < readers.length; t++) {
                readers[t] = new Thread(() -> {
                    try {
                        for (int i = 0; i < 200; i++) {
                            Neighbors nb = index.search(probe, 1);
                            if (nb.id(0, 0) != 42) {
                                throw new AssertionError("nearest of row 42 is " + nb.id(0, 0));
                            }
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                readers[t].start();
            }
            for (int b = 0; b < 20; b++) {
                float[][] rows = randomRows(rnd, 50, d);
                for (float[] r : rows) {
                    r[0] += 100;   // far from the probe, so the answer never changes
                }
                long[] ids = new long[50];
                for (int i = 0; i < 50; i++) {
                    ids[i] = 1000 + b * 50 + i;
                }
                try (FloatMatrix m = FloatMatrix.of(rows)) {
                    index.add(ids, m);
                }
            }
            for (Thread t : readers) {
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertEquals(1100, index.size());
        }
    }

    private static void flipByte(Path file, long pos) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, pos);
            b.put(0, (byte) (b.get(0) ^ 0x5a)).position(0);
            ch.write(b, pos);
        }
    }

    /** The vector stored under {@code id} in the save tests: any (id, row) mix-up in a file shows. */
    private static float[] vectorOf(long id) {
        Random r = new Random(id * 0x9E3779B97F4A7C15L);
        float[] v = new float[6];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    private static void addBatch(FlatIndex index, long first) {
        float[][] rows = {vectorOf(first), vectorOf(first + 1), vectorOf(first + 2)};
        try (FloatMatrix m = FloatMatrix.of(rows)) {
            index.add(new long[] {first, first + 1, first + 2}, m);
        }
    }

    @Test
    void savesWhileWritersAndSearchersRunEachHoldOneMoment() throws Exception {
        try (FlatIndex index = new FlatIndex(6, Metric.L2, backend())) {
            for (long b = 0; b < 3000; b += 3) {
                addBatch(index, b);
            }
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(3);
            List<java.util.concurrent.Future<Integer>> work = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                final int thread = t;
                work.add(pool.submit(() -> {
                    // batches of three ids are added and removed whole: a consistent file has all or none
                    Random rnd = new Random(thread);
                    long next = 3_000_000L * (thread + 1);   // batches start at multiples of 3
                    List<Long> mine = new ArrayList<>();
                    int ops = 0;
                    do {    // at least once, however late this thread starts
                        if (thread == 2) {
                            Neighbors n = index.search(vectorOf(rnd.nextInt(3000)), 5);
                            assertEquals(5, n.count());
                        } else if (mine.size() < 20 || rnd.nextBoolean()) {
                            addBatch(index, next);
                            mine.add(next);
                            next += 3;
                        } else {
                            long b = mine.remove(rnd.nextInt(mine.size()));
                            assertEquals(3, index.remove(b, b + 1, b + 2));
                        }
                        if (thread == 0 && ops % 50 == 0) {   // removes among the first rows too
                            long b = 3L * rnd.nextInt(1000);
                            if (index.contains(b)) {
                                index.remove(b, b + 1, b + 2);
                            }
                        }
                        ops++;
                    } while (!stop.get());
                    return ops;
                }));
            }
            try {
                for (int i = 0; i < 8; i++) {
                    Path file = dir.resolve("live-" + i + ".lidx");
                    index.save(file);
                    try (FlatIndex saved = FlatIndex.load(file, backend())) {
                        long[] ids = saved.ids();
                        java.util.Set<Long> present = new java.util.HashSet<>();
                        for (long id : ids) {
                            assertTrue(present.add(id), "id " + id + " twice in a saved file");
                            assertArrayEquals(vectorOf(id), saved.vector(id), "vector of id " + id + " in save " + i);
                        }
                        for (long id : ids) {
                            long first = id - id % 3;
                            for (long m = first; m < first + 3; m++) {
                                assertTrue(present.contains(m), "save " + i + " holds id " + id + " without " + m
                                        + " of the same add");
                            }
                        }
                    }
                }
            } finally {
                stop.set(true);
                pool.shutdown();
            }
            for (java.util.concurrent.Future<Integer> f : work) {
                assertTrue(f.get(60, java.util.concurrent.TimeUnit.SECONDS) > 0);
            }
        }
    }

    @Test
    void anOpenSnapshotHoldsUpNoWriterOrSearcher() throws Exception {
        try (FlatIndex index = new FlatIndex(6, Metric.COSINE, backend())) {
            for (long b = 0; b < 30; b += 3) {
                addBatch(index, b);
            }
            long[] before = index.ids();
            java.util.concurrent.ExecutorService other = java.util.concurrent.Executors.newSingleThreadExecutor();
            try (dev.latent.space.VectorSet.Snapshot pinned = index.snapshot()) {
                // as a save in progress would: the snapshot is open while another thread writes and searches
                long[] after = other.submit(() -> {
                    index.remove(0, 1, 2);
                    addBatch(index, 300);
                    index.remove(15, 16, 17);
                    assertEquals(300, index.search(vectorOf(300), 1).id(0, 0));
                    return index.ids();
                }).get(30, java.util.concurrent.TimeUnit.SECONDS);
                assertEquals(27, after.length);
                assertArrayEquals(before, Arrays.copyOf(pinned.idsShared(), pinned.size()));
                try (FloatMatrix rows = pinned.rows()) {
                    for (int r = 0; r < before.length; r++) {
                        assertArrayEquals(vectorOf(before[r]), rows.getRow(r));
                    }
                }
            } finally {
                other.shutdown();
            }
        }
    }

    /**
     * A flat index with 8-bit codes: top-k scans the codes and re-ranks the best rerank·k exactly, so every
     * returned score is exact and recall against float64 is high (rerank 4 on random data: at least 0.95; a
     * rerank as large as the index is exact); range and filtered searches stay exact; the codes follow adds and
     * removals; a saved index opens with its codes.
     */
    @Test
    void sq8CodesAreRerankedExactlyAndFollowTheIndex() throws IOException {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int d = 17;
        for (Metric metric : Metric.values()) {
            String msg = metric + ", seed " + seed;
            float[][] rows = randomRows(rnd, 2000, d);
            long[] ids = new long[rows.length];
            Map<Long, float[]> live = new HashMap<>();
            for (int i = 0; i < rows.length; i++) {
                ids[i] = 5 * i + 1;
                live.put(ids[i], rows[i]);
            }
            float[][] qs = randomRows(rnd, 30, d);
            try (FlatIndex index = new FlatIndex(d, metric, backend()); FloatMatrix m = FloatMatrix.of(rows);
                 FloatMatrix q = FloatMatrix.of(qs)) {
                index.add(ids, m);
                index.encodeSq8();
                assertTrue(index.sq8());
                Neighbors nb = index.search(q, 10);
                Neighbors all = (Neighbors) index.search(q, SearchParams.topK(10).rerank(rows.length));
                long hits = 0;
                for (int i = 0; i < qs.length; i++) {
                    long[] want = reference(live, qs[i], 10, metric);
                    assertArrayEquals(want, all.ids(i), "rerank = n is exact, " + msg);
                    for (int r = 0; r < 10; r++) {
                        double exact = score(qs[i], live.get(nb.id(i, r)), metric);
                        assertEquals(exact, nb.score(i, r), 1e-4 * (1 + Math.abs(exact)), msg);
                        for (long w : want) {
                            hits += w == nb.id(i, r) ? 1 : 0;
                        }
                    }
                }
                assertTrue(hits >= 0.95 * 10 * qs.length, "recall " + hits / (10.0 * qs.length) + ", " + msg);
                RangeResults rr = (RangeResults) index.search(q, SearchParams.within(metric == Metric.L2 ? 20f : 0.5f));
                assertEquals(rr.queries(), qs.length);
                index.remove(ids[0], ids[1], ids[2]);
                for (int i = 0; i < 3; i++) {
                    live.remove(ids[i]);
                }
                float[][] more = randomRows(rnd, 50, d);
                long[] moreIds = new long[more.length];
                for (int i = 0; i < more.length; i++) {
                    moreIds[i] = -1 - i;
                    live.put(moreIds[i], more[i]);
                }
                try (FloatMatrix f = FloatMatrix.of(more)) {
                    index.add(moreIds, f);
                }
                Neighbors after = (Neighbors) index.search(q, SearchParams.topK(10).rerank(index.size() > 0 ? (int) index.size() : 1));
                for (int i = 0; i < qs.length; i++) {
                    assertArrayEquals(reference(live, qs[i], 10, metric), after.ids(i), "after updates, " + msg);
                }
                Path file = dir.resolve("sq8-" + metric + ".lidx");
                index.save(file);
                byte[] before = Files.readAllBytes(file);
                try (FlatIndex back = FlatIndex.load(file, backend())) {
                    // The rows of an index with codes are mapped from the file (private: a removal moves the last
                    // row into the hole in the process's copy only); searches, removals and adds work as in memory.
                    assertTrue(back.sq8(), msg);
                    assertEquals("sq8", back.metadata().get("encoding"));
                    long[] stored = back.ids();
                    back.remove(stored[0], stored[stored.length / 2]);
                    live.remove(stored[0]);
                    live.remove(stored[stored.length / 2]);
                    for (int i = 0; i < 5; i++) {
                        assertArrayEquals(live.get(stored[stored.length - 1 - i]), back.vector(stored[stored.length - 1 - i]), msg);
                    }
                    Neighbors loaded = (Neighbors) back.search(q, SearchParams.topK(10).rerank((int) back.size()));
                    for (int i = 0; i < qs.length; i++) {
                        assertArrayEquals(reference(live, qs[i], 10, metric), loaded.ids(i), "loaded, " + msg);
                    }
                    back.add(777_777, qs[0]);
                    live.put(777_777L, qs[0]);
                    assertArrayEquals(qs[0], back.vector(777_777), msg);
                    Neighbors withNew = (Neighbors) back.search(q, SearchParams.topK(10).rerank((int) back.size()));
                    assertArrayEquals(reference(live, qs[0], 10, metric), withNew.ids(0), "after an add, " + msg);
                }
                assertArrayEquals(before, Files.readAllBytes(file), "the file is never written, " + msg);
            }
        }
    }
}
