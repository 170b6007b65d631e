package dev.latent.compute.cpu;

import dev.latent.compute.Backend;
import dev.latent.compute.HostCodes;
import dev.latent.compute.Sq8;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * 8-bit codes in native memory, encoded and searched by {@code latent_cpu_sq8_encode} and
 * {@code latent_cpu_sq8_topk} / {@code latent_cpu_sq8_topk_grouped} (the integer kernels of the level in use: AVX-512 VNNI, AVX2 or scalar).
 * Owns two allocations, the codes ({@link Sq8#stride()} bytes per row) and, for squared L2, {@code |x̂|²}
 * per row; both grow by doubling on append and are freed on close.
 */
final class CpuCodes extends HostCodes {
    private final int stride;
    private final float[] vmin;
    private final float[] vscale;
    private long capacity;       // rows the allocations hold
    private BytePointer codes;
    private FloatPointer norms;  // |x̂|² per row (squared L2), else null

    CpuCodes(Backend backend, Metric metric, Sq8 quantizer) {
        super(backend, metric, quantizer);
        this.stride = quantizer.stride();
        this.vmin = quantizer.vmin();
        this.vscale = quantizer.vscale();
    }

    @Override
    public int queryLevels() {
        return CpuNative.latent_cpu_sq8_query_levels();
    }

    @Override
    protected void add(FloatMatrix newRows, long from) {
        long total = from + newRows.rows();
        if (total > capacity) {
            grow(Math.max(total, 2 * capacity));
        }
        encode(newRows, from);
    }

    /** Moves the rows held to allocations of {@code rows} rows. */
    private void grow(long rows) {
        BytePointer c = new BytePointer(Math.multiplyExact(rows, (long) stride));
        FloatPointer n = null;
        try {
            n = metric == Metric.L2 ? new FloatPointer(rows) : null;
        } catch (RuntimeException | Error e) {
            c.close();
            throw e;
        }
        long held = rows();
        if (codes != null) {
            Pointer.memcpy(c, codes, held * stride);
            codes.close();
        }
        if (norms != null) {
            Pointer.memcpy(n, norms, held * 4);
            norms.close();
        }
        codes = c;
        norms = n;
        capacity = rows;
    }

    /** Encodes the rows of {@code m} as rows {@code from ...}; throws naming the first bad row (codes then undefined). */
    private void encode(FloatMatrix m, long from) {
        try (FloatPointer x = m.pointer();
             BytePointer at = new BytePointer(CpuBackend.view(codes.address() + from * stride));
             FloatPointer aux = norms == null ? null : new FloatPointer(CpuBackend.view(norms.address() + from * 4))) {
            long bad = CpuNative.latent_cpu_sq8_encode(x, m.rows(), m.cols(), metric.code(), vmin, vscale, at, aux);
            if (bad < -1) {
                CpuBackend.check((int) (bad + 1), "8-bit encoding");
            }
            if (bad >= 0) {
                throw badRow(m, bad, from);
            }
        }
    }

    @Override
    protected void patch(FloatMatrix all, long[] changed) {
        for (long r : changed) {
            encode(all.rowsView(r, r + 1), r);
        }
    }

    @Override
    protected Neighbors topK(FloatMatrix queries, long rows, int count, long[] offsets, long[] lists) {
        int nq = (int) queries.rows();
        long[] ids = new long[nq * count];
        float[] scores = new float[nq * count];
        if (count > 0 && nq > 0) {
            try (FloatPointer q = queries.pointer()) {
                CpuBackend.check(CpuNative.latent_cpu_sq8_topk(q, nq, codes, norms, rows, quantizer.dimension(),
                        metric.code(), vmin, vscale, offsets, lists, count, ids, scores), "8-bit top-k");
            }
        }
        return new Neighbors(nq, count, ids, scores, metric);
    }

    @Override
    protected Neighbors topKGrouped(FloatMatrix queries, long rows, int count, long[] listOffsets, long[] listRows,
            int[] probes, int nprobe) {
        int nq = (int) queries.rows();
        long[] ids = new long[nq * count];
        float[] scores = new float[nq * count];
        if (count > 0 && nq > 0) {
            try (FloatPointer q = queries.pointer()) {
                CpuBackend.check(CpuNative.latent_cpu_sq8_topk_grouped(q, nq, codes, norms, rows,
                        quantizer.dimension(), metric.code(), vmin, vscale, listOffsets, listRows,
                        listOffsets.length - 1, probes, nprobe, count, ids, scores), "8-bit grouped top-k");
            }
        }
        return new Neighbors(nq, count, ids, scores, metric);
    }

    @Override
    protected long heldBytes() {
        return capacity * stride + (norms == null ? 0 : capacity * 4);
    }

    @Override
    protected void release() {
        if (codes != null) {
            codes.close();
        }
        if (norms != null) {
            norms.close();
        }
        codes = null;
        norms = null;
        capacity = 0;
    }
}
