package dev.latent.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.latent.compute.cpu.CpuBackend;
import dev.latent.compute.java.JavaBackend;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link ResidentMatrix#searchGrouped} on the native CPU backend (each inverted list scored once for all the
 * queries probing it) against per-query candidate lists (the Java reference and the native CSR search), on
 * fresh random inputs (the seed is in every failure message; rerun with -Dlatent.test.seed=...), at every
 * kernel level this CPU supports.
 */
class CpuGroupedTest extends CpuLevelsTest {
    private static final JavaBackend JAVA = new JavaBackend();

    /** Random inverted lists over n rows: a random label per row, some lists left empty. */
    private static long[][] lists(int n, int nlists, Random rnd) {
        List<List<Long>> members = new ArrayList<>();
        for (int l = 0; l < nlists; l++) {
            members.add(new ArrayList<>());
        }
        int empty = nlists / 5;
        for (long r = 0; r < n; r++) {
            // Skewed: low lists get more rows, the first `empty` lists none.
            int l = empty + (int) Math.min(nlists - empty - 1, Math.abs(rnd.nextGaussian()) * (nlists - empty) / 2);
            members.get(l).add(r);
        }
        long[] offsets = new long[nlists + 1];
        long[] rows = new long[n];
        int at = 0;
        for (int l = 0; l < nlists; l++) {
            for (long r : members.get(l)) {
                rows[at++] = r;
            }
            offsets[l + 1] = at;
        }
        return new long[][] {offsets, rows};
    }

    private static int[] probes(int nq, int nprobe, int nlists, Random rnd) {
        List<Integer> all = new ArrayList<>();
        for (int l = 0; l < nlists; l++) {
            all.add(l);
        }
        int[] probes = new int[nq * nprobe];
        for (int q = 0; q < nq; q++) {
            Collections.shuffle(all, rnd);
            for (int j = 0; j < nprobe; j++) {
                probes[q * nprobe + j] = all.get(j);
            }
        }
        return probes;
    }

    /** Same shape, padding where the reference pads, ids equal except near-ties, scores within tolerance. */
    private static void assertClose(String ctx, FloatMatrix q, FloatMatrix db, Metric m, Neighbors got, Neighbors ref) {
        assertEquals(ref.count(), got.count(), ctx + ": result count");
        assertEquals(ref.queries(), got.queries(), ctx + ": query count");
        float[][] rows = db.toArray();
        for (int qi = 0; qi < ref.queries(); qi++) {
            float[] qv = q.getRow(qi);
            for (int r = 0; r < ref.count(); r++) {
                long id = got.id(qi, r);
                long refId = ref.id(qi, r);
                String at = ctx + ", query " + qi + ", rank " + r;
                if (refId < 0 || id < 0) {
                    assertEquals(refId, id, at + ": padding");
                    assertTrue(Float.isNaN(got.score(qi, r)), at + ": padding score");
                    continue;
                }
                double t = Reference.tol(m, qv, rows[(int) id]);
                if (Math.abs(got.score(qi, r) - Reference.exact(m, qv, rows[(int) id])) > t) {
                    fail(at + ": score " + got.score(qi, r) + " for id " + id);
                }
                if (id != refId) {
                    double tt = Math.max(t, Reference.tol(m, qv, rows[(int) refId])) * 2;
                    if (Math.abs(Reference.exact(m, qv, rows[(int) id]) - Reference.exact(m, qv, rows[(int) refId])) > tt) {
                        fail(at + ": id " + id + " where the reference has " + refId + " (not a near-tie)");
                    }
                }
            }
        }
    }

    /** One random grouped search: rows, queries (some equal to rows), inverted lists, probes and k. */
    private record Case(long seed, FloatMatrix db, FloatMatrix q, long[][] lists, int nprobe, int[] probes, int k) {
        int nq() {
            return (int) q.rows();
        }

        String describe() {
            return "d=" + db.cols() + " n=" + db.rows() + " nq=" + q.rows() + " lists=" + (lists[0].length - 1)
                    + " nprobe=" + nprobe + " k=" + k;
        }
    }

    /**
     * Random cases (d, n, nq, lists, k) with odd sizes, duplicate rows (exact ties across lists), empty lists,
     * and k above every query's candidates, each handed to {@code check}.
     */
    private static void forCases(int[][] shapes, java.util.function.Consumer<Case> check) {
        long seed = Reference.seed();
        Random rnd = new Random(seed);
        for (int[] s : shapes) {
            int d = s[0];
            int n = s[1];
            int nq = s[2];
            int nlists = s[3];
            try (FloatMatrix db = Reference.gaussian(n, d, rnd); FloatMatrix q = Reference.gaussian(nq, d, rnd)) {
                for (int i = 0; i < Math.min(nq, 5); i++) {
                    db.setRow(n - 1 - i, db.getRow(i));
                    q.setRow(i, db.getRow(i));
                }
                long[][] lists = lists(n, nlists, rnd);
                int nprobe = 1 + rnd.nextInt(Math.max(1, nlists / 2));
                check.accept(new Case(seed, db, q, lists, nprobe, probes(nq, nprobe, nlists, rnd), s[4]));
            }
        }
    }

    @Test
    void groupedMatchesPerQueryLists() {
        forCases(new int[][] {{1, 300, 40, 7, 5}, {7, 1000, 60, 13, 10}, {100, 2000, 37, 50, 100},
                {385, 1500, 20, 17, 64}, {100, 500, 30, 3, 400}}, c -> {
            long seed = c.seed();
            FloatMatrix db = c.db();
            FloatMatrix q = c.q();
            long[][] lists = c.lists();
            int nprobe = c.nprobe();
            int[] probes = c.probes();
            int k = c.k();
            for (Metric m : Metric.values()) {
                Neighbors ref;
                try (ResidentMatrix p = JAVA.upload(db, m)) {
                    ref = p.searchGrouped(q, lists[0], lists[1], probes, nprobe, k);
                }
                for (String isa : isas()) {
                    CpuBackend.useIsa(isa);
                    try (ResidentMatrix p = cpu.upload(db, m)) {
                        String ctx = "seed " + seed + ", " + isa + ", " + m + ", " + c.describe();
                        Neighbors got = p.searchGrouped(q, lists[0], lists[1], probes, nprobe, k);
                        assertClose(ctx + " vs Java", q, db, m, got, ref);
                        assertClose(ctx + " vs CSR", q, db, m, got, ResidentMatrixGroupedDefault.of(p)
                                .searchGrouped(q, lists[0], lists[1], probes, nprobe, k));
                    }
                }
            }
        });
    }

    /** Small integers: scores are exact, so ids (ties by the lower row included) equal the CSR search's. */
    @Test
    void exactTiesGoToTheLowerRow() {
        long seed = Reference.seed();
        Random rnd = new Random(seed);
        int n = 3000;
        int d = 16;
        int nq = 50;
        int nlists = 24;
        try (FloatMatrix db = Reference.integers(n, d, rnd); FloatMatrix q = Reference.integers(nq, d, rnd)) {
            long[][] lists = lists(n, nlists, rnd);
            int nprobe = 6;
            int[] probes = probes(nq, nprobe, nlists, rnd);
            for (Metric m : Metric.values()) {
                for (String isa : isas()) {
                    CpuBackend.useIsa(isa);
                    for (int threads : new int[] {1, 0}) {
                        CpuBackend.useThreads(threads);
                        try (ResidentMatrix p = cpu.upload(db, m)) {
                            String ctx = "seed " + seed + ", " + isa + ", " + m + ", threads " + threads;
                            Neighbors got = p.searchGrouped(q, lists[0], lists[1], probes, nprobe, 20);
                            Neighbors ref = ResidentMatrixGroupedDefault.of(p)
                                    .searchGrouped(q, lists[0], lists[1], probes, nprobe, 20);
                            Reference.assertSameIds(ctx, got, ref);
                            for (int i = 0; i < nq; i++) {
                                for (int r = 0; r < ref.count(); r++) {
                                    assertEquals(ref.score(i, r), got.score(i, r), ctx + ", query " + i + ", rank " + r);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * 8-bit codes: {@link ResidentCodes#searchGrouped} equals the search over per-query candidate lists
     * exactly (ids and scores: the integer sums are exact), natively at every kernel level and thread count
     * and on the Java reference; odd dimensions, empty lists, k above every query's candidates.
     */
    @Test
    void sq8GroupedEqualsPerQueryLists() {
        forCases(new int[][] {{1, 300, 40, 7, 5}, {7, 1000, 60, 13, 10}, {100, 2000, 37, 5, 100},
                {385, 1500, 20, 17, 64}, {33, 500, 30, 3, 400}}, c -> {
            long[][] lists = c.lists();
            ScanParams csr = perQuery(c.nq(), lists[0], lists[1], c.probes(), c.nprobe(), c.k());
            for (Metric m : Metric.values()) {
                Sq8 sq8 = Sq8.train(c.db(), m);
                for (String isa : isas()) {
                    CpuBackend.useIsa(isa);
                    for (int threads : new int[] {1, 0}) {
                        CpuBackend.useThreads(threads);
                        try (ResidentCodes codes = cpu.uploadCodes(c.db(), m, sq8)) {
                            String ctx = "seed " + c.seed() + ", " + isa + ", threads " + threads + ", " + m + ", "
                                    + c.describe();
                            assertIdentical(ctx, codes.searchGrouped(c.q(), lists[0], lists[1], c.probes(), c.nprobe(),
                                    c.k()), codes.search(c.q(), csr));
                        }
                    }
                }
                try (ResidentCodes codes = JAVA.uploadCodes(c.db(), m, sq8)) {
                    String ctx = "seed " + c.seed() + ", Java, " + m + ", " + c.describe();
                    assertIdentical(ctx, codes.searchGrouped(c.q(), lists[0], lists[1], c.probes(), c.nprobe(), c.k()),
                            codes.search(c.q(), csr));
                }
            }
        });
    }

    private static void assertIdentical(String ctx, Neighbors got, Neighbors ref) {
        assertEquals(ref.queries(), got.queries(), ctx + ": query count");
        assertEquals(ref.count(), got.count(), ctx + ": result count");
        for (int i = 0; i < ref.queries(); i++) {
            for (int r = 0; r < ref.count(); r++) {
                assertEquals(ref.id(i, r), got.id(i, r), ctx + ", query " + i + ", rank " + r + ": id");
                assertEquals(Float.floatToRawIntBits(ref.score(i, r)), Float.floatToRawIntBits(got.score(i, r)),
                        ctx + ", query " + i + ", rank " + r + ": score " + ref.score(i, r) + " vs " + got.score(i, r));
            }
        }
    }

    @Test
    void rejectsBadProbesAndLists() {
        try (FloatMatrix db = Reference.gaussian(10, 4, new Random(1)); FloatMatrix q = Reference.gaussian(2, 4, new Random(2));
             ResidentMatrix p = cpu.upload(db, Metric.L2)) {
            long[] off = {0, 5, 10};
            long[] rows = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
            assertThrows(IllegalArgumentException.class, () -> p.searchGrouped(q, off, rows, new int[] {0, 0}, 2, 3));
            assertThrows(IllegalArgumentException.class, () -> p.searchGrouped(q, off, rows, new int[] {0, 2}, 1, 3));
            assertThrows(IllegalArgumentException.class, () -> p.searchGrouped(q, off, rows, new int[] {0}, 1, 3));
            assertThrows(IllegalArgumentException.class,
                    () -> p.searchGrouped(q, off, new long[] {0, 1, 2, 3, 4, 5, 6, 7, 9, 8}, new int[] {0, 1}, 1, 3));
            Neighbors none = p.searchGrouped(q, new long[] {0, 0, 10}, rows, new int[] {0, 0}, 1, 3);
            assertEquals(0, none.count());
        }
    }

    /** The interface's default (per-query candidate lists through search) around a matrix. */
    private record ResidentMatrixGroupedDefault(ResidentMatrix m) {
        static ResidentMatrixGroupedDefault of(ResidentMatrix m) {
            return new ResidentMatrixGroupedDefault(m);
        }

        Neighbors searchGrouped(FloatMatrix q, long[] offsets, long[] rows, int[] probes, int nprobe, int k) {
            int nlists = Checks.invertedLists(offsets, rows, m.rows());
            Checks.probes(probes, nprobe, q.rows(), nlists);
            return m.search(q, perQuery((int) q.rows(), offsets, rows, probes, nprobe, k));
        }
    }

    /** Top-k over each query's probed rows as per-query candidate lists (ascending), built here. */
    private static ScanParams perQuery(int nq, long[] offsets, long[] rows, int[] probes, int nprobe, int k) {
        long[] off = new long[nq + 1];
        List<Long> cand = new ArrayList<>();
        for (int i = 0; i < nq; i++) {
            List<Long> mine = new ArrayList<>();
            for (int j = 0; j < nprobe; j++) {
                int l = probes[i * nprobe + j];
                for (long r = offsets[l]; r < offsets[l + 1]; r++) {
                    mine.add(rows[(int) r]);
                }
            }
            Collections.sort(mine);
            cand.addAll(mine);
            off[i + 1] = cand.size();
        }
        return ScanParams.topK(k).candidates(off, cand.stream().mapToLong(Long::longValue).toArray());
    }
}
