package dev.latent.bench;

import dev.latent.core.FloatMatrix;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Deterministic benchmark data that other programs can rebuild bit for bit from a seed, without
 * files: {@code bench_torch.py} builds the same matrices on the GPU with PyTorch integer ops, so
 * both sides of a comparison search the same data.
 *
 * <p>The definition (all arithmetic modulo 2<sup>64</sup>): with {@code G = 0x9E3779B97F4A7C15}
 * and {@code mix} the SplitMix64 finaliser, matrix {@code stream} of seed {@code s} has key
 * {@code K = mix(s + G·(stream + 1))}, and its element {@code i} (row-major, from 0) is
 * {@code ((mix(K + G·(i + 1)) >>> 40) − 2^23) / 2^23}: 24 random bits as a float32 in [−1, 1),
 * exactly representable. {@code mix(K + G·(i + 1))} is the (i+1)-th output of SplitMix64 seeded
 * with K. Stream 0 is the database, stream 1 the queries (a Q-query batch is their first Q rows).
 *
 * <p>Stateless and thread-safe.
 */
public final class BenchData {
    /** SplitMix64's increment, the golden-ratio constant. */
    static final long GOLDEN = 0x9E3779B97F4A7C15L;
    /** Stream of the database rows. */
    public static final int DATABASE = 0;
    /** Stream of the query rows. */
    public static final int QUERIES = 1;

    private BenchData() {
    }

    /** The SplitMix64 output function (Stafford's variant 13). */
    public static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The key of matrix {@code stream} under {@code seed}. */
    public static long key(long seed, int stream) {
        return mix(seed + GOLDEN * (stream + 1L));
    }

    /** Element {@code index} (row-major) of the matrix with key {@code key}. */
    public static float value(long key, long index) {
        long bits = mix(key + GOLDEN * (index + 1)) >>> 40;
        return (bits - (1 << 23)) * 0x1p-23f;
    }

    /**
     * A new {@code rows × d} matrix of stream {@code stream} under {@code seed}, filled by
     * {@code threads} threads. The caller owns (closes) it.
     */
    public static FloatMatrix matrix(long rows, int d, long seed, int stream, int threads) {
        FloatMatrix m = FloatMatrix.allocate(rows, d);
        long key = key(seed, stream);
        int parts = (int) Math.max(1, Math.min(threads, rows / 64 + 1));
        ExecutorService pool = Executors.newFixedThreadPool(parts, r -> {
            Thread t = new Thread(r, "bench-data");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int p = 0; p < parts; p++) {
                long from = rows * p / parts;
                long to = rows * (p + 1) / parts;
                done.add(pool.submit(() -> fill(m, key, from, to)));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            m.close();
            throw new IllegalStateException("interrupted while generating benchmark data", e);
        } catch (ExecutionException e) {
            m.close();
            throw new IllegalStateException("generating benchmark data failed: " + e.getCause(), e.getCause());
        } finally {
            pool.shutdownNow();
        }
        return m;
    }

    private static void fill(FloatMatrix m, long key, long from, long to) {
        int d = m.cols();
        int rowsPerBlock = Math.max(1, (1 << 16) / d);
        float[] block = new float[rowsPerBlock * d];
        for (long r = from; r < to; r += rowsPerBlock) {
            int n = (int) Math.min(rowsPerBlock, to - r);
            float[] buf = n == rowsPerBlock ? block : new float[n * d];
            long base = r * d;
            for (int i = 0; i < buf.length; i++) {
                buf[i] = value(key, base + i);
            }
            m.setRows(r, buf);
        }
    }
}
