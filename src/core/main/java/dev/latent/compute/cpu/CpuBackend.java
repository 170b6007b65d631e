package dev.latent.compute.cpu;

import dev.latent.compute.Assignment;
import dev.latent.compute.Backend;
import dev.latent.compute.BackendUnavailableException;
import dev.latent.compute.Checks;
import dev.latent.compute.HostCodes;
import dev.latent.compute.HostMatrix;
import dev.latent.compute.LabelSums;
import dev.latent.compute.RangeHits;
import dev.latent.compute.ResidentCodes;
import dev.latent.compute.ResidentMatrix;
import dev.latent.compute.Sq8;
import dev.latent.compute.TooManyResultsException;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.core.Vectors;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * Native CPU backend: our C++ kernels ({@code native/cpu}) with AVX-512, AVX2+FMA and scalar paths
 * picked at run time by CPU features, and threads inside native code.
 *
 * <p>The kernel level is process-wide: the best one this CPU supports, or the one named by the
 * environment variable {@code LATENT_CPU_ISA} ({@code avx512|avx2|scalar}; naming a level this CPU
 * lacks makes {@link #open()} fail), or one set later with {@link #useIsa(String)}. Threads per
 * call default to the hardware threads; {@code LATENT_CPU_THREADS} or {@link #useThreads(int)}
 * change that.
 *
 * <p>Native calls run on one persistent pool of worker threads shared by all calls (see
 * {@code latent_cpu.h}). Thread-safe: any number of threads may search one resident matrix
 * concurrently. {@link #close()} holds nothing to free; resident matrices own their norm buffers and
 * free them in their own {@code close()}.
 */
public final class CpuBackend implements Backend {
    private static final Object LOCK = new Object();
    private static volatile boolean initialised;

    private CpuBackend() {
    }

    /**
     * Loads the native library (once per process) and returns a backend.
     *
     * @throws BackendUnavailableException when the library does not load on this platform, or
     *         {@code LATENT_CPU_ISA} names an unknown level or one this CPU lacks (the native code
     *         is then {@link CpuNative#EISA} or {@link CpuNative#EISA_NAME})
     * @throws LinkageError when the class files and the native library come from different builds
     */
    public static CpuBackend open() throws BackendUnavailableException {
        synchronized (LOCK) {
            if (!initialised) {
                try {
                    CpuNative.load();
                } catch (UnsatisfiedLinkError | RuntimeException e) {
                    throw new BackendUnavailableException("native CPU library did not load: " + e.getMessage(), 0, e);
                }
                int abi = CpuNative.latent_cpu_abi_version();
                if (abi != CpuNative.ABI_VERSION) {
                    throw new LinkageError("mismatch between the Latent class files and the native CPU library: "
                            + "classes expect ABI version " + CpuNative.ABI_VERSION + ", library has " + abi
                            + " (mixed builds on the class path?)");
                }
                int st = CpuNative.latent_cpu_init();
                if (st == CpuNative.EISA || st == CpuNative.EISA_NAME) {
                    String env = System.getenv("LATENT_CPU_ISA");
                    String why = st == CpuNative.EISA
                            ? "this CPU does not support it (supported: " + supportedIsas() + ")"
                            : "unknown level (expected avx512, avx2 or scalar)";
                    throw new BackendUnavailableException("LATENT_CPU_ISA=" + env + ": " + why, st, null, true);
                } else if (st != CpuNative.OK) {
                    throw new BackendUnavailableException("native CPU library failed to initialise (code " + st + ")",
                            st, null);
                }
                initialised = true;
            }
        }
        return new CpuBackend();
    }

    /** The kernel level in use now: {@code avx512}, {@code avx2} or {@code scalar}. */
    public static String isa() {
        requireInit();
        return CpuNative.latent_cpu_isa_name(CpuNative.latent_cpu_isa());
    }

    /** Levels this CPU supports, best first. */
    public static List<String> supportedIsas() {
        List<String> out = new ArrayList<>();
        for (int isa = CpuNative.ISA_AVX512; isa >= CpuNative.ISA_SCALAR; isa--) {
            if (CpuNative.latent_cpu_isa_supported(isa) == 1) {
                out.add(CpuNative.latent_cpu_isa_name(isa));
            }
        }
        return out;
    }

    /**
     * Selects the kernel level for the whole process (for tests and benchmarks comparing levels).
     * Do not call while searches run on other threads.
     *
     * @throws IllegalArgumentException for an unknown name or a level this CPU lacks
     */
    public static void useIsa(String name) {
        requireInit();
        int isa;
        switch (name.toLowerCase(Locale.ROOT)) {
            case "avx512": isa = CpuNative.ISA_AVX512; break;
            case "avx2": isa = CpuNative.ISA_AVX2; break;
            case "scalar": isa = CpuNative.ISA_SCALAR; break;
            case "auto": isa = CpuNative.latent_cpu_isa_best(); break;
            default: throw new IllegalArgumentException("unknown CPU kernel level '" + name
                    + "' (expected avx512, avx2, scalar or auto)");
        }
        if (CpuNative.latent_cpu_set_isa(isa) != CpuNative.OK) {
            throw new IllegalArgumentException("CPU kernel level " + name + " is not supported by this CPU (supported: "
                    + supportedIsas() + ")");
        }
    }

    /** Threads each native call uses; 0 or less restores the default (hardware threads). */
    public static void useThreads(int threads) {
        requireInit();
        CpuNative.latent_cpu_set_threads(threads);
    }

    /** Threads each native call uses now. */
    public static int threads() {
        requireInit();
        return CpuNative.latent_cpu_threads();
    }

    private static void requireInit() {
        if (!initialised) {
            try {
                open();
            } catch (BackendUnavailableException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        }
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String description() {
        int t = threads();
        return "native CPU: " + isa().toUpperCase(Locale.ROOT).replace("AVX512", "AVX-512") + ", " + t
                + (t == 1 ? " thread" : " threads");
    }

    @Override
    public ResidentMatrix upload(FloatMatrix rows, Metric metric) {
        Checks.upload(rows, metric);
        return new Matrix(this, rows, metric);
    }

    /**
     * 8-bit codes in native memory, encoded on all threads and searched by the integer kernels of the level
     * in use (queries quantised to 127 levels with AVX-512 VNNI, 63 with AVX2: see {@link ResidentCodes#queryLevels()}).
     */
    @Override
    public ResidentCodes uploadCodes(FloatMatrix rows, Metric metric, Sq8 quantizer) {
        HostCodes.checkUpload(rows, metric, quantizer);
        return HostCodes.filled(new CpuCodes(this, metric, quantizer), rows);
    }

    @Override
    public Assignment assign(ResidentMatrix points, ResidentMatrix targets) {
        Checks.compatible(points, targets, this);
        Matrix p = (Matrix) HostMatrix.of(points, this);
        Matrix t = (Matrix) HostMatrix.of(targets, this);
        int n = Math.toIntExact(points.rows());
        int[] labels = new int[n];
        float[] scores = new float[n];
        if (t.rows() == 0) {
            java.util.Arrays.fill(labels, -1);
            java.util.Arrays.fill(scores, Float.NaN);
            return new Assignment(labels, scores);
        }
        // The points' own norms serve as query norms: no second pass over them.
        long[] ids = new long[n];
        FloatMatrix x = p.matrix();
        FloatMatrix c = t.matrix();
        try (FloatPointer q = x.pointer(); FloatPointer db = c.pointer()) {
            boolean ip = t.metric() == Metric.INNER_PRODUCT;
            int st = CpuNative.latent_cpu_topk(q, ip ? null : p.aux, n, db, ip ? null : t.aux, c.rows(), c.cols(),
                    t.metric().code(), null, 0, 1, ids, scores);
            check(st, "assign");
        }
        for (int i = 0; i < n; i++) {
            labels[i] = (int) ids[i];
        }
        return new Assignment(labels, scores);
    }

    @Override
    public LabelSums accumulate(ResidentMatrix points, int[] labels, int k) {
        FloatMatrix x = HostMatrix.of(points, this).matrix();
        Checks.labels(labels, x.rows(), k);
        double[] sums = new double[Math.multiplyExact(k, x.cols())];
        long[] counts = new long[k];
        try (FloatPointer p = x.pointer()) {
            check(CpuNative.latent_cpu_accumulate(p, x.rows(), x.cols(), labels, k, sums, counts), "accumulate");
        }
        return new LabelSums(k, x.cols(), sums, counts);
    }

    @Override
    public double[] gram(ResidentMatrix points, double[] mean) {
        FloatMatrix x = HostMatrix.of(points, this).matrix();
        Checks.mean(mean, x.cols());
        double[] out = new double[Math.multiplyExact(x.cols(), x.cols())];
        try (FloatPointer p = x.pointer()) {
            check(CpuNative.latent_cpu_gram(p, x.rows(), x.cols(), mean, out), "gram");
        }
        return out;
    }

    @Override
    public void close() {
    }

    @Override
    public String toString() {
        return description();
    }

    /** Norm kind passed to latent_cpu_row_norms: 1/|x| for cosine, |x|^2 otherwise. */
    private static int auxKind(Metric m) {
        return m == Metric.COSINE ? 1 : 0;
    }

    /**
     * Computes per-row aux values of rows {@code [from, m.rows())} natively into {@code aux} at the same
     * positions (the vector rule checked on the way); throws naming the first bad row.
     */
    private static void rowAux(FloatMatrix m, long from, Metric metric, String what, FloatPointer aux) {
        long n = m.rows() - from;
        if (n == 0) {
            return;
        }
        try (FloatPointer data = at(m.address() + from * m.cols() * 4L);
             FloatPointer out = at(aux.address() + from * 4L)) {
            long bad = CpuNative.latent_cpu_row_norms(data, n, m.cols(), auxKind(metric), out);
            if (bad < -1) {
                throw new IllegalStateException("native row norms failed (code " + (bad + 1) + ")");
            }
            if (bad >= 0) {
                throw Vectors.describe(m, metric, what, from + bad);
            }
        }
    }

    private static FloatPointer queryAux(FloatMatrix q, Metric metric) {
        FloatPointer aux = new FloatPointer(Math.max(1, q.rows()));
        try {
            rowAux(q, 0, metric, "query", aux);
        } catch (RuntimeException e) {
            aux.close();
            throw e;
        }
        return aux;
    }

    static void check(int status, String call) {
        switch (status) {
            case CpuNative.OK: return;
            case CpuNative.ENOMEM: throw new OutOfMemoryError(call + ": native CPU kernels could not allocate memory");
            default: throw new IllegalStateException(call + " failed in the native CPU library (code " + status + ")");
        }
    }

    private static final class Matrix extends HostMatrix {
        private volatile FloatPointer aux;   // |x|^2 (IP, L2) or 1/|x| (cosine), one per row; capacity grows by doubling

        Matrix(Backend backend, FloatMatrix db, Metric metric) {
            super(backend, db, metric);
            aux = new FloatPointer(Math.max(1, db.rows()));
            try {
                rowAux(db, 0, metric, "database", aux);
            } catch (RuntimeException e) {
                aux.close();
                throw e;
            }
        }

        @Override
        protected void grow(FloatMatrix all, long from) {
            FloatPointer target = aux;
            if (all.rows() > aux.capacity()) {
                target = new FloatPointer(Math.max(all.rows(), aux.capacity() * 2));
                Pointer.memcpy(target, aux, from * 4L);
            }
            try {
                rowAux(all, from, metric, "database", target);
            } catch (RuntimeException e) {
                if (target != aux) {
                    target.close();
                }
                throw e;
            }
            if (target != aux) {
                FloatPointer old = aux;
                aux = target;
                old.close();
            }
        }

        @Override
        protected void renorm(FloatMatrix all, long[] changed) {
            // Searches must not run during a refresh (as during extend): aux is updated in place.
            for (long r : changed) {
                try (FloatMatrix upTo = all.rowsView(0, r + 1)) {
                    rowAux(upTo, r, metric, "database", aux);
                }
            }
        }

        private boolean ip() {
            return metric == Metric.INNER_PRODUCT;
        }

        @Override
        protected Neighbors topK(FloatMatrix queries, int count, long[] subset) {
            try (LongPointer rowPtr = subset == null ? null : new LongPointer(subset)) {
                return nativeTopK(queries, count, "top-k", (q, qaux, x, db, ids, scores) -> CpuNative.latent_cpu_topk(q,
                        qaux, (int) queries.rows(), x, ip() ? null : aux, db.rows(), db.cols(), metric.code(), rowPtr,
                        subset == null ? 0 : subset.length, count, ids, scores));
            }
        }

        @Override
        protected Neighbors topKLists(FloatMatrix queries, int count, long[] offsets, long[] lists) {
            return nativeTopK(queries, count, "top-k over candidate lists", (q, qaux, x, db, ids, scores) ->
                    CpuNative.latent_cpu_topk_lists(q, qaux, (int) queries.rows(), x, ip() ? null : aux, db.rows(),
                            db.cols(), metric.code(), offsets, lists, count, ids, scores));
        }

        @Override
        protected Neighbors topKGrouped(FloatMatrix queries, int count, long[] listOffsets, long[] listRows,
                int[] probes, int nprobe) {
            return nativeTopK(queries, count, "top-k over inverted lists", (q, qaux, x, db, ids, scores) ->
                    CpuNative.latent_cpu_topk_grouped(q, qaux, (int) queries.rows(), x, ip() ? null : aux, db.rows(),
                            db.cols(), metric.code(), listOffsets, listRows, listOffsets.length - 1, probes, nprobe,
                            count, ids, scores));
        }

        /** One native top-k call over the rows: queries, their norm terms (null for IP) and the results. */
        private interface TopKCall {
            int run(FloatPointer q, FloatPointer qaux, FloatPointer x, FloatMatrix db, long[] ids, float[] scores);
        }

        private Neighbors nativeTopK(FloatMatrix queries, int count, String what, TopKCall call) {
            FloatMatrix db = rows;
            int nq = (int) queries.rows();
            long[] ids = new long[nq * count];
            float[] scores = new float[nq * count];
            try (FloatPointer qaux = queryAux(queries, metric);
                 FloatPointer q = queries.pointer();
                 FloatPointer x = db.pointer()) {
                if (count > 0 && nq > 0) {
                    check(call.run(q, ip() ? null : qaux, x, db, ids, scores), what);
                }
            }
            return new Neighbors(nq, count, ids, scores, metric);
        }

        @Override
        protected RangeHits within(FloatMatrix queries, float radius, long[] subset, long maxResults) {
            FloatMatrix db = rows;
            int nq = (int) queries.rows();
            long[] handle = new long[1];
            long[] total = new long[1];
            long[] over = new long[1];
            try (FloatPointer qaux = queryAux(queries, metric);
                 FloatPointer q = queries.pointer();
                 FloatPointer x = db.pointer();
                 LongPointer rowPtr = subset == null ? null : new LongPointer(subset)) {
                int st = CpuNative.latent_cpu_range(q, ip() ? null : qaux, nq, x, ip() ? null : aux, db.rows(),
                        db.cols(), metric.code(), rowPtr, subset == null ? 0 : subset.length, radius, maxResults,
                        handle, total, over);
                if (st == CpuNative.ETOO_MANY) {
                    throw new TooManyResultsException((int) over[0], maxResults);
                }
                check(st, "range search");
            }
            return RangeHits.fetched(nq, total[0], metric, () -> CpuNative.latent_cpu_range_free(handle[0]),
                    (offsets, rows, scores) -> check(CpuNative.latent_cpu_range_fetch(handle[0], offsets, rows, scores),
                            "range fetch"));
        }

        @Override
        protected void scores(FloatMatrix queries, long fromRow, long toRow, FloatMatrix out) {
            FloatMatrix db = rows;
            long d = db.cols();
            try (FloatPointer qaux = queryAux(queries, metric);
                 FloatPointer q = queries.pointer();
                 FloatPointer x = at(db.address() + fromRow * d * 4);
                 FloatPointer xaux = at(aux.address() + fromRow * 4);
                 FloatPointer o = out.pointer()) {
                int st = CpuNative.latent_cpu_distances(q, ip() ? null : qaux, queries.rows(), x, ip() ? null : xaux,
                        toRow - fromRow, db.cols(), metric.code(), o);
                check(st, "distances");
            }
        }

        @Override
        protected void release() {
            aux.close();
        }
    }

    /** A non-owning float pointer at a raw address. */
    private static FloatPointer at(long rawAddress) {
        return new FloatPointer(view(rawAddress));
    }

    /**
     * A pointer at a raw address that owns nothing (no deallocator: closing it frees nothing). Views made
     * with JavaCPP's copy constructors share the owner's deallocator instead, and closing one frees the memory.
     */
    static Pointer view(long rawAddress) {
        // Named rawAddress: inside the anonymous class, "address" would mean Pointer's own field.
        return new Pointer() {
            {
                this.address = rawAddress;
            }
        };
    }
}
