package dev.latent.compute.cpu;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.NoException;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JavaCPP binding of the native CPU kernels ({@code native/cpu/latent_cpu.h}); see that header for
 * the meaning of every argument. The static CPU library is linked into this class's JNI library,
 * which the build packs into the jar under {@code dev/latent/compute/cpu/linux-x86_64/}.
 *
 * <p>Internal: use {@link CpuBackend}, which checks arguments before calling
 * here. Loading happens in {@link #load()}, never as a side effect of referencing the class.
 */
@Platform(include = "latent_cpu.h", link = "latentcpu")
@NoException
public final class CpuNative {
    /** The ABI version these declarations match; compared with {@link #latent_cpu_abi_version()}. */
    public static final int ABI_VERSION = 6;

    public static final int ISA_SCALAR = 0;
    public static final int ISA_AVX2 = 1;
    public static final int ISA_AVX512 = 2;

    public static final int OK = 0;
    public static final int EINVAL = -1;
    public static final int ENOMEM = -2;
    public static final int EISA = -3;
    public static final int EISA_NAME = -4;
    public static final int EINTERNAL = -5;
    public static final int ETOO_MANY = -6;

    private static volatile boolean loaded;

    private CpuNative() {
    }

    /**
     * Loads the JNI library (extracting it from the jar on first use).
     *
     * @throws UnsatisfiedLinkError when the library is missing or does not load on this platform
     */
    public static synchronized void load() {
        if (!loaded) {
            Loader.load(CpuNative.class);
            loaded = true;
        }
    }

    public static native int latent_cpu_abi_version();

    public static native int latent_cpu_init();

    public static native int latent_cpu_isa_supported(int isa);

    public static native int latent_cpu_isa_best();

    public static native int latent_cpu_isa();

    public static native int latent_cpu_set_isa(int isa);

    public static native @Cast("const char*") String latent_cpu_isa_name(int isa);

    public static native int latent_cpu_threads();

    public static native void latent_cpu_set_threads(int threads);

    public static native @Cast("int64_t") long latent_cpu_row_norms(
            @Const FloatPointer x, @Cast("int64_t") long n, int d, int kind, FloatPointer out);

    public static native int latent_cpu_distances(
            @Const FloatPointer q, @Const FloatPointer qaux, @Cast("int64_t") long nq,
            @Const FloatPointer x, @Const FloatPointer xaux, @Cast("int64_t") long nx,
            int d, int metric, FloatPointer out);

    public static native int latent_cpu_topk(
            @Const FloatPointer q, @Const FloatPointer qaux, @Cast("int64_t") long nq,
            @Const FloatPointer x, @Const FloatPointer xaux, @Cast("int64_t") long nx,
            int d, int metric, @Cast("const int64_t*") LongPointer rows, @Cast("int64_t") long nrows,
            int k, @Cast("int64_t*") long[] ids, float[] scores);

    public static native int latent_cpu_topk_lists(
            @Const FloatPointer q, @Const FloatPointer qaux, @Cast("int64_t") long nq,
            @Const FloatPointer x, @Const FloatPointer xaux, @Cast("int64_t") long nx,
            int d, int metric, @Cast("const int64_t*") long[] offsets, @Cast("const int64_t*") long[] rows,
            int count, @Cast("int64_t*") long[] ids, float[] scores);

    public static native int latent_cpu_topk_grouped(
            @Const FloatPointer q, @Const FloatPointer qaux, @Cast("int64_t") long nq,
            @Const FloatPointer x, @Const FloatPointer xaux, @Cast("int64_t") long nx,
            int d, int metric, @Cast("const int64_t*") long[] listOffsets, @Cast("const int64_t*") long[] listRows,
            @Cast("int64_t") long nlists, @Cast("const int32_t*") int[] probes, int nprobe,
            int count, @Cast("int64_t*") long[] ids, float[] scores);

    public static native int latent_cpu_range(
            @Const FloatPointer q, @Const FloatPointer qaux, @Cast("int64_t") long nq,
            @Const FloatPointer x, @Const FloatPointer xaux, @Cast("int64_t") long nx,
            int d, int metric, @Cast("const int64_t*") LongPointer rows, @Cast("int64_t") long nrows,
            float radius, @Cast("int64_t") long maxResults, @Cast("int64_t*") long[] result,
            @Cast("int64_t*") long[] total, @Cast("int64_t*") long[] overQuery);

    public static native int latent_cpu_range_fetch(@Cast("int64_t") long result, @Cast("int64_t*") long[] offsets,
            @Cast("int64_t*") long[] rows, float[] scores);

    public static native void latent_cpu_range_free(@Cast("int64_t") long result);

    public static native int latent_cpu_accumulate(@Const FloatPointer x, @Cast("int64_t") long n, int d,
            @Cast("const int32_t*") int[] labels, int k, double[] sums, @Cast("int64_t*") long[] counts);

    public static native int latent_cpu_gram(@Const FloatPointer x, @Cast("int64_t") long n, int d,
            @Cast("const double*") double[] mean, double[] out);

    /** {@code LATENT_CPU_SQ8_MAX_D}: the largest dimension of 8-bit codes. */
    public static final int SQ8_MAX_D = 65536;

    public static native int latent_cpu_sq8_query_levels();

    public static native int latent_cpu_map_file(String path, @Cast("int64_t") long offset, @Cast("int64_t") long length,
            @Cast("int64_t*") long[] address);

    public static native int latent_cpu_unmap(@Cast("int64_t") long address, @Cast("int64_t") long length);

    public static native @Cast("int64_t") long latent_cpu_page_size();

    public static native @Cast("int64_t") long latent_cpu_sq8_encode(@Const FloatPointer x, @Cast("int64_t") long n,
            int d, int metric, @Cast("const float*") float[] vmin, @Cast("const float*") float[] vscale,
            @Cast("uint8_t*") BytePointer codes, FloatPointer xaux);

    public static native int latent_cpu_sq8_topk(@Const FloatPointer q, @Cast("int64_t") long nq,
            @Cast("const uint8_t*") BytePointer codes, @Const FloatPointer xaux, @Cast("int64_t") long nx, int d,
            int metric, @Cast("const float*") float[] vmin, @Cast("const float*") float[] vscale,
            @Cast("const int64_t*") long[] offsets, @Cast("const int64_t*") long[] rows, int count,
            @Cast("int64_t*") long[] ids, float[] scores);

    public static native int latent_cpu_sq8_topk_grouped(@Const FloatPointer q, @Cast("int64_t") long nq,
            @Cast("const uint8_t*") BytePointer codes, @Const FloatPointer xaux, @Cast("int64_t") long nx, int d,
            int metric, @Cast("const float*") float[] vmin, @Cast("const float*") float[] vscale,
            @Cast("const int64_t*") long[] listOffsets, @Cast("const int64_t*") long[] listRows,
            @Cast("int64_t") long nlists, @Cast("const int32_t*") int[] probes, int nprobe, int count,
            @Cast("int64_t*") long[] ids, float[] scores);
}
