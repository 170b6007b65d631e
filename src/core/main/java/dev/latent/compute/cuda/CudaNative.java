package dev.latent.compute.cuda;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI binding of the CUDA kernels' C API ({@code native/cuda/latent_cuda.h}) through the run-time
 * loader {@code native/jni/latent_cuda_loader.h}. The JNI library is compiled by g++ without CUDA
 * and links neither CUDA nor {@code liblatentcuda.so}: {@link #load} opens that library with
 * {@code dlopen} from a path chosen by Java, and every other call returns
 * {@link #E_NOT_LOADED} until it succeeded.
 *
 * <p>Status codes: 0 success, positive {@code cudaError_t}, negative Latent codes (see the
 * constants); {@link #errorString(int)} names all of them. Use {@link CudaBackend} rather than this
 * class. Every entry of the C API's lists ({@code native/cuda/latent_cuda_api.h}) has a declaration
 * here (checked by {@code CudaNativeTest}). Thread safety is that of the C API: any thread may call; calls on one
 * database handle are serialised natively; {@link #dbFree} must not race with other calls on the handle.
 */
@Platform(include = {"latent_cuda_loader.h"})
public final class CudaNative {
    static {
        Loader.load();
    }

    /** ABI version this binding was compiled against (LATENT_CUDA_ABI_VERSION). */
    public static final int ABI_VERSION = 4;
    /** Largest supported k (after clamping k to the candidate count). */
    public static final int MAX_K = 2048;

    public static final int E_INVALID = -1;
    /** A database row is not finite, or zero under cosine (the row comes back through badRow). */
    public static final int E_BAD_ROW = -2;
    public static final int E_TOO_MANY_ROWS = -3;
    public static final int E_K_TOO_LARGE = -4;
    public static final int E_HOST_ALLOC = -5;
    /** A query row breaks the vector rule (the row comes back through badQuery). */
    public static final int E_BAD_QUERY = -6;
    /** A range search found more hits than allowed. */
    public static final int E_TOO_MANY = -7;
    /** The handle's scratch limit is too small for one query of the call. */
    public static final int E_SCRATCH = -8;
    public static final int E_NOT_LOADED = -100;
    public static final int E_DLOPEN = -101;
    public static final int E_ABI = -102;
    public static final int E_OTHER_PATH = -103;

    private CudaNative() {
    }

    /** Opens liblatentcuda.so at {@code path}; on failure writes a NUL-terminated reason into {@code error}. */
    @Name("latent_cudal_load")
    public static native int load(String path, @Cast("char*") byte[] error, int capacity);

    @Name("latent_cudal_is_loaded")
    public static native int isLoaded();

    @Name("latent_cudal_abi_version")
    public static native int abiVersion();

    @Name("latent_cudal_error_string")
    public static native @Cast("const char*") String errorString(int code);

    /** Detail of the last failure on this thread (call, file:line, code and text). */
    @Name("latent_cudal_last_error")
    public static native @Cast("const char*") String lastError();

    @Name("latent_cudal_versions")
    public static native int versions(int[] runtimeVersion, int[] driverVersion);

    @Name("latent_cudal_device_count")
    public static native int deviceCount(int[] count);

    @Name("latent_cudal_device_info")
    public static native int deviceInfo(int device, @Cast("char*") byte[] name, int nameCapacity, int[] major,
            int[] minor, int[] multiprocessors, @Cast("long long*") long[] freeBytes,
            @Cast("long long*") long[] totalBytes);

    @Name("latent_cudal_db_create")
    public static native int dbCreate(int device, @Cast("const float*") FloatPointer rows, long n, int d,
            int metric, @Cast("long long*") long[] handle, @Cast("long long*") long[] badRow);

    @Name("latent_cudal_db_append")
    public static native int dbAppend(long handle, @Cast("const float*") FloatPointer rows, long n,
            @Cast("long long*") long[] badRow);

    @Name("latent_cudal_db_refresh")
    public static native int dbRefresh(long handle, @Cast("const float*") FloatPointer rows,
            @Cast("const long long*") long[] changed, long count, long newN);

    @Name("latent_cudal_db_free")
    public static native int dbFree(long handle);

    @Name("latent_cudal_db_device_bytes")
    public static native int dbDeviceBytes(long handle, @Cast("long long*") long[] bytes);

    @Name("latent_cudal_db_set_scratch_limit")
    public static native int dbSetScratchLimit(long handle, long bytes);

    @Name("latent_cudal_db_scratch_bytes")
    public static native int dbScratchBytes(long handle, @Cast("long long*") long[] bytes);

    @Name("latent_cudal_distances")
    public static native int distances(long handle, @Cast("const float*") FloatPointer queries, int q, int d,
            long fromRow, long toRow, @Cast("float*") FloatPointer out, @Cast("long long*") long[] badQuery);

    @Name("latent_cudal_topk")
    public static native int topk(long handle, @Cast("const float*") FloatPointer queries, int q, int d, int k,
            @Cast("const long long*") long[] subset, long subsetCount, @Cast("long long*") long[] outIds,
            float[] outScores, int[] outCount, @Cast("long long*") long[] badQuery);

    @Name("latent_cudal_topk_lists")
    public static native int topkLists(long handle, @Cast("const float*") FloatPointer queries, int q, int d,
            int count, @Cast("const long long*") long[] offsets, @Cast("const long long*") long[] rows,
            @Cast("long long*") long[] outIds, float[] outScores, @Cast("long long*") long[] badQuery);

    @Name("latent_cudal_range")
    public static native int range(long handle, @Cast("const float*") FloatPointer queries, int q, int d,
            float radius, long maxResults, @Cast("const long long*") long[] subset, long subsetCount,
            @Cast("long long*") long[] result, @Cast("long long*") long[] total,
            @Cast("long long*") long[] overQuery, @Cast("long long*") long[] badQuery);

    @Name("latent_cudal_range_fetch")
    public static native int rangeFetch(long result, @Cast("long long*") long[] offsets,
            @Cast("long long*") long[] rows, float[] scores);

    @Name("latent_cudal_range_free")
    public static native int rangeFree(long result);

    /** Pooling codes of {@link #topkPooled}. */
    public static final int POOL_MEAN = 0;
    public static final int POOL_FIRST = 1;

    @Name("latent_cudal_device_alloc")
    public static native int deviceAlloc(int device, long bytes, @Cast("long long*") long[] address);

    @Name("latent_cudal_device_free")
    public static native int deviceFree(long address);

    @Name("latent_cudal_device_copy")
    public static native int deviceCopy(long address, @Cast("void*") Pointer host, long bytes, int toDevice);

    @Name("latent_cudal_topk_pooled")
    public static native int topkPooled(long handle, long tokens, @Cast("const long long*") long[] mask, int q, int t,
            int h, int pooling, int normalize, int k, @Cast("long long*") long[] outIds, float[] outScores,
            int[] outCount, @Cast("long long*") long[] badQuery);

    @Name("latent_cudal_assign")
    public static native int assign(long points, long targets, int[] labels, float[] scores);

    @Name("latent_cudal_accumulate")
    public static native int accumulate(long points, @Cast("const int*") int[] labels, int k, double[] sums,
            @Cast("long long*") long[] counts);

    @Name("latent_cudal_gram")
    public static native int gram(long points, @Cast("const double*") double[] mean, double[] out);

    // 8-bit codes (latent_cuda_sq8_*): rows of 4 * ceil(d / 4) unsigned bytes, queries of as many signed bytes
    // with 3 terms each (step, offset, squared norm); see native/cuda/latent_cuda_api.h. A handle of codes is
    // freed with dbFree and takes dbDeviceBytes, dbSetScratchLimit and dbScratchBytes, no other float call.

    @Name("latent_cudal_sq8_create")
    public static native int sq8Create(int device, int d, int metric, long capacity, @Cast("long long*") long[] handle);

    @Name("latent_cudal_sq8_reserve")
    public static native int sq8Reserve(long handle, long rows);

    @Name("latent_cudal_sq8_append")
    public static native int sq8Append(long handle, @Cast("const unsigned char*") byte[] codes,
            @Cast("const float*") float[] norms, long n);

    @Name("latent_cudal_sq8_refresh")
    public static native int sq8Refresh(long handle, @Cast("const unsigned char*") byte[] codes,
            @Cast("const float*") float[] norms, @Cast("const long long*") long[] changed, long count, long newN);

    @Name("latent_cudal_sq8_topk")
    public static native int sq8Topk(long handle, @Cast("const signed char*") byte[] queries,
            @Cast("const float*") float[] terms, int q, int k, @Cast("long long*") long[] outIds, float[] outScores,
            int[] outCount);

    @Name("latent_cudal_sq8_topk_lists")
    public static native int sq8TopkLists(long handle, @Cast("const signed char*") byte[] queries,
            @Cast("const float*") float[] terms, int q, int count, @Cast("const long long*") long[] offsets,
            @Cast("const long long*") long[] rows, @Cast("long long*") long[] outIds, float[] outScores);

    @Name("latent_cudal_sq8_distances")
    public static native int sq8Distances(long handle, @Cast("const signed char*") byte[] queries,
            @Cast("const float*") float[] terms, int q, long fromRow, long toRow, @Cast("float*") FloatPointer out);
}
