package dev.latent.space;

import dev.latent.compute.Backend;
import dev.latent.compute.PreparedDatabase;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import java.util.Arrays;

/** Test-only float64 brute-force backend, used until the project's JavaBackend is on this branch. */
final class BruteForceBackend implements Backend {
    @Override
    public String name() {
        return "test-brute-force";
    }

    @Override
    public String description() {
        return "test brute force (float64)";
    }

    @Override
    public PreparedDatabase prepare(FloatMatrix database, Metric metric) {
        return new Prepared(database, metric);
    }

    @Override
    public void close() {
    }

    static double score(float[] q, float[] x, Metric m) {
        double dot = 0, qq = 0, xx = 0, l2 = 0;
        for (int i = 0; i < q.length; i++) {
            dot += (double) q[i] * x[i];
            qq += (double) q[i] * q[i];
            xx += (double) x[i] * x[i];
            double d = (double) q[i] - x[i];
            l2 += d * d;
        }
        switch (m) {
            case INNER_PRODUCT: return dot;
            case COSINE: return dot / Math.sqrt(qq * xx);
            default: return l2;
        }
    }

    private static final class Prepared implements PreparedDatabase {
        private final FloatMatrix db;
        private final Metric metric;

        Prepared(FloatMatrix db, Metric metric) {
            this.db = db;
            this.metric = metric;
        }

        @Override
        public Metric metric() {
            return metric;
        }

        @Override
        public long rows() {
            return db.rows();
        }

        @Override
        public int dimension() {
            return db.cols();
        }

        @Override
        public Neighbors search(FloatMatrix queries, int k) {
            long[] all = new long[(int) db.rows()];
            for (int i = 0; i < all.length; i++) {
                all[i] = i;
            }
            return search(queries, k, all);
        }

        @Override
        public Neighbors search(FloatMatrix queries, int k, long[] rows) {
            int nq = (int) queries.rows();
            int count = Math.min(k, rows.length);
            long[] ids = new long[nq * count];
            float[] scores = new float[nq * count];
            for (int q = 0; q < nq; q++) {
                float[] qv = queries.getRow(q);
                Integer[] order = new Integer[rows.length];
                double[] s = new double[rows.length];
                for (int i = 0; i < rows.length; i++) {
                    order[i] = i;
                    s[i] = score(qv, db.getRow(rows[i]), metric);
                }
                Arrays.sort(order, (a, b) -> {
                    int c = metric.higherIsNearer() ? Double.compare(s[b], s[a]) : Double.compare(s[a], s[b]);
                    return c != 0 ? c : Long.compare(rows[a], rows[b]);
                });
                for (int r = 0; r < count; r++) {
                    ids[q * count + r] = rows[order[r]];
                    scores[q * count + r] = (float) s[order[r]];
                }
            }
            return new Neighbors(nq, count, ids, scores, metric);
        }

        @Override
        public void distances(FloatMatrix queries, long fromRow, long toRow, FloatMatrix out) {
            for (int q = 0; q < queries.rows(); q++) {
                float[] qv = queries.getRow(q);
                for (long r = fromRow; r < toRow; r++) {
                    out.set(q, (int) (r - fromRow), (float) score(qv, db.getRow(r), metric));
                }
            }
        }

        @Override
        public void close() {
        }
    }
}
