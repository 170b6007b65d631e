package dev.latent.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.latent.compute.cpu.CpuBackend;
import dev.latent.compute.java.JavaBackend;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The native CPU backend against the float64 Java reference on fresh random inputs (the seed is
 * in every failure message; rerun with -Dlatent.test.seed=...), for every kernel level this CPU
 * supports, forced through {@link CpuBackend#useIsa(String)}. See {@link Reference} for the
 * tolerance.
 */
class CpuBackendTest extends CpuLevelsTest {
    private static final int[] KS = {1, 10, 100, 2048};
    private static final JavaBackend JAVA = new JavaBackend();

    /**
     * (queries, rows, d): every value of {1, 7, 100, 1000, 4097} appears in each position; d covers
     * tail-only (1, 7), 8k+4 (100), 8k/16k+8 (1000) and 8k+1 (4097); rows cover one and several
     * database blocks; queries cover the row-split (few queries, merged per-thread lists) and the
     * query-split paths.
     */
    static Stream<Arguments> shapes() {
        return Stream.of(
                Arguments.of(1, 4097, 1000),
                Arguments.of(7, 1000, 4097),
                Arguments.of(100, 7, 4097),
                Arguments.of(1000, 100, 7),
                Arguments.of(4097, 1, 100),
                Arguments.of(100, 4097, 7),
                Arguments.of(7, 100, 1),
                Arguments.of(1000, 4097, 1),
                Arguments.of(1, 1, 1),
                Arguments.of(4097, 7, 1000));
    }

    @ParameterizedTest(name = "Q={0} N={1} d={2}")
    @MethodSource("shapes")
    void topKMatchesReference(int nq, int n, int d) {
        long seed = Reference.seed();
        Random rnd = new Random(seed);
        try (FloatMatrix db = Reference.gaussian(n, d, rnd); FloatMatrix q = Reference.gaussian(nq, d, rnd)) {
            eachIsaAgainstReference(db, q, (isa, m, k, got, ref) -> {
                String ctx = "seed " + seed + ", " + isa + ", " + m + ", Q=" + nq + " N=" + n + " d=" + d + " k=" + k;
                Reference.assertSameTopK(ctx, q, db, null, m, k, got, ref);
            });
        }
    }

    /** Integer vectors with planted duplicates: scores are exact in float32, so ids must match exactly. */
    @ParameterizedTest(name = "d={0}")
    @MethodSource("tieDims")
    void exactTiesFollowLowerRowIndex(int d) {
        long seed = Reference.seed();
        Random rnd = new Random(seed);
        int n = 3000;
        int nq = 40;
        try (FloatMatrix db = Reference.integers(n, d, rnd); FloatMatrix q = Reference.integers(nq, d, rnd)) {
            for (int i = 0; i < 300; i++) {  // duplicates at random later positions
                long from = rnd.nextInt(n);
                long to = rnd.nextInt(n);
                db.setRow(to, db.getRow(from));
            }
            for (int i = 0; i < 10; i++) {  // some queries equal to database rows (L2 exactly 0)
                q.setRow(i, db.getRow(rnd.nextInt(n)));
            }
            eachIsaAgainstReference(db, q, (isa, m, k, got, ref) -> {
                String ctx = "seed " + seed + ", " + isa + ", " + m + ", d=" + d + " k=" + k;
                Reference.assertSameTopK(ctx, q, db, null, m, k, got, ref);
                if (m != Metric.COSINE) {
                    // Cosine divides by norms, so rows x and 2x tie only approximately.
                    Reference.assertSameIds(ctx, got, prefix(ref, k));
                }
            });
        }
    }

    /** One check of the native top-k ({@code got}) at one ISA, metric and k against the reference's top 2048. */
    private interface TopKCheck {
        void check(String isa, Metric m, int k, Neighbors got, Neighbors ref);
    }

    /** Runs {@code check} for every metric, every ISA this CPU supports and every k in {@link #KS}. */
    private static void eachIsaAgainstReference(FloatMatrix db, FloatMatrix q, TopKCheck check) {
        for (Metric m : Metric.values()) {
            Neighbors ref;
            try (ResidentMatrix p = JAVA.upload(db, m)) {
                ref = p.search(q, 2048);
            }
            for (String isa : isas()) {
                CpuBackend.useIsa(isa);
                try (ResidentMatrix p = cpu.upload(db, m)) {
                    for (int k : KS) {
                        check.check(isa, m, k, p.search(q, k), ref);
                    }
                }
            }
        }
    }

    static Stream<Integer> tieDims() {
        return Stream.of(7, 100);
    }

    @Test
    void subsetSearchMatchesReference() {
        long seed = Reference.seed();
        Random rnd = new Random(seed);
        int n = 5000;
        try (FloatMatrix db = Reference.gaussian(n, 100, rnd); FloatMatrix q = Reference.gaussian(30, 100, rnd)) {
            List<Long> rows = new ArrayList<>();
            for (long r = 0; r < n; r++) {
                if (rnd.nextInt(3) == 0) {
                    rows.add(r);
                }
            }
            long[] subset = rows.stream().mapToLong(Long::longValue).toArray();
            long[] tiny = {3, 17, 4999};
            for (Metric m : Metric.values()) {
                Neighbors ref;
                Neighbors refTiny;
                try (ResidentMatrix p = JAVA.upload(db, m)) {
                    ref = p.search(q, ScanParams.topK(2048).rows(subset));
                    refTiny = p.search(q, ScanParams.topK(10).rows(tiny));
                }
                for (String isa : isas()) {
                    CpuBackend.useIsa(isa);
                    try (ResidentMatrix p = cpu.upload(db, m)) {
                        for (int k : KS) {
                            String ctx = "seed " + seed + ", " + isa + ", " + m + ", subset of " + subset.length
                                    + ", k=" + k;
                            Reference.assertSameTopK(ctx, q, db, subset, m, k, p.search(q, ScanParams.topK(k).rows(subset)), ref);
                        }
                        Reference.assertSameTopK("seed " + seed + ", " + isa + ", " + m + ", 3-row subset", q, db,
                                tiny, m, 10, p.search(q, ScanParams.topK(10).rows(tiny)), refTiny);
                    }
                }
            }
        }
    }

    @Test
    void distancesMatchExactScores() {
        long seed = Reference.seed();
        Random rnd = new Random(seed);
        for (int d : new int[] {7, 100, 4097}) {
            try (FloatMatrix db = Reference.gaussian(1000, d, rnd); FloatMatrix q = Reference.gaussian(37, d, rnd);
                 FloatMatrix out = FloatMatrix.allocate(37, 887)) {
                for (int i = 0; i < 5; i++) {
                    q.setRow(i, db.getRow(13 + i * 50));  // L2 near 0
                }
                float[][] rows = db.toArray();
                for (Metric m : Metric.values()) {
                    for (String isa : isas()) {
                        CpuBackend.useIsa(isa);
                        try (ResidentMatrix p = cpu.upload(db, m)) {
                            p.distances(q, 13, 900, out);
                        }
                        for (int qi = 0; qi < 37; qi++) {
                            float[] qv = q.getRow(qi);
                            float[] got = out.getRow(qi);
                            for (int j = 0; j < 887; j++) {
                                float[] x = rows[13 + j];
                                double e = Reference.exact(m, qv, x);
                                if (Math.abs(got[j] - e) > Reference.tol(m, qv, x)) {
                                    fail("seed " + seed + ", " + isa + ", " + m + ", d=" + d + ": query " + qi
                                            + ", row " + (13 + j) + ": " + got[j] + ", exact " + e);
                                }
                                if (m == Metric.L2 && got[j] < 0) {
                                    fail("negative squared distance " + got[j]);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Gaussian (not integer) data, where summation order shows in the last bits. A batch of 20 queries
     * takes the main path of each level (packed panels on AVX-512): a query equal to a stored row is at
     * L2 distance exactly 0 and ties exactly with the row's duplicate. A single query (row-major kernel
     * on AVX-512) agrees with the batch to rounding.
     */
    @Test
    void selfMatchIsExactOnTheBatchPathAndAgreesAcrossPaths() {
        long seed = Reference.seed();
        Random rnd = new Random(seed);
        int n = 1001;
        int d = 385;
        try (FloatMatrix db = Reference.gaussian(n, d, rnd); FloatMatrix q = FloatMatrix.allocate(20, d)) {
            int[] src = new int[20];
            for (int i = 0; i < 20; i++) {
                src[i] = rnd.nextInt(n - 1);
                q.setRow(i, db.getRow(src[i]));
            }
            db.setRow(n - 1, db.getRow(src[0]));  // a duplicate of the first query's row, at the end
            for (String isa : isas()) {
                CpuBackend.useIsa(isa);
                try (ResidentMatrix p = cpu.upload(db, Metric.L2); FloatMatrix one = q.rowsView(0, 1)) {
                    Neighbors batch = p.search(q, 2);
                    String ctx = "seed " + seed + ", " + isa;
                    for (int i = 0; i < 20; i++) {
                        assertEquals(0.0f, batch.score(i, 0), ctx + ", query " + i);
                    }
                    assertEquals(src[0], batch.id(0, 0), ctx);
                    assertEquals(n - 1, batch.id(0, 1), ctx);
                    assertEquals(0.0f, batch.score(0, 1), ctx + ": the duplicate ties exactly");
                    Neighbors single = p.search(one, 10);
                    Neighbors first = p.search(q, 10);
                    float sq = 0;
                    for (float v : q.getRow(0)) {
                        sq += v * v;
                    }
                    for (int r = 0; r < 10; r++) {
                        if (r >= 2) {
                            assertEquals(first.id(0, r), single.id(0, r), ctx + ", rank " + r);
                        }
                        assertEquals(first.score(0, r), single.score(0, r), 1e-5 * sq, ctx + ", rank " + r);
                    }
                }
            }
        }
    }

    /** Odd thread counts split rows and queries unevenly; results must not depend on them. */
    @Test
    void threadCountDoesNotChangeResults() {
        long seed = Reference.seed();
        Random rnd = new Random(seed);
        try (FloatMatrix db = Reference.gaussian(20011, 33, rnd); FloatMatrix q = Reference.gaussian(50, 33, rnd);
             FloatMatrix one = q.rowsView(0, 1); FloatMatrix few = q.rowsView(0, 5)) {
            for (Metric m : Metric.values()) {
                try (ResidentMatrix p = cpu.upload(db, m)) {
                    CpuBackend.useThreads(1);
                    Neighbors[] base = {p.search(q, 100), p.search(one, 100), p.search(few, 100)};
                    for (int t : new int[] {2, 3, 7}) {
                        CpuBackend.useThreads(t);
                        Neighbors[] other = {p.search(q, 100), p.search(one, 100), p.search(few, 100)};
                        for (int i = 0; i < 3; i++) {
                            String ctx = "seed " + seed + ", " + m + ", threads " + t + ", block " + i;
                            Reference.assertSameIds(ctx, other[i], base[i]);
                            for (int qi = 0; qi < base[i].queries(); qi++) {
                                assertTrue(java.util.Arrays.equals(base[i].scores(qi), other[i].scores(qi)), ctx);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void descriptionNamesLevelAndThreads() {
        CpuBackend.useThreads(3);
        assertEquals("native CPU: " + (CpuBackend.isa().equals("avx512") ? "AVX-512"
                : CpuBackend.isa().toUpperCase(java.util.Locale.ROOT)) + ", 3 threads", cpu.description());
        for (String isa : isas()) {
            CpuBackend.useIsa(isa);
            assertEquals(isa, CpuBackend.isa());
        }
    }

    /** The first {@code k} results of each query of {@code ref}. */
    static Neighbors prefix(Neighbors ref, int k) {
        int c = Math.min(k, ref.count());
        long[] ids = new long[ref.queries() * c];
        float[] scores = new float[ref.queries() * c];
        for (int qi = 0; qi < ref.queries(); qi++) {
            System.arraycopy(ref.ids(qi), 0, ids, qi * c, c);
            System.arraycopy(ref.scores(qi), 0, scores, qi * c, c);
        }
        return new Neighbors(ref.queries(), c, ids, scores, ref.metric());
    }
}
