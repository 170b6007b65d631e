package dev.latent.compute.cpu;

import dev.latent.core.FloatMatrix;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * Float32 rows read straight from a file through the page cache instead of copied into memory: the rows an
 * index keeps only to re-rank a few candidates per query need not stay resident (the kernel reads the pages
 * a search touches and may drop them again). The mapping is private: writing a row (a removal moving the last
 * row into a hole) changes the process's copy of that page, never the file. Uses the native CPU library's
 * {@code mmap}; where it cannot load, or on a big-endian platform, there is no mapping and callers read.
 */
public final class MappedRows {
    private MappedRows() {}

    /**
     * The {@code rows × cols} little-endian float32 matrix at byte {@code offset} of {@code file}, mapped; closing
     * the matrix unmaps it. Null when mapping is not available here (the caller reads the rows instead).
     *
     * @throws IOException when the file cannot be mapped
     */
    public static FloatMatrix map(Path file, long offset, long rows, int cols) throws IOException {
        if (rows <= 0 || ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            return null;
        }
        try {
            CpuNative.load();
        } catch (UnsatisfiedLinkError e) {
            return null;
        }
        long page = CpuNative.latent_cpu_page_size();
        long base = offset - offset % page;
        long length = offset - base + Math.multiplyExact(Math.multiplyExact(rows, (long) cols), 4L);
        long[] address = new long[1];
        int code = CpuNative.latent_cpu_map_file(file.toAbsolutePath().toString(), base, length, address);
        if (code != CpuNative.OK) {
            throw new IOException(file + ": cannot map its " + rows + " x " + cols + " rows (status " + code + ")");
        }
        long start = address[0];
        return FloatMatrix.wrap(start + (offset - base), rows, cols, () -> CpuNative.latent_cpu_unmap(start, length));
    }
}
