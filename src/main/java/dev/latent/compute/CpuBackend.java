package dev.latent.compute;

import dev.latent.compute.nat.CpuNative;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
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
 * <p>Thread-safe: any number of threads may search one prepared database concurrently.
 * {@link #close()} holds nothing to free; prepared databases own their norm buffers and free them
 * in their own {@code close()}.
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
                    throw new BackendUnavailableException("LATENT_CPU_ISA=" + env + ": " + why, st, null);
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
    public PreparedDatabase prepare(FloatMatrix database, Metric metric) {
        Checks.prepare(database, metric);
        return new Prepared(database, metric);
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

    /** Computes a matrix's per-row aux values natively; throws naming the first bad row. */
    private static FloatPointer rowAux(FloatMatrix m, Metric metric, String what) {
        long n = m.rows();
        FloatPointer aux = new FloatPointer(Math.max(1, n));
        try (FloatPointer data = m.pointer()) {
            long bad = CpuNative.latent_cpu_row_norms(data, n, m.cols(), auxKind(metric), aux);
            if (bad < -1) {
                aux.close();
                throw new IllegalStateException("native row norms failed (code " + (bad + 1) + ")");
            }
            if (bad >= 0) {
                aux.close();
                throw Checks.badRow(what, m, bad, metric);
            }
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

    private static final class Prepared extends HostDatabase {
        private final FloatPointer aux;   // |x|^2 (IP, L2) or 1/|x| (cosine), one per row

        Prepared(FloatMatrix db, Metric metric) {
            super(db, metric, "cpu");
            this.aux = rowAux(db, metric, "database");
        }

        @Override
        protected Neighbors topK(FloatMatrix queries, int count, long[] subset) {
            int nq = (int) queries.rows();
            long[] ids = new long[nq * count];
            float[] scores = new float[nq * count];
            try (FloatPointer qaux = rowAux(queries, metric, "query");
                 FloatPointer q = queries.pointer();
                 FloatPointer x = db.pointer();
                 LongPointer rows = subset == null ? null : new LongPointer(subset)) {
                if (count > 0 && nq > 0) {
                    int st = CpuNative.latent_cpu_topk(q, metric == Metric.INNER_PRODUCT ? null : qaux, nq,
                            x, metric == Metric.INNER_PRODUCT ? null : aux, db.rows(), db.cols(), metric.code(),
                            rows, subset == null ? 0 : subset.length, count, ids, scores);
                    check(st, "top-k");
                }
            }
            return new Neighbors(nq, count, ids, scores, metric);
        }

        @Override
        protected void scores(FloatMatrix queries, long fromRow, long toRow, FloatMatrix out) {
            long d = db.cols();
            try (FloatPointer qaux = rowAux(queries, metric, "query");
                 FloatPointer q = queries.pointer();
                 FloatPointer x = at(db.address() + fromRow * d * 4);
                 FloatPointer xaux = at(aux.address() + fromRow * 4);
                 FloatPointer o = out.pointer()) {
                boolean ip = metric == Metric.INNER_PRODUCT;
                int st = CpuNative.latent_cpu_distances(q, ip ? null : qaux, queries.rows(), x, ip ? null : xaux,
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
        // Named rawAddress: inside the anonymous class, "address" would mean Pointer's own field.
        return new FloatPointer(new Pointer() {
            {
                this.address = rawAddress;
            }
        });
    }
}
