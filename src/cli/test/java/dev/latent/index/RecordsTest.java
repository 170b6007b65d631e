package dev.latent.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.space.Record;
import dev.latent.space.VectorSet;
import dev.latent.space.format.IndexHeader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Records (key, text, payload) stored with the vectors: kept byte for byte through add, remove, snapshot, save and
 * load on both index kinds, keys unique, and filtered search equal to a float64 brute force over the matching
 * records for random filters over random payloads, on the Java and native CPU backends. Seeds are fresh each run
 * and printed in failure messages.
 */
class RecordsTest {
    @TempDir
    Path dir;

    private static final String[] LANGS = {"en", "de", "fr", "ja", "pt"};
    private static final String[] TAGS = {"a", "b", "c", "d", "e", "f"};

    static Stream<Arguments> kinds() {
        List<Arguments> out = new ArrayList<>();
        for (String backend : new String[] {"java", "cpu"}) {
            for (String kind : new String[] {"flat", "ivf"}) {
                out.add(Arguments.of(backend, kind));
            }
        }
        return out.stream();
    }

    static Backend backend(String name) {
        try {
            return name.equals("java") ? Backends.java() : Backends.cpu();
        } catch (dev.latent.compute.BackendUnavailableException e) {
            throw new AssertionError("the native CPU backend must load in this build: " + e.getMessage(), e);
        }
    }

    /** A random record: some fields missing, numbers whole and not, a list field, duplicates of values. */
    static Record record(Random rnd, long id) {
        Map<String, Object> p = new LinkedHashMap<>();
        if (rnd.nextInt(10) > 0) {
            p.put("lang", LANGS[rnd.nextInt(LANGS.length)]);
        }
        if (rnd.nextInt(10) > 1) {
            p.put("year", (long) (1990 + rnd.nextInt(35)));
        }
        if (rnd.nextBoolean()) {
            p.put("score", Math.round(rnd.nextDouble() * 100) / 10.0);
        }
        if (rnd.nextInt(3) == 0) {
            p.put("draft", rnd.nextBoolean());
        }
        if (rnd.nextBoolean()) {
            List<String> tags = new ArrayList<>();
            for (int t = rnd.nextInt(4); t > 0; t--) {
                tags.add(TAGS[rnd.nextInt(TAGS.length)]);
            }
            p.put("tags", tags);
        }
        String text = rnd.nextInt(8) == 0 ? null : "text of " + id + " \u00e9\u6f22 \"quoted\"\n line";
        return new Record("doc-" + id + (rnd.nextInt(5) == 0 ? "/\u00fc" : ""), text, p);
    }

    /** A random filter over the fields above, with the same meaning evaluated directly on a payload. */
    record Pair(Filter filter, Predicate<Map<String, Object>> holds) {
    }

    static Pair randomFilter(Random rnd, int depth) {
        int pick = depth > 1 ? rnd.nextInt(5) : rnd.nextInt(8);
        switch (pick) {
            case 0: {
                String l = LANGS[rnd.nextInt(LANGS.length)];
                return new Pair(Filter.eq("lang", l), p -> l.equals(p.get("lang")));
            }
            case 1: {
                double lo = 1990 + rnd.nextInt(35);
                boolean inclusive = rnd.nextBoolean();
                return new Pair(inclusive ? Filter.gte("year", lo) : Filter.gt("year", lo),
                        p -> p.get("year") instanceof Long y && (inclusive ? y >= lo : y > lo));
            }
            case 2: {
                String t = TAGS[rnd.nextInt(TAGS.length)];
                return new Pair(Filter.eq("tags", t), p -> p.get("tags") instanceof List<?> l && l.contains(t));
            }
            case 3: {
                double hi = rnd.nextInt(100) / 10.0;
                return new Pair(Filter.lte("score", hi), p -> p.get("score") instanceof Double s && s <= hi);
            }
            case 4: {
                String a = LANGS[rnd.nextInt(LANGS.length)];
                String b = LANGS[rnd.nextInt(LANGS.length)];
                return new Pair(Filter.in("lang", a, b), p -> a.equals(p.get("lang")) || b.equals(p.get("lang")));
            }
            case 5: {
                Pair x = randomFilter(rnd, depth + 1);
                Pair y = randomFilter(rnd, depth + 1);
                return new Pair(x.filter().and(y.filter()), p -> x.holds().test(p) && y.holds().test(p));
            }
            case 6: {
                Pair x = randomFilter(rnd, depth + 1);
                Pair y = randomFilter(rnd, depth + 1);
                return new Pair(x.filter().or(y.filter()), p -> x.holds().test(p) || y.holds().test(p));
            }
            default: {
                Pair x = randomFilter(rnd, depth + 1);
                return rnd.nextBoolean() ? new Pair(x.filter().negate(), p -> !x.holds().test(p))
                        : new Pair(Filter.exists("draft").and(Filter.eq("draft", true)), p -> Boolean.TRUE.equals(p.get("draft")));
            }
        }
    }

    private static VectorIndex make(String kind, Backend backend, int d, Metric metric, long[] ids, float[][] rows,
                                    List<Record> records, long seed) {
        if (kind.equals("flat")) {
            FlatIndex f = new FlatIndex(d, metric, backend);
            try (FloatMatrix m = FloatMatrix.of(rows)) {
                f.add(ids, m, records);
            }
            return f;
        }
        try (FloatMatrix m = FloatMatrix.of(rows)) {
            // One dimension under cosine or inner product holds two directions (the sign), so two lists at most.
            int lists = Math.max(1, rows.length / 40);
            if (d == 1 && metric != Metric.L2) {
                lists = Math.min(lists, 2);
            }
            IvfIndex ivf = IvfIndex.train(m, metric, lists, seed, backend);
            ivf.add(ids, m, records);
            return ivf;
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("kinds")
    void filteredSearchEqualsBruteForceOverTheMatchingRecords(String backendName, String kind) {
        filteredSearchEqualsBruteForce(backend(backendName), kind);
    }

    /** Random filters over random payloads against a float64 brute force over the matching records. */
    static void filteredSearchEqualsBruteForce(Backend backend, String kind) {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        for (int n : new int[] {1, 7, 1000}) {
            int d = 1 + rnd.nextInt(20);
            Metric metric = Metric.values()[rnd.nextInt(Metric.values().length)];
            long[] ids = new long[n];
            float[][] rows = new float[n][d];
            List<Record> records = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                ids[i] = 3L * i - 101;   // negative ids too, never -1 (the padding id)
                for (int j = 0; j < d; j++) {
                    rows[i][j] = i > 0 && rnd.nextInt(10) == 0 ? rows[i - 1][j] : (float) rnd.nextGaussian();
                }
                records.add(rnd.nextInt(20) == 0 ? null : record(rnd, ids[i]));
            }
            try (VectorIndex index = make(kind, backend, d, metric, ids, rows, records, seed)) {
                for (int trial = 0; trial < 25; trial++) {
                    Pair f = randomFilter(rnd, 0);
                    int k = 1 + rnd.nextInt(n + 5);   // k larger than n sometimes
                    float[] q = new float[d];
                    for (int j = 0; j < d; j++) {
                        q[j] = (float) rnd.nextGaussian();
                    }
                    List<Integer> matching = new ArrayList<>();
                    for (int i = 0; i < n; i++) {
                        Map<String, Object> p = records.get(i) == null ? Map.of() : records.get(i).payload();
                        if (f.holds().test(p)) {
                            matching.add(i);
                        }
                    }
                    Neighbors got;
                    try (FloatMatrix qm = FloatMatrix.of(q, d)) {
                        try {
                            SearchParams sp = SearchParams.topK(k).filter(f.filter());
                            if (index instanceof IvfIndex ivf) {
                                sp = sp.nprobe(ivf.lists());   // every list: exact (the lists' own test is below)
                            }
                            got = (Neighbors) index.search(qm, sp);
                        } catch (IllegalArgumentException e) {
                            // a field no record holds in a tiny index: the only error allowed here
                            assertTrue(e.getMessage().contains("no record has the field"), "seed " + seed + ": " + e.getMessage());
                            continue;
                        }
                    }
                    String what = "seed " + seed + ", n " + n + ", " + Filter.format(f.filter()) + ", k " + k;
                    double sign = metric == Metric.L2 ? 1 : -1;   // L2: smaller is nearer
                    matching.sort(Comparator.<Integer>comparingDouble(i -> sign * FlatIndexTest.score(q, rows[i], metric))
                            .thenComparingInt(i -> i));
                    int expect = Math.min(k, matching.size());
                    long[] gotIds = got.ids(0);
                    assertEquals(expect, Arrays.stream(gotIds).filter(x -> x != -1).count(), what);
                    for (int r = 0; r < expect; r++) {
                        int want = matching.get(r);
                        long gotId = gotIds[r];
                        int gotRow = (int) ((gotId + 101) / 3);
                        double ws = FlatIndexTest.score(q, rows[want], metric);
                        double gs = FlatIndexTest.score(q, rows[gotRow], metric);
                        assertTrue(matching.contains(gotRow), what + ": result " + gotId + " does not match the filter");
                        assertEquals(ws, gs, 1e-3 * Math.max(1, Math.abs(ws)), what + ": rank " + r);
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"java", "cpu"})
    void anInvertedIndexFiltersInsideItsListsOrExactlyWhenTheFilterIsSelective(String backendName) {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        IvfIndexContract.Planted p = IvfIndexContract.planted(rnd, 4000, 24, 40, 1.0);
        List<Record> records = new ArrayList<>();
        for (int i = 0; i < p.ids().length; i++) {
            records.add(new Record("k" + i, null, Map.of("half", (long) (i % 2), "rare", i % 100 == 0)));
        }
        Metric metric = Metric.COSINE;
        try (VectorIndex index = make("ivf", backend(backendName), 24, metric, p.ids(), p.rows(), records, seed)) {
            IvfIndex ivf = (IvfIndex) index;
            double found = 0;
            int wanted = 0;
            int differ = 0;
            for (int t = 0; t < 50; t++) {
                float[] q = IvfIndexContract.near(rnd, p.centres()[rnd.nextInt(p.centres().length)], 1.0);
                try (FloatMatrix qm = FloatMatrix.of(q, 24)) {
                    // half the rows match: answered in the probed lists, approximate
                    Neighbors inLists = (Neighbors) index.search(qm, SearchParams.topK(10).filter(Filter.eq("half", 1)));
                    Neighbors exact = (Neighbors) index.search(qm,
                            SearchParams.topK(10).filter(Filter.eq("half", 1)).nprobe(ivf.lists()));
                    java.util.Set<Long> truth = new java.util.HashSet<>();
                    for (long id : exact.ids(0)) {
                        truth.add(id);
                    }
                    for (long id : inLists.ids(0)) {
                        if (id == -1) {
                            continue;
                        }
                        int row = Arrays.binarySearch(p.ids(), id);
                        assertEquals(1, row % 2, "seed " + seed + ": id " + id + " does not match the filter");
                        found += truth.contains(id) ? 1 : 0;
                    }
                    wanted += 10;
                    Neighbors oneList = (Neighbors) index.search(qm,
                            SearchParams.topK(10).filter(Filter.eq("half", 1)).nprobe(1));
                    differ += Arrays.equals(oneList.ids(0), exact.ids(0)) ? 0 : 1;
                    // 1 % of the rows: fewer than the probed lists hold, so answered exactly
                    Neighbors rare = (Neighbors) index.search(qm, SearchParams.topK(5).filter(Filter.eq("rare", true)));
                    Neighbors rareExact = (Neighbors) index.search(qm,
                            SearchParams.topK(5).filter(Filter.eq("rare", true)).nprobe(ivf.lists()));
                    assertArrayEquals(rareExact.ids(0), rare.ids(0), "seed " + seed);
                }
            }
            double recall = found / wanted;
            assertTrue(recall >= IvfIndexContract.DEFAULT_RECALL - 0.05, "seed " + seed + ": recall " + recall);
            assertTrue(differ > 0, "one probed list never differs from the exact answer: the lists were not used");
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("kinds")
    void recordsSurviveRemoveSnapshotSaveAndLoadByteForByte(String backendName, String kind) throws IOException {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        int n = 4097;
        int d = 7;
        long[] ids = new long[n];
        float[][] rows = new float[n][d];
        List<Record> records = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ids[i] = rnd.nextBoolean() ? i : -i - 10_000;   // not ascending: the file's id table is sorted at load
            for (int j = 0; j < d; j++) {
                rows[i][j] = (float) rnd.nextGaussian();
            }
            records.add(i % 11 == 5 ? null : record(rnd, i));
        }
        Map<Long, Record> expected = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            expected.put(ids[i], records.get(i));
        }
        Backend backend = backend(backendName);
        Path file = dir.resolve(kind + ".lidx");
        try (VectorIndex index = make(kind, backend, d, Metric.COSINE, ids, rows, records, seed)) {
            long[] gone = new long[300];
            for (int i = 0; i < gone.length; i++) {
                gone[i] = ids[i * 13];
                expected.remove(gone[i]);
            }
            try (VectorSet.Snapshot before = index.snapshot()) {
                index.remove(gone);
                // the snapshot still has the removed records
                assertEquals(records.get(13).encode().length, before.records().encoded(ids[13]).length);
            }
            index.save(file);
            assertEquals(IndexHeader.VERSION_RECORDS, IndexHeader.peek(file).version());
            check(index, expected, "in memory, seed " + seed);
        }
        try (VectorIndex loaded = VectorIndex.load(file, backend)) {
            assertEquals(kind, loaded.kind());
            check(loaded, expected, "loaded, seed " + seed);
            // a removed key is free again; a stored one is refused; a removed-and-readded id has its new record
            Record again = records.get(13);
            try (FloatMatrix v = FloatMatrix.of(rows[13], d)) {
                loaded.add(new long[] {ids[13]}, v, List.of(again));
            }
            assertEquals(again, loaded.record(ids[13]));
            Record taken = records.get(1);
            try (FloatMatrix v = FloatMatrix.of(rows[1], d)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> loaded.add(new long[] {123_456_789L}, v, List.of(taken)));
                assertTrue(e.getMessage().contains("'" + taken.key() + "' is already in the index"), e.getMessage());
            }
            assertFalse(loaded.contains(123_456_789L));
            // a base record whose id is removed then added back without a record has none
            long id2 = ids[2];
            loaded.remove(id2);
            try (FloatMatrix v = FloatMatrix.of(rows[2], d)) {
                loaded.add(new long[] {id2}, v, null);
            }
            assertNull(loaded.record(id2));
            assertTrue(loaded.idOfKey(records.get(2).key()).isEmpty());
            expected.put(ids[13], again);
            expected.put(id2, null);
            Path second = dir.resolve("second.lidx");
            loaded.save(second);
            try (VectorIndex twice = VectorIndex.load(second, backend)) {
                check(twice, expected, "saved twice, seed " + seed);
            }
        }
    }

    private static void check(VectorIndex index, Map<Long, Record> expected, String what) {
        assertEquals(expected.size(), index.size(), what);
        for (Map.Entry<Long, Record> e : expected.entrySet()) {
            Record want = e.getValue();
            Record got = index.record(e.getKey());
            if (want == null) {
                assertNull(got, what + ": id " + e.getKey());
            } else {
                assertArrayEquals(want.encode(), got.encode(), what + ": id " + e.getKey());
                assertEquals(e.getKey().longValue(), index.idOfKey(want.key()).getAsLong(), what + ": key " + want.key());
            }
        }
    }

    @Test
    void upsertReplacesByKeyAndGivesNewKeysFreshIds() {
        try (FlatIndex index = new FlatIndex(2, Metric.L2, Backends.java())) {
            try (FloatMatrix v = FloatMatrix.of(new float[][] {{1, 0}, {0, 1}})) {
                long[] ids = index.upsert(List.of(Record.of("a", "first a"), Record.of("b", "b")), v);
                assertArrayEquals(new long[] {0, 1}, ids);
            }
            try (FloatMatrix v = FloatMatrix.of(new float[][] {{5, 5}, {7, 7}})) {
                long[] ids = index.upsert(List.of(Record.of("a", "second a"), Record.of("c", "c")), v);
                assertArrayEquals(new long[] {0, 2}, ids);
            }
            assertEquals(3, index.size());
            assertEquals("second a", index.record(0).text());
            assertArrayEquals(new float[] {5, 5}, index.vector(0));
            try (FloatMatrix v = FloatMatrix.of(new float[][] {{1, 1}, {2, 2}})) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> index.upsert(List.of(Record.of("x", null), Record.of("x", null)), v));
                assertTrue(e.getMessage().contains("duplicate key 'x'"), e.getMessage());
            }
            try (FloatMatrix v = FloatMatrix.of(new float[][] {{Float.NaN, 1}})) {
                assertThrows(IllegalArgumentException.class, () -> index.upsert(List.of(Record.of("a", "bad")), v));
            }
            assertEquals("second a", index.record(0).text(), "a failed upsert changes nothing");
            assertEquals(3, index.size());
        }
    }

    @Test
    void badRecordsAreRefusedNamingTheProblem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Record.of("a\tb", null));
        assertTrue(e.getMessage().contains("control character (U+0009) at position 1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Record.of("", null));
        e = assertThrows(IllegalArgumentException.class, () -> Record.of("big", "x".repeat(Record.MAX_TEXT_BYTES + 1)));
        assertTrue(e.getMessage().contains("at most " + Record.MAX_TEXT_BYTES), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Record("k", null, Map.of("nested", Map.of("a", 1))));
        assertTrue(e.getMessage().contains("payload field 'nested'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Record.parsePayload("{\"a\": null}"));
        assertTrue(e.getMessage().contains("'a' is null"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Record.parsePayload("{\"a\": [1, 2]}"));
        assertTrue(e.getMessage().contains("lists hold strings only"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Record.parsePayload("[1]"));
        assertTrue(e.getMessage().contains("must be a JSON object"), e.getMessage());
        try (FlatIndex index = new FlatIndex(1, Metric.L2, Backends.java());
             FloatMatrix v = FloatMatrix.of(new float[][] {{1}, {2}})) {
            e = assertThrows(IllegalArgumentException.class,
                    () -> index.add(new long[] {1, 2}, v, List.of(Record.of("same", null), Record.of("same", null))));
            assertTrue(e.getMessage().contains("duplicate key 'same'"), e.getMessage());
            assertEquals(0, index.size(), "nothing added");
        }
    }

    @Test
    void filtersOnUnknownFieldsOrWrongTypesAreErrorsAndEmptyMatchesAreEmpty() {
        try (FlatIndex index = new FlatIndex(1, Metric.L2, Backends.java());
             FloatMatrix v = FloatMatrix.of(new float[][] {{1}, {2}});
             FloatMatrix q = FloatMatrix.of(new float[] {0}, 1)) {
            index.add(new long[] {1, 2}, v, List.of(new Record("a", null, Map.of("year", 2020L, "lang", "en")),
                    new Record("b", null, Map.of("year", 2021L))));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> index.search(q, SearchParams.topK(1).filter(Filter.eq("langs", "en"))));
            assertTrue(e.getMessage().contains("no record has the field 'langs' (fields: lang, year)"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> index.search(q, SearchParams.topK(1).filter(Filter.eq("year", "2020"))));
            assertTrue(e.getMessage().contains("'year' holds numbers, compared with the string \"2020\""), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> index.search(q, SearchParams.topK(1).filter(Filter.gte("lang", 3))));
            assertTrue(e.getMessage().contains("'lang' holds strings, not numbers"), e.getMessage());
            Neighbors none = (Neighbors) index.search(q, SearchParams.topK(2).filter(Filter.eq("lang", "de")));
            assertEquals(0, none.ids(0).length, "no vector matches: an empty result");
            Neighbors one = (Neighbors) index.search(q, SearchParams.topK(2).filter(Filter.parse("year >= 2021")));
            assertEquals(2, one.ids(0)[0]);
            // allowed ids and a filter together: their intersection
            Neighbors both = (Neighbors) index.search(q, SearchParams.topK(2).allowedIds(1).filter(Filter.parse("year < 2030")));
            assertArrayEquals(new long[] {1}, both.ids(0));
        }
    }

    @Test
    void theThreeFilterSyntaxesAgree() throws IOException {
        ObjectMapper json = new ObjectMapper();
        Filter built = Filter.eq("lang", "en").and(Filter.gte("year", 2020)).or(Filter.in("tags", "x", "y").negate());
        Filter parsed = Filter.parse("lang = \"en\" and year >= 2020 or not tags in [\"x\", \"y\"]");
        Filter fromJson = Filter.fromJson(json.readTree(
                "{\"$or\": [{\"lang\": \"en\", \"year\": {\"$gte\": 2020}}, {\"tags\": {\"$nin\": [\"x\", \"y\"]}}]}"));
        assertEquals(built, parsed);
        assertEquals(built, fromJson);
        assertEquals(built, Filter.parse(Filter.format(built)));
        Filter odd = Filter.eq("odd name`", "a \"b\"\n").and(Filter.exists("and"));
        assertEquals(odd, Filter.parse(Filter.format(odd)));
        assertEquals(Filter.eq("year", 2020), Filter.parse("year == 2020.0"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Filter.parse("lang = en"));
        assertTrue(e.getMessage().contains("strings are in double quotes"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Filter.parse("year >= \"2020\""));
        assertTrue(e.getMessage().contains("compares numbers"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Filter.parse("(a = 1"));
        assertTrue(e.getMessage().contains("expected ')'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Filter.fromJson(json.readTree("{\"a\": {\"$like\": 1}}")));
        assertTrue(e.getMessage().contains("unknown operator $like"), e.getMessage());
    }

    @Test
    void anNpyExportWritesTheKeysBeside() throws IOException {
        Path npy = dir.resolve("v.npy");
        Path ids = dir.resolve("v.ids");
        try (FlatIndex index = new FlatIndex(2, Metric.L2, Backends.java());
             FloatMatrix v = FloatMatrix.of(new float[][] {{1, 2}, {3, 4}, {5, 6}})) {
            index.add(new long[] {7, 8, 9}, v, java.util.Arrays.asList(Record.of("doc-a", "a"), null, Record.of("doc-c", null)));
            index.exportNpy(npy, ids);
        }
        assertEquals(List.of("doc-a", "8", "doc-c"), Files.readAllLines(ids));
        try (FloatMatrix back = dev.latent.space.format.Npy.read(npy)) {
            assertArrayEquals(new float[] {3, 4}, back.getRow(1));
        }
    }

    @Test
    void aFileLargerThanTheFreeDiskFailsBeforeWritingAndTheOldFileStays() throws IOException {
        Path file = dir.resolve("old.lidx");
        Files.writeString(file, "the previous content");
        long free = Files.getFileStore(dir).getUsableSpace();
        try (dev.latent.space.AtomicOutput out = dev.latent.space.AtomicOutput.open(file)) {
            IOException e = assertThrows(IOException.class, () -> out.requireSpace(free + (1L << 40)));
            assertTrue(e.getMessage().contains("the disk holding it has") && e.getMessage().contains("nothing was written"),
                    e.getMessage());
            out.requireSpace(1024);   // what fits passes
        }
        assertEquals("the previous content", Files.readString(file));
    }

    @Test
    void aCorruptRecordsSectionIsNamed() throws IOException {
        Path file = dir.resolve("r.lidx");
        try (FlatIndex index = new FlatIndex(1, Metric.L2, Backends.java());
             FloatMatrix v = FloatMatrix.of(new float[][] {{1}, {2}})) {
            index.add(new long[] {1, 2}, v, List.of(Record.of("a", "x"), Record.of("b", "y")));
            index.save(file);
        }
        long length = Files.size(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {'!'}), length - 6);   // inside the last record
        }
        IOException e = assertThrows(IOException.class, () -> VectorIndex.load(file));
        assertTrue(e.getMessage().contains("checksum"), e.getMessage());
        Files.write(file, Arrays.copyOf(Files.readAllBytes(file), (int) length - 3));
        e = assertThrows(IOException.class, () -> VectorIndex.load(file));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }
}
