package dev.latent.compute.cuda;

import dev.latent.compute.DeviceException;
import dev.latent.compute.DeviceMemoryBudget;
import dev.latent.compute.HostCodes;
import dev.latent.compute.Sq8;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.core.Vectors;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.bytedeco.javacpp.FloatPointer;

/**
 * 8-bit codes in CUDA device memory, made by {@link CudaBackend#uploadCodes}. Rows are encoded on the host by
 * {@link Sq8#encode} and copied to the device; queries are quantised on the host by {@link Sq8#quantise} with
 * Q = {@value #LEVELS}; the device computes the exact int32 sums ({@code dp4a}), the scores in the float steps of
 * {@link Sq8#score} and the top-k (the kernels of {@code native/cuda/latent_sq8.cuh}, then the float path's merge).
 * So the results, ids and score bits, ties to the lower row, equal the Java reference's at 127 query levels
 * ({@code JavaBackend.uploadCodes(rows, metric, quantizer, 127)}). A k above {@link CudaNative#MAX_K} takes the
 * device's score blocks and a sort on the host ({@link LargeKSearch}), with the same results.
 *
 * <p>Owns one native handle, freed exactly once by {@link #close()}. Device memory is reserved from the backend's
 * {@link DeviceMemoryBudget} before it is allocated: the scratch allowance at creation, the codes (and, for squared
 * L2, the decoded squared norms) as the room grows by doubling on append. A device failure throws
 * {@link DeviceException}.
 *
 * <p>Thread safety as {@link dev.latent.compute.ResidentCodes} states it ({@link HostCodes} holds the lock): searches
 * run concurrently (serialised natively on the handle's stream); {@link #append}, {@link #refresh} and
 * {@link #close()} wait for searches in flight and hold new ones back; use after close throws
 * {@link IllegalStateException}.
 */
final class CudaCodes extends HostCodes {
    /** Q, the query levels of the device kernels (int8 query codes; the reference's default). */
    static final int LEVELS = 127;
    /** Rows the kernels' 32-bit row indices address. */
    static final long MAX_ROWS = 0x7FFF_FFFEL;
    /** Bytes of codes encoded and copied per native call (appends and refreshes go in pieces of this). */
    private static final long PIECE_BYTES = 16L << 20;
    /** Queries quantised per native call: at most this many, and at most {@link #PIECE_BYTES} of their codes. */
    private static final int QUERY_BATCH = 8192;

    private final CudaBackend cuda;
    private final int stride;
    private final int rowBytes;   // device bytes a row: its codes, and its norm under squared L2
    private long handle;          // 0 once closed; changed under HostCodes' write lock
    private long capacity;        // rows the device allocation holds; guarded by the write lock
    private long reserved;        // bytes reserved from the budget; guarded by the write lock

    private CudaCodes(CudaBackend cuda, Metric metric, Sq8 quantizer, long handle, long reserved) {
        super(cuda, metric, quantizer);
        this.cuda = cuda;
        this.stride = quantizer.stride();
        this.rowBytes = stride + (metric == Metric.L2 ? 4 : 0);
        this.handle = handle;
        this.reserved = reserved;
    }

    /** An empty set of codes on the backend's device, its scratch allowance reserved from the budget. */
    static CudaCodes create(CudaBackend cuda, Metric metric, Sq8 quantizer) {
        DeviceMemoryBudget budget = cuda.budget();
        long scratch = budget.scratchPerMatrix();
        budget.reserve(scratch, "8-bit codes of dimension " + quantizer.dimension() + " (their scratch)");
        long[] h = new long[1];
        try {
            CudaBackend.check(CudaNative.sq8Create(cuda.device(), quantizer.dimension(), metric.code(), 0, h),
                    "creation of 8-bit codes");
            if (scratch != DeviceMemoryBudget.DEFAULT_SCRATCH) {
                CudaBackend.check(CudaNative.dbSetScratchLimit(h[0], scratch), "scratch limit");
            }
        } catch (RuntimeException e) {
            if (h[0] != 0) {
                CudaNative.dbFree(h[0]);
            }
            budget.release(scratch);
            throw e;
        }
        return new CudaCodes(cuda, metric, quantizer, h[0], scratch);
    }

    @Override
    public int queryLevels() {
        return LEVELS;
    }

    @Override
    protected void add(FloatMatrix newRows, long from) {
        long n = newRows.rows();
        long total = from + n;
        if (total > MAX_ROWS) {
            throw new IllegalArgumentException("cannot hold " + total + " rows of 8-bit codes on the GPU: at most "
                    + MAX_ROWS + " (32-bit row indices)");
        }
        Vectors.check(newRows, metric, "database", from);   // before anything is copied: nothing appended
        if (total > capacity) {
            grow(Math.max(total, 2 * capacity), n, from);
        }
        try {
            eachPiece(n, (r0, m, codes, norms) -> {
                encode(newRows, r0, m, codes, norms);
                CudaBackend.check(CudaNative.sq8Append(handle, codes, norms, m), "append of 8-bit codes");
            });
        } catch (RuntimeException | Error e) {
            // Drop the pieces copied so far: the set keeps its `from` rows.
            CudaNative.sq8Refresh(handle, null, null, null, 0, from);
            throw e;
        }
    }

    /** Room for {@code rows} rows on the device, the growth reserved from the budget first. */
    private void grow(long rows, long adding, long held) {
        long growth = (rows - capacity) * rowBytes;
        cuda.budget().reserve(growth, "appending " + adding + " rows to " + held + " rows of 8-bit codes");
        int code = CudaNative.sq8Reserve(handle, rows);
        if (code == 0 || nativeGrew()) {
            capacity = rows;     // a failed growth may still have grown a buffer: keep counting it
            reserved += growth;
        } else {
            cuda.budget().release(growth);
        }
        CudaBackend.check(code, "room for 8-bit codes");
    }

    /** Whether the native allocation holds more than {@link #capacity} rows' bytes (codes and norms, not scratch). */
    private boolean nativeGrew() {
        long[] all = new long[1];
        long[] scratch = new long[1];
        if (CudaNative.dbDeviceBytes(handle, all) != 0 || CudaNative.dbScratchBytes(handle, scratch) != 0) {
            return true;    // unknown: count the growth rather than under-count device memory
        }
        return all[0] - scratch[0] > capacity * rowBytes;
    }

    @Override
    protected void patch(FloatMatrix all, long[] changed) {
        for (long r : changed) {
            try (FloatMatrix one = all.rowsView(r, r + 1)) {
                Vectors.check(one, metric, "database", r);
            }
        }
        if (changed.length == 0) {
            CudaBackend.check(CudaNative.sq8Refresh(handle, null, null, null, 0, all.rows()), "refresh of 8-bit codes");
            return;
        }
        eachPiece(changed.length, (c0, m, codes, norms) -> {
            int at = (int) c0;
            IntStream.range(0, m).parallel().forEach(i -> {
                float norm = quantizer.encode(all.getRow(changed[at + i]), codes, i * stride);
                if (norms != null) {
                    norms[i] = norm;
                }
            });
            long[] rows = Arrays.copyOfRange(changed, at, at + m);
            CudaBackend.check(CudaNative.sq8Refresh(handle, codes, norms, rows, m, all.rows()), "refresh of 8-bit codes");
        });
    }

    /** What is done with one piece: items {@code [first, first + count)} in {@code codes} and {@code norms}. */
    private interface Piece {
        void run(long first, int count, byte[] codes, float[] norms);
    }

    /** Runs {@code piece} over {@code n} items in pieces of at most {@link #PIECE_BYTES} of codes. */
    private void eachPiece(long n, Piece piece) {
        int per = (int) Math.max(1, Math.min(n, PIECE_BYTES / stride));
        byte[] codes = new byte[per * stride];
        float[] norms = metric == Metric.L2 ? new float[per] : null;
        for (long first = 0; first < n; first += per) {
            piece.run(first, (int) Math.min(per, n - first), codes, norms);
        }
    }

    /** Rows {@code [r0, r0 + m)} of {@code rows} encoded into codes[0 ..] (and their norms), in parallel. */
    private void encode(FloatMatrix rows, long r0, int m, byte[] codes, float[] norms) {
        IntStream.range(0, m).parallel().forEach(i -> {
            float norm = quantizer.encode(rows.getRow(r0 + i), codes, i * stride);
            if (norms != null) {
                norms[i] = norm;
            }
        });
    }

    /** Queries quantised for the device: codes (stride bytes each, zero past the dimension) and 3 terms each. */
    private record Quantised(byte[] codes, float[] terms) {
    }

    /** Queries {@code [q0, q1)} quantised with {@link #LEVELS} levels, in parallel. */
    private Quantised quantise(FloatMatrix queries, int q0, int q1) {
        int b = q1 - q0;
        byte[] codes = new byte[b * stride];
        float[] terms = new float[3 * b];
        IntStream.range(0, b).parallel().forEach(i -> {
            Sq8.Query q = quantizer.quantise(queries.getRow(q0 + i), LEVELS);
            int[] c = q.codes();
            for (int t = 0; t < c.length; t++) {
                codes[i * stride + t] = (byte) c[t];
            }
            terms[3 * i] = q.step();
            terms[3 * i + 1] = q.offset();
            terms[3 * i + 2] = q.squaredNorm();
        });
        return new Quantised(codes, terms);
    }

    private int queryBatch() {
        return (int) Math.max(1, Math.min(QUERY_BATCH, PIECE_BYTES / stride));
    }

    @Override
    protected Neighbors topK(FloatMatrix queries, long rows, int count, long[] offsets, long[] lists) {
        int nq = (int) queries.rows();
        long[] ids = new long[nq * count];
        float[] scores = new float[nq * count];
        if (count == 0 || nq == 0) {
            return new Neighbors(nq, count, ids, scores, metric);
        }
        if (count > CudaNative.MAX_K) {
            return LargeKSearch.search(scoreBlock(queries, rows), metric, nq, count, rows, null, offsets, lists);
        }
        int batch = queryBatch();
        for (int q0 = 0; q0 < nq; q0 += batch) {
            int q1 = Math.min(nq, q0 + batch);
            int b = q1 - q0;
            Quantised qz = quantise(queries, q0, q1);
            long[] bIds = b == nq ? ids : new long[b * count];
            float[] bScores = b == nq ? scores : new float[b * count];
            if (offsets == null) {
                int[] outCount = new int[1];
                CudaBackend.check(CudaNative.sq8Topk(handle, qz.codes(), qz.terms(), b, count, bIds, bScores, outCount),
                        "8-bit top-k");
                if (outCount[0] != count) {
                    throw new DeviceException("cuda", DeviceException.NO_CODE, "CUDA 8-bit top-k returned " + outCount[0]
                            + " results per query, expected " + count);
                }
            } else {
                long[] off = offsets;
                long[] sub = lists;
                if (b != nq) {
                    long base = offsets[q0];
                    off = new long[b + 1];
                    for (int i = 0; i <= b; i++) {
                        off[i] = offsets[q0 + i] - base;
                    }
                    sub = Arrays.copyOfRange(lists, (int) base, (int) offsets[q1]);
                }
                CudaBackend.check(CudaNative.sq8TopkLists(handle, qz.codes(), qz.terms(), b, count, off, sub, bIds,
                        bScores), "8-bit top-k over candidate lists");
            }
            if (b != nq) {
                System.arraycopy(bIds, 0, ids, q0 * count, b * count);
                System.arraycopy(bScores, 0, scores, q0 * count, b * count);
            }
        }
        return new Neighbors(nq, count, ids, scores, metric);
    }

    /** The device's score blocks of the codes for {@link LargeKSearch}: queries quantised as for the top-k. */
    private LargeKSearch.ScoreBlocks scoreBlock(FloatMatrix queries, long rows) {
        return (from, n, out) -> {
            Quantised qz = quantise(queries, from, from + n);
            try (FloatPointer p = out.pointer()) {
                CudaBackend.check(CudaNative.sq8Distances(handle, qz.codes(), qz.terms(), n, 0, rows, p),
                        "8-bit score block");
            }
        };
    }

    @Override
    protected long heldBytes() {
        return capacity * rowBytes;
    }

    @Override
    protected void release() {
        long h = handle;
        long held = reserved;
        handle = 0;
        reserved = 0;
        capacity = 0;
        cuda.forget(this);
        cuda.budget().release(held);
        CudaBackend.check(CudaNative.dbFree(h), "free of 8-bit codes");
    }
}
