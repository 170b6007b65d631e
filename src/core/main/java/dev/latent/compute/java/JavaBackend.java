package dev.latent.compute.java;

import dev.latent.compute.Assignment;
import dev.latent.compute.Backend;
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
import java.util.Arrays;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

/**
 * Plain Java backend: every dot product, distance and sum is accumulated in float64 and rounded to
 * float32 only at the end, so this backend is the reference that the native backends are tested
 * against. It is also the fallback when no native library loads. It is slow (no SIMD, no blocking
 * beyond copying rows in blocks) and parallelises over queries on the common fork-join pool.
 *
 * <p>Thread-safe and stateless; {@link #close()} does nothing. L2 is computed as
 * {@code sum((q_i - x_i)^2)} directly (no norm expansion), cosine as {@code q.x / (|q| |x|)}.
 */
public final class JavaBackend implements Backend {
    /** A new Java backend (stateless; for {@code Backends}, which reaches backends by name). */
    public static JavaBackend open() {
        return new JavaBackend();
    }

    /** Queries handled by one parallel task; each task reads the rows once. */
    private static final int QUERY_CHUNK = 16;
    /** Rows copied to the heap at a time. */
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
    public ResidentMatrix upload(FloatMatrix rows, Metric metric) {
        Checks.upload(rows, metric);
        return new Matrix(this, rows, metric);
    }

    /** 8-bit codes searched by the reference arithmetic of {@link Sq8} with Q = 127 (see {@link JavaCodes}). */
    @Override
    public ResidentCodes uploadCodes(FloatMatrix rows, Metric metric, Sq8 quantizer) {
        return uploadCodes(rows, metric, quantizer, JavaCodes.DEFAULT_LEVELS);
    }

    /**
     * As {@link #uploadCodes(FloatMatrix, Metric, Sq8)}, scoring with queries quantised to
     * {@code [-queryLevels, queryLevels]} (1 to 127): with a native level's {@link ResidentCodes#queryLevels()}
     * this reproduces that level's results bit for bit, which is how the native kernels are tested.
     */
    public ResidentCodes uploadCodes(FloatMatrix rows, Metric metric, Sq8 quantizer, int queryLevels) {
        HostCodes.checkUpload(rows, metric, quantizer);
        if (queryLevels < 1 || queryLevels > 127) {
            throw new IllegalArgumentException("query levels must be in [1, 127], got " + queryLevels);
        }
        return HostCodes.filled(new JavaCodes(this, metric, quantizer, queryLevels), rows);
    }

    @Override
    public Assignment assign(ResidentMatrix points, ResidentMatrix targets) {
        Checks.compatible(points, targets, this);
        Matrix p = (Matrix) HostMatrix.of(points, this);
        Matrix t = (Matrix) HostMatrix.of(targets, this);
        FloatMatrix x = p.matrix();
        int n = Math.toIntExact(x.rows());
        int[] labels = new int[n];
        float[] scores = new float[n];
        if (t.rows() == 0) {
            Arrays.fill(labels, -1);
            Arrays.fill(scores, Float.NaN);
            return new Assignment(labels, scores);
        }
        Neighbors nb = t.topK(x, 1, null);
        for (int i = 0; i < n; i++) {
            labels[i] = (int) nb.id(i, 0);
            scores[i] = nb.score(i, 0);
        }
        return new Assignment(labels, scores);
    }

    @Override
    public LabelSums accumulate(ResidentMatrix points, int[] labels, int k) {
        FloatMatrix x = HostMatrix.of(points, this).matrix();
        Checks.labels(labels, x.rows(), k);
        int d = x.cols();
        double[] sums = new double[k * d];
        long[] counts = new long[k];
        float[] row = new float[d];
        for (int i = 0; i < labels.length; i++) {
            int l = labels[i];
            if (l < 0) {
                continue;
            }
            x.getRow(i, row);
            int base = l * d;
            for (int c = 0; c < d; c++) {
                sums[base + c] += row[c];
            }
            counts[l]++;
        }
        return new LabelSums(k, d, sums, counts);
    }

    @Override
    public double[] gram(ResidentMatrix points, double[] mean) {
        FloatMatrix x = HostMatrix.of(points, this).matrix();
        int d = x.cols();
        Checks.mean(mean, d);
        double[] out = new double[d * d];
        double[] v = new double[d];
        float[] row = new float[d];
        for (long r = 0; r < x.rows(); r++) {
            x.getRow(r, row);
            for (int c = 0; c < d; c++) {
                v[c] = mean == null ? row[c] : row[c] - mean[c];
            }
            for (int i = 0; i < d; i++) {
                double vi = v[i];
                int base = i * d;
                for (int j = i; j < d; j++) {
                    out[base + j] += vi * v[j];
                }
            }
        }
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < i; j++) {
                out[i * d + j] = out[j * d + i];
            }
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

    private static final class Matrix extends HostMatrix {
        private volatile double[] norms;  // |x| per row (cosine), else null

        Matrix(Backend backend, FloatMatrix db, Metric metric) {
            super(backend, db, metric);
            requireIntRows(db);
            Vectors.check(db, metric, "database", 0);
            this.norms = metric == Metric.COSINE ? norms(db, 0, new double[0]) : null;
        }

        @Override
        protected void grow(FloatMatrix all, long from) {
            requireIntRows(all);
            Vectors.check(all.rowsView(from, all.rows()), metric, "database", from);
            if (metric == Metric.COSINE) {
                norms = norms(all, from, norms);
            }
        }

        @Override
        protected void renorm(FloatMatrix all, long[] changed) {
            if (metric != Metric.COSINE) {
                return;
            }
            double[] out = norms.clone();
            float[] x = new float[all.cols()];
            for (long r : changed) {
                all.getRow(r, x);
                out[(int) r] = Math.sqrt(dot(x, x));
            }
            norms = out;    // searches in flight keep the array they read
        }

        private static void requireIntRows(FloatMatrix m) {
            if (m.rows() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("the Java backend handles at most " + Integer.MAX_VALUE + " rows");
            }
        }

        /** |x| of rows [from, n) appended to the first {@code from} entries of {@code old}. */
        private static double[] norms(FloatMatrix m, long from, double[] old) {
            double[] out = Arrays.copyOf(old, (int) m.rows());
            float[] x = new float[m.cols()];
            for (int r = (int) from; r < out.length; r++) {
                m.getRow(r, x);
                out[r] = Math.sqrt(dot(x, x));
            }
            return out;
        }

        @Override
        protected void scores(FloatMatrix queries, long fromRow, long toRow, FloatMatrix out) {
            FloatMatrix db = rows;
            double[] xn = norms;
            int nq = (int) queries.rows();
            float[][] q = queries.toArray();
            double[] qn = queryNorms(queries, q);
            IntStream.range(0, nq).parallel().forEach(i -> {
                float[] row = new float[(int) (toRow - fromRow)];
                float[] x = new float[db.cols()];
                for (long r = fromRow; r < toRow; r++) {
                    db.getRow(r, x);
                    row[(int) (r - fromRow)] = (float) score(q[i], qn[i], x, xn, r);
                }
                out.setRow(i, row);
            });
        }

        @Override
        protected Neighbors topK(FloatMatrix queries, int count, long[] subset) {
            FloatMatrix db = rows;
            double[] xn = norms;
            Batch b = new Batch(queries, count);
            int nq = b.nq;
            float[][] q = b.q;
            double[] qn = b.qn;
            if (count == 0) {
                return b.result();
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
                            for (int i = 0; i < heaps.length; i++) {
                                offer(heaps[i], q[q0 + i], qn[q0 + i], x, xn, r0 + j);
                            }
                        }
                    }
                } else {
                    for (long r : subset) {
                        db.getRow(r, x);
                        for (int i = 0; i < heaps.length; i++) {
                            offer(heaps[i], q[q0 + i], qn[q0 + i], x, xn, r);
                        }
                    }
                }
                for (int i = 0; i < heaps.length; i++) {
                    heaps[i].drainBestFirst(b.ids, b.scores, (q0 + i) * count, count, metric);
                }
            });
            return b.result();
        }

        @Override
        protected Neighbors topKLists(FloatMatrix queries, int count, long[] offsets, long[] lists) {
            FloatMatrix db = rows;
            double[] xn = norms;
            Batch b = new Batch(queries, count);
            float[][] q = b.q;
            double[] qn = b.qn;
            if (count == 0) {
                return b.result();
            }
            IntStream.range(0, b.nq).parallel().forEach(i -> {
                Heap h = new Heap(count);
                float[] x = new float[db.cols()];
                for (long c = offsets[i]; c < offsets[i + 1]; c++) {
                    long r = lists[(int) c];
                    db.getRow(r, x);
                    offer(h, q[i], qn[i], x, xn, r);
                }
                h.drainBestFirst(b.ids, b.scores, i * count, count, metric);
            });
            return b.result();
        }

        /** A top-k call's queries (as arrays, with their norms) and its result arrays of count per query. */
        private final class Batch {
            final int nq;
            final int count;
            final float[][] q;
            final double[] qn;
            final long[] ids;
            final float[] scores;

            Batch(FloatMatrix queries, int count) {
                this.nq = (int) queries.rows();
                this.count = count;
                this.q = queries.toArray();
                this.qn = queryNorms(queries, q);
                this.ids = new long[nq * count];
                this.scores = new float[nq * count];
            }

            Neighbors result() {
                return new Neighbors(nq, count, ids, scores, metric);
            }
        }

        @Override
        protected RangeHits within(FloatMatrix queries, float radius, long[] subset, long maxResults) {
            FloatMatrix db = rows;
            double[] xn = norms;
            int nq = (int) queries.rows();
            float[][] q = queries.toArray();
            double[] qn = queryNorms(queries, q);
            boolean higher = metric.higherIsNearer();
            long[] offsets = new long[nq + 1];
            long[] hitRows = new long[16];
            float[] hitScores = new float[16];
            int n = 0;
            float[] x = new float[db.cols()];
            long candidates = subset == null ? db.rows() : subset.length;
            for (int i = 0; i < nq; i++) {
                for (long c = 0; c < candidates; c++) {
                    long r = subset == null ? c : subset[(int) c];
                    db.getRow(r, x);
                    float s = (float) score(q[i], qn[i], x, xn, r);
                    if (higher ? s >= radius : s <= radius) {
                        if (n >= maxResults) {
                            throw new TooManyResultsException(i, maxResults);
                        }
                        if (n == hitRows.length) {
                            hitRows = Arrays.copyOf(hitRows, n * 2);
                            hitScores = Arrays.copyOf(hitScores, n * 2);
                        }
                        hitRows[n] = r;
                        hitScores[n] = s;
                        n++;
                    }
                }
                offsets[i + 1] = n;
            }
            return RangeHits.sorted(offsets, Arrays.copyOf(hitRows, n), Arrays.copyOf(hitScores, n), metric);
        }

        private void offer(Heap h, float[] q, double qn, float[] x, double[] xn, long row) {
            double s = score(q, qn, x, xn, row);
            h.offer(metric.higherIsNearer() ? s : -s, row);
        }

        /** The exact score in float64. */
        private double score(float[] q, double qNorm, float[] x, double[] xn, long row) {
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
                    return dot(q, x) / (qNorm * xn[(int) row]);
                default:
                    return dot(q, x);
            }
        }

        /** |q| per query (cosine), after checking every query against the vector rule. */
        private double[] queryNorms(FloatMatrix queries, float[][] q) {
            Vectors.check(queries, metric, "query", 0);
            double[] n = new double[q.length];
            for (int i = 0; i < q.length; i++) {
                n[i] = Math.sqrt(dot(q[i], q[i]));
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

    /** Bounded heap of the best {@code k} (key, id); the root is the worst kept (lowest key, then highest id). */
    static final class Heap {
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
            siftDown(key, id);
        }

        /** Puts (key, id) at the root, in place of the worst entry, and sifts it down among the first n. */
        private void siftDown(double key, long id) {
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

        /**
         * Writes the kept entries best first at out[offset ...], scores un-negated for L2; pads up to
         * {@code width} entries with id -1 and score NaN.
         */
        void drainBestFirst(long[] outIds, float[] outScores, int offset, int width, Metric metric) {
            // Pop the worst repeatedly from the back: a heap sort, no boxing.
            int m = n;
            for (int r = m - 1; r >= 0; r--) {
                outIds[offset + r] = ids[0];
                double key = keys[0];
                outScores[offset + r] = (float) (metric.higherIsNearer() ? key : -key);
                n--;
                if (n > 0) {
                    siftDown(keys[n], ids[n]);
                }
            }
            for (int r = m; r < width; r++) {
                outIds[offset + r] = -1;
                outScores[offset + r] = Float.NaN;
            }
        }
    }
}
