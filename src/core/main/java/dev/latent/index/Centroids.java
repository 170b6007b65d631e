package dev.latent.index;

import dev.latent.analyse.KMeans;
import dev.latent.analyse.KMeansResult;
import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.compute.DeviceException;
import dev.latent.compute.ResidentMatrix;
import dev.latent.compute.ScanParams;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.core.Vectors;
import java.util.function.Function;

/**
 * The centroids of an {@link IvfIndex}: fitted once ({@link #fit}), then resident on the index's backend for
 * two jobs, each query's nearest lists ({@link #nearest}) and each added row's list ({@link #assign}); when
 * the device fails either, the call is answered on the host. Thread-safe (the resident copy is made once under
 * a lock); owned by its index, which closes it once.
 */
final class Centroids implements AutoCloseable {
    /** Rows placed on the centroids per backend call when vectors are added. */
    private static final int ASSIGN_BLOCK = 1 << 16;

    private final float[] values;        // lists × d, row-major; never changes
    private final int dimension;
    private final Metric metric;
    private final StoredVectors store;   // the backend, and where device failures are logged
    private final Object lock = new Object();
    private ResidentMatrix resident;     // made at first use
    private FloatMatrix residentRows;    // what it reads (host backends)

    Centroids(float[] values, int dimension, Metric metric, StoredVectors store) {
        this.values = values;
        this.dimension = dimension;
        this.metric = metric;
        this.store = store;
    }

    /**
     * {@code lists} centroids fitted to {@code sample} (checked by the caller): k-means with k-means++ seeds (which
     * refuse data with fewer distinct points than lists) and {@value IvfIndex#TRAINING_ITERATIONS} updates, as
     * FAISS trains its coarse quantizer, on at most {@value IvfIndex#TRAINING_POINTS_PER_LIST} points per list. The
     * lists only route queries: 25 updates bought no recall on the WordNet set (0.9586 at nprobe 64 either way)
     * for 2.5 times the training. One list needs no clustering.
     */
    static float[] fit(FloatMatrix sample, Metric metric, int lists, long seed, Backend backend) {
        if (lists == 1) {
            return one(sample, metric);
        }
        KMeans kmeans = KMeans.of(lists).seed(seed).iterations(IvfIndex.TRAINING_ITERATIONS)
                .backend(backend != null ? backend : Backends.get());
        long cap = (long) IvfIndex.TRAINING_POINTS_PER_LIST * lists;
        if (sample.rows() > cap) {
            kmeans.trainingSample(cap);
        }
        try (KMeansResult fit = kmeans.fit(sample, metric)) {
            return fit.centroids().copyRows(0, lists);
        }
    }

    /**
     * The centroid of a single list, which every row joins whatever it is: the mean under L2, else the unit
     * direction of the first row (a mean of directions may cancel to zero, which cosine cannot score).
     */
    private static float[] one(FloatMatrix sample, Metric metric) {
        int d = sample.cols();
        if (metric != Metric.L2) {
            float[] c = sample.getRow(0);
            Vectors.normalizeRows(c, 1, d);
            return c;
        }
        double[] sum = new double[d];
        float[] row = new float[d];
        for (long r = 0; r < sample.rows(); r++) {
            sample.getRow(r, row);
            for (int j = 0; j < d; j++) {
                sum[j] += row[j];
            }
        }
        float[] c = new float[d];
        for (int j = 0; j < d; j++) {
            c[j] = (float) (sum[j] / sample.rows());
        }
        return c;
    }

    /** A copy of the centroids, lists × d row-major. */
    float[] values() {
        return values.clone();
    }

    /** The centroids themselves, for writing (never changed). */
    float[] valuesShared() {
        return values;
    }

    /** Each query's {@code n} nearest centroids (rows of the centroid matrix); on the host if the device fails. */
    Neighbors nearest(FloatMatrix queries, int n) {
        ScanParams p = ScanParams.topK(n);
        try {
            return resident().search(queries, p);
        } catch (DeviceException e) {
            store.deviceFailed(e, queries.rows());
            return onHost(c -> c.search(queries, p));
        }
    }

    /** The nearest centroid of each row of {@code vectors}, on the backend (on the host if the device fails). */
    int[] assign(FloatMatrix vectors) {
        int n = Math.toIntExact(vectors.rows());
        int[] labels = new int[n];
        for (int from = 0; from < n; from += ASSIGN_BLOCK) {
            int to = Math.min(n, from + ASSIGN_BLOCK);
            try (FloatMatrix block = vectors.rowsView(from, to)) {
                int[] part;
                try {
                    part = assignOn(resident(), block);
                } catch (DeviceException e) {
                    store.deviceFailed(e, to - from);
                    part = onHost(c -> assignOn(c, block));
                }
                System.arraycopy(part, 0, labels, from, to - from);
            }
        }
        return labels;
    }

    private int[] assignOn(ResidentMatrix targets, FloatMatrix points) {
        Backend b = targets.backend();
        try (ResidentMatrix p = b.upload(points, metric)) {
            return b.assign(p, targets).labels();
        }
    }

    /** The centroids resident on the backend, made at the first use. */
    private ResidentMatrix resident() {
        synchronized (lock) {
            if (resident == null) {
                FloatMatrix rows = FloatMatrix.of(values, dimension);
                try {
                    resident = store.backend().upload(rows, metric);
                } catch (RuntimeException e) {
                    rows.close();
                    throw e;
                }
                residentRows = rows;
            }
            return resident;
        }
    }

    private <T> T onHost(Function<ResidentMatrix, T> work) {
        try (FloatMatrix rows = FloatMatrix.of(values, dimension)) {
            return StoredVectors.onHost(rows, metric, work);
        }
    }

    /** Frees the resident copy. Idempotent. */
    @Override
    public void close() {
        synchronized (lock) {
            if (resident != null) {
                resident.close();
                resident = null;
            }
            if (residentRows != null) {
                residentRows.close();
                residentRows = null;
            }
        }
    }
}
