package dev.latent.compute.cuda;

import dev.latent.compute.Assignment;
import dev.latent.compute.Backend;
import dev.latent.compute.BackendUnavailableException;
import dev.latent.compute.Checks;
import dev.latent.compute.DeviceException;
import dev.latent.compute.DeviceMemoryBudget;
import dev.latent.compute.HostCodes;
import dev.latent.compute.LabelSums;
import dev.latent.compute.ResidentCodes;
import dev.latent.compute.ResidentMatrix;
import dev.latent.compute.Sq8;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Vectors;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.javacpp.Loader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CUDA backend: our own kernels ({@code native/cuda}, no cuBLAS) in {@code liblatentcuda.so},
 * reached through {@link CudaNative}. A resident matrix keeps its rows and norms in device
 * memory until it is closed; searches stream query batches through pinned buffers and select the
 * top-k on the GPU, so only {@code Q × k} results come back.
 *
 * <p><b>Finding the library</b>, in this order (each step logged at FINE):
 * <ol>
 *   <li>{@code -Dlatent.cuda.skip=true}: unavailable ("skipped by latent.cuda.skip");</li>
 *   <li>{@code -Dlatent.cuda.library=/path/liblatentcuda.so}: that file;</li>
 *   <li>the resource {@code /dev/latent/compute/cuda/<platform>/liblatentcuda.so} packed next to the
 *       JNI libraries (cached on disk by JavaCPP's {@link Loader#cacheResource}). A build without
 *       nvcc lacks it, and {@link #open()} says "CUDA library not built (nvcc absent at build time)".</li>
 * </ol>
 * {@code -Dlatent.cuda.device=N} picks the device (default 0).
 *
 * <p><b>Device memory</b> is bounded by a {@link DeviceMemoryBudget} ({@link #open(DeviceMemoryBudget)}, or
 * {@code -Dlatent.cuda.memory=8g} and {@code -Dlatent.cuda.scratch=512m}): each resident matrix reserves its
 * rows and its scratch allowance, an upload or append past the budget throws
 * {@link dev.latent.compute.DeviceMemoryBudgetException} before allocating, and searches cut their query
 * batches, row stripes and candidate lists to fit the scratch allowance.
 *
 * <p><b>Thread safety.</b> A backend is immutable apart from its set of open databases (a
 * concurrent set) and may be shared by any number of threads. Its databases are thread-safe too:
 * concurrent searches on one database are serialised natively (one stream and one mutex per
 * database), and {@code close()} waits for searches in flight. Closing the backend closes the
 * databases still open. Use after close throws {@link IllegalStateException}.
 */
public final class CudaBackend implements Backend {
    private static final Logger LOG = LoggerFactory.getLogger(CudaBackend.class.getName());
    private static final String RESOURCE = "liblatentcuda.so";

    /** Result of loading the library once per process: the path, or why it failed. */
    private static final class Library {
        static final Library INSTANCE = load();

        final String path;
        final BackendUnavailableException failure;

        private Library(String path, BackendUnavailableException failure) {
            this.path = path;
            this.failure = failure;
        }

        private static Library load() {
            if (Boolean.getBoolean("latent.cuda.skip")) {
                return failed(new BackendUnavailableException("CUDA skipped by -Dlatent.cuda.skip=true"));
            }
            String explicit = System.getProperty("latent.cuda.library");
            String path;
            if (explicit != null && !explicit.isBlank()) {
                path = explicit;
                LOG.atDebug().log(() -> "CUDA library from -Dlatent.cuda.library: " + explicit);
                if (!new File(explicit).isFile()) {
                    return failed(new BackendUnavailableException(
                            "CUDA library not found at -Dlatent.cuda.library=" + explicit));
                }
            } else {
                String resource = Loader.getPlatform() + "/" + RESOURCE;
                try {
                    File file = Loader.cacheResource(CudaNative.class, resource);
                    if (file == null) {
                        LOG.atDebug().log(() -> "CUDA library resource " + resource + " not found next to "
                                + CudaNative.class.getName());
                        return failed(new BackendUnavailableException(
                                "CUDA library not built (nvcc absent at build time): no resource "
                                        + "dev/latent/compute/cuda/" + resource));
                    }
                    path = file.getAbsolutePath();
                    String found = path;
                    LOG.atDebug().log(() -> "CUDA library from resource " + resource + ": " + found);
                } catch (IOException e) {
                    return failed(new BackendUnavailableException(
                            "CUDA library resource could not be extracted: " + e.getMessage(), 0, e));
                }
            }
            try {
                Loader.load(CudaNative.class);
            } catch (LinkageError | RuntimeException e) {
                return failed(new BackendUnavailableException(
                        "CUDA JNI binding (jniCudaNative) failed to load: " + e.getMessage(), 0, e));
            }
            byte[] error = new byte[1024];
            int code = CudaNative.load(path, error, error.length);
            if (code != 0) {
                return failed(new BackendUnavailableException("CUDA library " + path + " failed to load: "
                        + cString(error) + " (" + code + ")", code, null));
            }
            LOG.debug("CUDA library loaded: " + path);
            return new Library(path, null);
        }

        private static Library failed(BackendUnavailableException e) {
            return new Library(null, e);
        }
    }

    private final int device;
    private final String deviceName;
    private final String description;
    private final DeviceMemoryBudget budget;
    private final Set<CudaMatrix> open = ConcurrentHashMap.newKeySet();
    private final Set<CudaCodes> openCodes = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private CudaBackend(int device, String deviceName, String description, DeviceMemoryBudget budget) {
        this.device = device;
        this.deviceName = deviceName;
        this.description = description;
        this.budget = budget;
    }

    /**
     * Opens the CUDA backend on device {@code latent.cuda.device} (default 0), with the budget of
     * {@link DeviceMemoryBudget#fromProperties()}.
     *
     * @throws BackendUnavailableException as {@link #open(DeviceMemoryBudget)}
     * @throws IllegalArgumentException for a budget property that is not a size
     */
    public static CudaBackend open() throws BackendUnavailableException {
        return open(DeviceMemoryBudget.fromProperties());
    }

    /**
     * Opens the CUDA backend on device {@code latent.cuda.device} (default 0), its device memory bounded
     * by {@code budget} (which this backend alone should use).
     *
     * @throws BackendUnavailableException when the library is missing or cannot load, or when no
     *     usable device is present; {@link BackendUnavailableException#nativeCode()} carries the
     *     {@code cudaError_t} (for example 35, insufficient driver, or 100, no device)
     */
    public static CudaBackend open(DeviceMemoryBudget budget) throws BackendUnavailableException {
        java.util.Objects.requireNonNull(budget, "budget");
        Library library = Library.INSTANCE;
        if (library.failure != null) {
            BackendUnavailableException f = library.failure;
            // A fresh exception per call (stack trace of this caller), same reason and code.
            throw new BackendUnavailableException(f.getMessage(), f.nativeCode(), f.getCause());
        }
        int[] count = new int[1];
        int code = CudaNative.deviceCount(count);
        if (code != 0) {
            String reason = "no usable CUDA device: cudaGetDeviceCount returned " + code + " ("
                    + CudaNative.errorString(code) + ")";
            // The caller (Backends) decides whether this is worth a warning; here it is detail.
            LOG.debug(reason);
            throw new BackendUnavailableException(reason, code, null);
        }
        if (count[0] <= 0) {
            throw new BackendUnavailableException("no CUDA device: cudaGetDeviceCount = 0", 100, null);
        }
        int device = Integer.getInteger("latent.cuda.device", 0);
        if (device < 0 || device >= count[0]) {
            throw new BackendUnavailableException("CUDA device " + device + " requested by -Dlatent.cuda.device, but "
                    + count[0] + " device(s) present", 101, null);
        }
        byte[] name = new byte[256];
        int[] major = new int[1];
        int[] minor = new int[1];
        int[] sms = new int[1];
        long[] free = new long[1];
        long[] total = new long[1];
        code = CudaNative.deviceInfo(device, name, name.length, major, minor, sms, free, total);
        if (code != 0) {
            throw new BackendUnavailableException("CUDA device " + device + " cannot be queried: "
                    + detail(code), code, null);
        }
        if (major[0] < 8) {
            throw new BackendUnavailableException("CUDA device " + device + " (" + cString(name)
                    + ") has compute capability " + major[0] + "." + minor[0]
                    + "; the kernels are built for 8.0 and newer", 209, null);
        }
        String deviceName = cString(name);
        String description = String.format(Locale.ROOT,
                "CUDA: %s (device %d), compute capability %d.%d, %d SMs, %.1f GiB free of %.1f GiB%s",
                deviceName, device, major[0], minor[0], sms[0], free[0] / 1073741824.0, total[0] / 1073741824.0,
                budget.isUnlimited() ? "" : String.format(Locale.ROOT, ", budget %.2f GiB", budget.limit() / 1073741824.0));
        return new CudaBackend(device, deviceName, description, budget);
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public boolean readsDeviceTokens() {
        return true;
    }

    @Override
    public String description() {
        return description;
    }

    /** The CUDA device this backend uses. */
    public int device() {
        return device;
    }

    /** The device memory budget this backend's matrices reserve from. */
    public DeviceMemoryBudget budget() {
        return budget;
    }

    /** Device bytes of {@code rows} resident rows of dimension {@code d} (values and norm terms). */
    static long residentBytes(long rows, int d) {
        return Math.max(rows * d, 1) * 4L + Math.max(rows, 1) * 4L;
    }

    /** The device's name, for example {@code NVIDIA H100 80GB HBM3}. */
    public String deviceName() {
        return deviceName;
    }

    /**
     * Copies {@code rows} to device memory once and computes their norms there (checking the vector rule
     * on the device).
     *
     * @throws IllegalArgumentException for a row that breaks the vector rule (named), or for more rows
     *     than the kernels' 32-bit row indices address
     * @throws IllegalStateException when the backend is closed, or on a CUDA failure (out of memory, ...)
     */
    @Override
    public ResidentMatrix upload(FloatMatrix rows, Metric metric) {
        checkOpen();
        Checks.upload(rows, metric);
        long reserved = residentBytes(rows.rows(), rows.cols()) + budget.scratchPerMatrix();
        budget.reserve(reserved, "uploading a " + rows.rows() + " x " + rows.cols() + " matrix (with its scratch)");
        long[] handle = new long[1];
        try {
            long[] badRow = new long[1];
            int code = CudaNative.dbCreate(device, rows.pointer(), rows.rows(), rows.cols(), metric.code(), handle, badRow);
            if (code == CudaNative.E_BAD_ROW) {
                throw Vectors.describe(rows, metric, "database", badRow[0]);
            }
            if (code == CudaNative.E_TOO_MANY_ROWS || code == CudaNative.E_INVALID) {
                throw new IllegalArgumentException("cannot upload a " + rows.rows() + " x " + rows.cols()
                        + " matrix to the GPU: " + detail(code));
            }
            check(code, "upload");
            if (budget.scratchPerMatrix() != DeviceMemoryBudget.DEFAULT_SCRATCH) {
                check(CudaNative.dbSetScratchLimit(handle[0], budget.scratchPerMatrix()), "scratch limit");
            }
        } catch (RuntimeException e) {
            if (handle[0] != 0) {
                CudaNative.dbFree(handle[0]);
            }
            budget.release(reserved);
            throw e;
        }
        CudaMatrix m = new CudaMatrix(this, handle[0], rows.rows(), rows.cols(), metric, reserved);
        open.add(m);
        if (closed) {
            // close() raced with this upload: do not leak the device copy.
            m.close();
            checkOpen();
        }
        return m;
    }

    /**
     * Encodes {@code rows} on the host ({@link Sq8#encode}) and holds the 8-bit codes in device memory, searched
     * there by integer kernels with queries quantised to 127 levels: the results equal the Java reference's at
     * 127 levels bit for bit ({@link CudaCodes}). The codes and their room are reserved from the budget.
     *
     * @throws IllegalArgumentException as {@link dev.latent.compute.Backend#uploadCodes}, or for more rows than the
     *     kernels' 32-bit row indices address
     * @throws IllegalStateException when the backend is closed, or on a CUDA failure ({@link DeviceException})
     */
    @Override
    public ResidentCodes uploadCodes(FloatMatrix rows, Metric metric, Sq8 quantizer) {
        checkOpen();
        HostCodes.checkUpload(rows, metric, quantizer);
        CudaCodes codes = CudaCodes.create(this, metric, quantizer);
        openCodes.add(codes);
        if (closed) {
            // close() raced with this upload: do not leak the device memory.
            codes.close();
            checkOpen();
        }
        return HostCodes.filled(codes, rows);
    }

    @Override
    public Assignment assign(ResidentMatrix points, ResidentMatrix targets) {
        Checks.compatible(points, targets, this);
        CudaMatrix p = (CudaMatrix) points;
        CudaMatrix t = (CudaMatrix) targets;
        int n = Math.toIntExact(p.rows());
        int[] labels = new int[n];
        float[] scores = new float[n];
        p.withHandle(ph -> t.withHandle(th -> check(CudaNative.assign(ph, th, labels, scores), "assign")));
        return new Assignment(labels, scores);
    }

    @Override
    public LabelSums accumulate(ResidentMatrix points, int[] labels, int k) {
        CudaMatrix p = of(points);
        Checks.labels(labels, p.rows(), k);
        double[] sums = new double[Math.multiplyExact(k, p.dimension())];
        long[] counts = new long[k];
        p.withHandle(h -> check(CudaNative.accumulate(h, labels, k, sums, counts), "accumulate"));
        return new LabelSums(k, p.dimension(), sums, counts);
    }

    @Override
    public double[] gram(ResidentMatrix points, double[] mean) {
        CudaMatrix p = of(points);
        Checks.mean(mean, p.dimension());
        double[] out = new double[Math.multiplyExact(p.dimension(), p.dimension())];
        p.withHandle(h -> check(CudaNative.gram(h, mean, out), "gram"));
        return out;
    }

    private CudaMatrix of(ResidentMatrix m) {
        if (!(m instanceof CudaMatrix c) || m.backend() != this) {
            throw new IllegalArgumentException("resident matrix " + m + " does not come from this CUDA backend");
        }
        return c;
    }

    /** Marks the backend closed, then closes the databases and the sets of codes still open. Idempotent. */
    @Override
    public void close() {
        closed = true;
        for (CudaMatrix m : open) {
            m.close();
        }
        for (CudaCodes c : openCodes) {
            c.close();
        }
    }

    @Override
    public String toString() {
        return "CudaBackend[" + description + (closed ? ", closed" : "") + "]";
    }

    void forget(CudaMatrix m) {
        open.remove(m);
    }

    void forget(CudaCodes c) {
        openCodes.remove(c);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("CudaBackend is closed");
        }
    }

    /** Status code, its text, and the native detail of the last failure on this thread. */
    static String detail(int code) {
        String last = CudaNative.lastError();
        return code + " (" + CudaNative.errorString(code) + ")" + (last == null || last.isEmpty() ? "" : ": " + last);
    }

    /** Throws for a failed native call that is not the caller's fault. */
    static void check(int code, String what) {
        if (code == CudaNative.E_SCRATCH) {
            throw new DeviceException("cuda", code, "CUDA " + what + " failed: " + detail(code) + " (raise "
                    + DeviceMemoryBudget.SCRATCH_PROPERTY + " or the budget's scratch per matrix)");
        }
        if (code != 0) {
            throw new DeviceException("cuda", code, "CUDA " + what + " failed: " + detail(code));
        }
    }

    static String cString(byte[] bytes) {
        int n = 0;
        while (n < bytes.length && bytes[n] != 0) {
            n++;
        }
        return new String(bytes, 0, n, StandardCharsets.UTF_8);
    }
}
