package dev.latent.compute;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import java.util.Arrays;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

/**
 * Plain Java backend: every dot product and distance is accumulated in float64 and rounded to
 * float32 only at the end, so this backend is the reference that the native backends are tested
 * against. It is also the fallback when no native library loads. It is slow (no SIMD, no
 * blocking beyond copying database rows in blocks) and parallelises over queries on the common
 * fork-join pool.
 *
 * <p>Thread-safe and stateless; {@link #close()} does nothing. L2 is computed as
 * {@code sum((q_i - x_i)^2)} directly (no norm expansion), cosine as {@code q.x / (|q| |x|)}.
 */
public final class JavaBackend implements Backend {
    /** Queries handled by one parallel task; each task reads the database once. */
    private static final int QUERY_CHUNK = 16;
    /** Database rows copied to the heap at a time. */
    private static final int ROW_BLOCK = 256;

    @Override
    public String name() {
        return "java";
    }

    @Override
    public String description() {
        return "Java reference (float64 accumulators, common fork-join pool of "
                + ForkJoinPool.getCommonPoolParallelism() + " + caller)";
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

    private static final class Prepared extends HostDatabase {
        private final double[] norms;  // |x| per row (cosine), else null

        Prepared(FloatMatrix db, Metric metric) {
            super(db, metric, "java");
            long n = db.rows();
            double[] sq = squaredNorms(db);
            int bad = firstBad(sq, metric);
            if (bad >= 0) {
                throw Checks.badRow("database", db, bad, metric);
            }
            if (metric == Metric.COSINE) {
                norms = new double[(int) n];
                for (int i = 0; i < n; i++) {
                    norms[i] = Math.sqrt(sq[i]);
                }
            } else {
                norms = null;
            }
        }

        @Override
        protected void scores(FloatMatrix queries, long fromRow, long toRow, FloatMatrix out) {
            int nq = (int) queries.rows();
            float[][] q = queries.toArray();
            double[] qn = queryNorms(queries, q);
            IntStream.range(0, nq).parallel().forEach(i -> {
                float[] row = new float[(int) (toRow - fromRow)];
                float[] x = new float[db.cols()];
                for (long r = fromRow; r < toRow; r++) {
                    db.getRow(r, x);
                    row[(int) (r - fromRow)] = (float) score(q[i], qn[i], x, r);
                }
                out.setRow(i, row);
            });
        }

        @Override
        protected Neighbors topK(FloatMatrix queries, int count, long[] subset) {
            int nq = (int) queries.rows();
            float[][] q = queries.toArray();
            double[] qn = queryNorms(queries, q);
            long[] ids = new long[nq * count];
            float[] scores = new float[nq * count];
            if (count == 0) {
                return new Neighbors(nq, 0, ids, scores, metric);
            }
            int chunks = (nq + QUERY_CHUNK - 1) / QUERY_CHUNK;
            IntStream.range(0, chunks).parallel().forEach(c -> {
                int q0 = c * QUERY_CHUNK;
                int q1 = Math.min(nq, q0 + QUERY_CHUNK);
                Heap[] heaps = new Heap[q1 - q0];
                for (int i = 0; i < heaps.length; i++) {
                    heaps[i] = new Heap(count);
                }
                int d = db.cols();
                float[] x = new float[d];
                if (subset == null) {
                    for (long r0 = 0; r0 < db.rows(); r0 += ROW_BLOCK) {
                        int nb = (int) Math.min(ROW_BLOCK, db.rows() - r0);
                        float[] block = db.copyRows(r0, nb);
                        for (int j = 0; j < nb; j++) {
                            System.arraycopy(block, j * d, x, 0, d);
                            offer(heaps, q, qn, q0, x, r0 + j);
                        }
                    }
                } else {
                    for (long r : subset) {
                        db.getRow(r, x);
                        offer(heaps, q, qn, q0, x, r);
                    }
                }
                for (int i = 0; i < heaps.length; i++) {
                    heaps[i].drainBestFirst(ids, scores, (q0 + i) * count, metric);
                }
            });
            return new Neighbors(nq, count, ids, scores, metric);
        }

        private void offer(Heap[] heaps, float[][] q, double[] qn, int q0, float[] x, long row) {
            for (int i = 0; i < heaps.length; i++) {
                double s = score(q[q0 + i], qn[q0 + i], x, row);
                heaps[i].offer(metric.higherIsNearer() ? s : -s, row);
            }
        }

        /** The exact score in float64. */
        private double score(float[] q, double qNorm, float[] x, long row) {
            switch (metric) {
                case L2: {
                    double s = 0;
                    for (int t = 0; t < q.length; t++) {
                        double diff = (double) q[t] - x[t];
                        s += diff * diff;
                    }
                    return s;
                }
                case COSINE:
                    return dot(q, x) / (qNorm * norms[(int) row]);
                default:
                    return dot(q, x);
            }
        }

        /** |q| per query (cosine), after checking every query row is finite (and non-zero for cosine). */
        private double[] queryNorms(FloatMatrix queries, float[][] q) {
            double[] sq = new double[q.length];
            for (int i = 0; i < q.length; i++) {
                sq[i] = dot(q[i], q[i]);
            }
            int bad = firstBad(sq, metric);
            if (bad < 0) {
                for (int i = 0; i < q.length && bad < 0; i++) {
                    for (float f : q[i]) {
                        if (!Float.isFinite(f)) {
                            bad = i;
                            break;
                        }
                    }
                }
            }
            if (bad >= 0) {
                throw Checks.badRow("query", queries, bad, metric);
            }
            double[] n = new double[q.length];
            for (int i = 0; i < q.length; i++) {
                n[i] = Math.sqrt(sq[i]);
            }
            return n;
        }

    }

    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int t = 0; t < a.length; t++) {
            s += (double) a[t] * b[t];
        }
        return s;
    }

    /** Squared norms in float64; more than 2^31 rows is beyond this backend. */
    private static double[] squaredNorms(FloatMatrix m) {
        if (m.rows() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("the Java backend handles at most " + Integer.MAX_VALUE + " rows");
        }
        int n = (int) m.rows();
        int d = m.cols();
        double[] sq = new double[n];
        float[] x = new float[d];
        for (int r = 0; r < n; r++) {
            m.getRow(r, x);
            double s = 0;
            boolean finite = true;
            for (float f : x) {
                s += (double) f * f;
                finite &= Float.isFinite(f);
            }
            sq[r] = finite ? s : Double.NaN;
        }
        return sq;
    }

    /** First row whose squared norm is NaN/infinite or exceeds float32 range, or zero under cosine; -1 if none. */
    private static int firstBad(double[] sq, Metric metric) {
        for (int i = 0; i < sq.length; i++) {
            double s = sq[i];
            if (!Double.isFinite(s) || s > Float.MAX_VALUE || (metric == Metric.COSINE && s == 0)) {
                return i;
            }
        }
        return -1;
    }

    /** Bounded heap of the best {@code k} (key, id); the root is the worst kept (lowest key, then highest id). */
    private static final class Heap {
        private final double[] keys;
        private final long[] ids;
        private int n;

        Heap(int k) {
            keys = new double[k];
            ids = new long[k];
        }

        private static boolean worse(double ka, long ia, double kb, long ib) {
            return ka < kb || (ka == kb && ia > ib);
        }

        void offer(double key, long id) {
            int k = keys.length;
            if (n < k) {
                int i = n++;
                while (i > 0) {
                    int p = (i - 1) >>> 1;
                    if (!worse(key, id, keys[p], ids[p])) {
                        break;
                    }
                    keys[i] = keys[p];
                    ids[i] = ids[p];
                    i = p;
                }
                keys[i] = key;
                ids[i] = id;
                return;
            }
            if (!worse(keys[0], ids[0], key, id)) {
                return;
            }
            int i = 0;
            for (;;) {
                int c = 2 * i + 1;
                if (c >= n) {
                    break;
                }
                if (c + 1 < n && worse(keys[c + 1], ids[c + 1], keys[c], ids[c])) {
                    c++;
                }
                if (!worse(keys[c], ids[c], key, id)) {
                    break;
                }
                keys[i] = keys[c];
                ids[i] = ids[c];
                i = c;
            }
            keys[i] = key;
            ids[i] = id;
        }

        /** Writes the kept entries best first at out[offset ...]; scores un-negated for L2. */
        void drainBestFirst(long[] outIds, float[] outScores, int offset, Metric metric) {
            Integer[] order = new Integer[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (a, b) -> worse(keys[a], ids[a], keys[b], ids[b]) ? 1
                    : worse(keys[b], ids[b], keys[a], ids[a]) ? -1 : 0);
            for (int r = 0; r < n; r++) {
                int i = order[r];
                outIds[offset + r] = ids[i];
                double key = keys[i];
                outScores[offset + r] = (float) (metric.higherIsNearer() ? key : -key);
            }
        }
    }
}
