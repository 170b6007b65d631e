package dev.latent.compute;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;

/**
 * Argument checks and error messages shared by the backends, so every backend fails alike.
 * Public for the backend packages ({@code compute.java}, {@code compute.cpu}, {@code compute.cuda});
 * not an API for users. Stateless.
 */
public final class Checks {
    private Checks() {
    }

    /** A number of neighbours or clusters: at least 1 (one wording for every backend and analysis). */
    public static void k(int k) {
        k(k, "k");
    }

    /** As {@link #k(int)}, naming the parameter ({@code "outlier k"}, say) in the message. */
    public static void k(int k, String what) {
        if (k < 1) {
            throw new IllegalArgumentException(what + " must be >= 1, got k=" + k);
        }
    }

    /** Arguments of {@link Backend#upload}: an open matrix and a metric. */
    public static void upload(FloatMatrix database, Metric metric) {
        open(database, "database");
        if (metric == null) {
            throw new IllegalArgumentException("metric must not be null");
        }
    }

    public static void open(FloatMatrix m, String what) {
        if (m == null) {
            throw new IllegalArgumentException(what + " must not be null");
        }
        if (m.isClosed()) {
            throw new IllegalArgumentException(what + " is closed");
        }
    }

    public static void queries(FloatMatrix queries, int dimension) {
        open(queries, "queries");
        if (queries.cols() != dimension) {
            throw new IllegalArgumentException("dimension mismatch: queries have dimension " + queries.cols()
                    + ", the database has dimension " + dimension);
        }
        if (queries.rows() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("too many queries in one call: " + queries.rows()
                    + " (at most " + Integer.MAX_VALUE + ")");
        }
    }

    /** Checks a row subset: strictly ascending, each in [0, n). */
    public static void subset(long[] rows, long n) {
        if (rows == null) {
            throw new IllegalArgumentException("rows must not be null");
        }
        long prev = -1;
        for (int i = 0; i < rows.length; i++) {
            long r = rows[i];
            if (r < 0 || r >= n) {
                throw new IllegalArgumentException("rows[" + i + "] = " + r + " is outside the database [0, " + n + ")");
            }
            if (r <= prev) {
                throw new IllegalArgumentException("rows must be strictly ascending: rows[" + i + "] = " + r
                        + " follows " + prev);
            }
            prev = r;
        }
    }

    /** Checks a refresh ({@link ResidentMatrix#refresh}): no more rows than resident, same dimension, changed rows ascending within. */
    public static void refresh(FloatMatrix all, long[] changed, long residentRows, int dimension) {
        if (all.cols() != dimension) {
            throw new IllegalArgumentException("dimension mismatch: the rows have dimension " + all.cols()
                    + ", the resident matrix " + dimension);
        }
        if (all.rows() > residentRows) {
            throw new IllegalArgumentException("a refresh takes at most the " + residentRows + " resident rows, got "
                    + all.rows() + " (new rows go through extend)");
        }
        subset(changed, all.rows());
    }

    public static void range(long fromRow, long toRow, long n) {
        if (fromRow < 0 || toRow < fromRow || toRow > n) {
            throw new IllegalArgumentException("row range [" + fromRow + ", " + toRow + ") is outside the database [0, "
                    + n + ")");
        }
    }

    public static void output(FloatMatrix out, long queries, long width) {
        open(out, "out");
        if (out.rows() != queries || out.cols() != width) {
            throw new IllegalArgumentException("out must be " + queries + " x " + width + " (queries x rows), got "
                    + out.rows() + " x " + out.cols());
        }
    }

    /**
     * Checks per-query candidate lists in CSR form for {@code queries} queries over {@code n} rows;
     * returns the length of the longest list.
     */
    public static long lists(long[] offsets, long[] rows, long queries, long n) {
        if (offsets.length != queries + 1) {
            throw new IllegalArgumentException("candidate offsets must have one entry per query plus one (" + (queries + 1)
                    + "), got " + offsets.length);
        }
        if (offsets[0] != 0 || offsets[offsets.length - 1] != rows.length) {
            throw new IllegalArgumentException("candidate offsets must start at 0 and end at the number of rows ("
                    + rows.length + "), got " + offsets[0] + " .. " + offsets[offsets.length - 1]);
        }
        long longest = 0;
        for (int q = 0; q < queries; q++) {
            long a = offsets[q];
            long b = offsets[q + 1];
            if (b < a) {
                throw new IllegalArgumentException("candidate offsets decrease at query " + q + ": " + a + " then " + b);
            }
            longest = Math.max(longest, b - a);
            for (long i = a; i < b; i++) {
                long r = rows[(int) i];
                if (r < 0 || r >= n) {
                    throw new IllegalArgumentException("query " + q + "'s candidate " + r + " is outside the rows [0, "
                            + n + ")");
                }
                if (i > a && r <= rows[(int) i - 1]) {
                    throw new IllegalArgumentException("query " + q + "'s candidates must be strictly ascending: " + r
                            + " follows " + rows[(int) i - 1]);
                }
            }
        }
        return longest;
    }

    /**
     * Checks inverted lists in CSR form over {@code n} rows (offsets from 0 to {@code rows.length}, never
     * decreasing; each list strictly ascending, in {@code [0, n)}); returns the number of lists.
     */
    public static int invertedLists(long[] offsets, long[] rows, long n) {
        if (offsets.length < 1 || offsets[0] != 0 || offsets[offsets.length - 1] != rows.length) {
            throw new IllegalArgumentException("list offsets must start at 0 and end at the number of rows ("
                    + rows.length + ")");
        }
        for (int l = 0; l + 1 < offsets.length; l++) {
            long a = offsets[l];
            long b = offsets[l + 1];
            if (b < a) {
                throw new IllegalArgumentException("list offsets decrease at list " + l + ": " + a + " then " + b);
            }
            for (long i = a; i < b; i++) {
                long r = rows[(int) i];
                if (r < 0 || r >= n) {
                    throw new IllegalArgumentException("list " + l + "'s row " + r + " is outside the rows [0, " + n + ")");
                }
                if (i > a && r <= rows[(int) i - 1]) {
                    throw new IllegalArgumentException("list " + l + "'s rows must be strictly ascending: " + r
                            + " follows " + rows[(int) i - 1]);
                }
            }
        }
        return offsets.length - 1;
    }

    /** Checks {@code nprobe} distinct lists in {@code [0, lists)} per query for {@code queries} queries. */
    public static void probes(int[] probes, int nprobe, long queries, int lists) {
        if (nprobe < 0 || probes.length != queries * nprobe) {
            throw new IllegalArgumentException(probes.length + " probes for " + queries + " queries x nprobe " + nprobe);
        }
        int[] seen = new int[lists];
        for (int q = 0; q < queries; q++) {
            for (int j = 0; j < nprobe; j++) {
                int l = probes[q * nprobe + j];
                if (l < 0 || l >= lists) {
                    throw new IllegalArgumentException("query " + q + " probes list " + l + ", outside [0, " + lists + ")");
                }
                if (seen[l] == q + 1) {
                    throw new IllegalArgumentException("query " + q + " probes list " + l + " twice");
                }
                seen[l] = q + 1;
            }
        }
    }

    /** The most rows any of {@code queries} queries probes ({@code nprobe} lists each; checked arguments). */
    public static long longestProbed(long[] listOffsets, int[] probes, int nprobe, long queries) {
        long longest = 0;
        for (int q = 0; q < queries; q++) {
            long n = 0;
            for (int j = 0; j < nprobe; j++) {
                int l = probes[q * nprobe + j];
                n += listOffsets[l + 1] - listOffsets[l];
            }
            longest = Math.max(longest, n);
        }
        return longest;
    }

    /**
     * Top-{@code k} over each query's probed rows as per-query candidate lists ({@link #probedCandidates}),
     * after checking the inverted lists over {@code n} rows and the probes of {@code queries} queries.
     */
    public static ScanParams probedSearch(long[] listOffsets, long[] listRows, long n, int[] probes, int nprobe,
            long queries, int k) {
        int nlists = invertedLists(listOffsets, listRows, n);
        probes(probes, nprobe, queries, nlists);
        long[][] csr = probedCandidates(listOffsets, listRows, probes, nprobe, Math.toIntExact(queries));
        return ScanParams.topK(k).candidates(csr[0], csr[1]);
    }

    /**
     * The per-query candidate lists (CSR: {offsets, rows}, each query's rows ascending) of {@code queries}
     * queries probing inverted lists ({@code nprobe} each; checked arguments).
     */
    public static long[][] probedCandidates(long[] listOffsets, long[] listRows, int[] probes, int nprobe, int queries) {
        long[] offsets = new long[queries + 1];
        for (int q = 0; q < queries; q++) {
            long n = 0;
            for (int j = 0; j < nprobe; j++) {
                int l = probes[q * nprobe + j];
                n += listOffsets[l + 1] - listOffsets[l];
            }
            offsets[q + 1] = offsets[q] + n;
        }
        long[] cand = new long[Math.toIntExact(offsets[queries])];
        for (int q = 0; q < queries; q++) {
            int at = (int) offsets[q];
            for (int j = 0; j < nprobe; j++) {
                int l = probes[q * nprobe + j];
                int a = (int) listOffsets[l];
                int len = (int) (listOffsets[l + 1] - a);
                System.arraycopy(listRows, a, cand, at, len);
                at += len;
            }
            java.util.Arrays.sort(cand, (int) offsets[q], at);
        }
        return new long[][] {offsets, cand};
    }

    /**
     * Checks a top-k call over {@code n} rows of dimension {@code dimension}: the queries, and the per-query
     * candidate lists or the shared row set of {@code params}; returns the results per query,
     * {@code min(k, candidates)} (with lists: the longest list).
     */
    public static int topKCount(FloatMatrix queries, int dimension, ScanParams params, long n) {
        queries(queries, dimension);
        long candidates = n;
        if (params.listOffsets() != null) {
            candidates = lists(params.listOffsets(), params.listRows(), queries.rows(), n);
        } else if (params.rows() != null) {
            subset(params.rows(), n);
            candidates = params.rows().length;
        }
        int count = (int) Math.min(params.k(), candidates);
        resultSize(queries.rows(), count);
        return count;
    }

    /** Labels for {@code n} points: each in [0, k) or -1. */
    public static void labels(int[] labels, long n, int k) {
        k(k);
        if (labels.length != n) {
            throw new IllegalArgumentException(labels.length + " labels for " + n + " points");
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < -1 || labels[i] >= k) {
                throw new IllegalArgumentException("label " + labels[i] + " of point " + i + " is outside [0, " + k
                        + ") (or -1 to skip the point)");
            }
        }
    }

    /** A mean vector for {@code gram}: null, or {@code d} finite values. */
    public static void mean(double[] mean, int d) {
        if (mean == null) {
            return;
        }
        if (mean.length != d) {
            throw new IllegalArgumentException("mean has " + mean.length + " components, the points have " + d);
        }
        for (int c = 0; c < d; c++) {
            if (!Double.isFinite(mean[c])) {
                throw new IllegalArgumentException("mean component " + c + " is " + mean[c]);
            }
        }
    }

    /** Results of {@code queries x count} must fit one Java array. */
    public static void resultSize(long queries, long count) {
        if (queries * count > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("queries x k = " + (queries * count)
                    + " results do not fit one result set; search in smaller batches");
        }
    }

    /**
     * Whether a matrix's backend can be used with {@code backend}: the same instance, or another instance of
     * the same stateless host backend class.
     */
    public static boolean sameKind(Backend made, Backend backend) {
        return made == backend || (made.getClass() == backend.getClass() && !"cuda".equals(backend.name()));
    }

    /** Two resident matrices of one backend that can be used together (same backend, dimension and metric). */
    public static void compatible(ResidentMatrix a, ResidentMatrix b, Backend backend) {
        if (a == null || b == null) {
            throw new IllegalArgumentException("resident matrices must not be null");
        }
        if (!sameKind(a.backend(), backend) || !sameKind(b.backend(), backend)) {
            throw new IllegalArgumentException("resident matrices come from another backend than " + backend.name());
        }
        if (a.dimension() != b.dimension()) {
            throw new IllegalArgumentException("dimension mismatch: " + a.dimension() + " and " + b.dimension());
        }
        if (a.metric() != b.metric()) {
            throw new IllegalArgumentException("metric mismatch: " + a.metric() + " and " + b.metric());
        }
    }
}
