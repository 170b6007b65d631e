package dev.latent.analyse;

import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import java.util.Arrays;

/**
 * A fitted k-means: centroids, each point's cluster and distance to its centroid, cluster sizes, and the
 * inertia after each assignment step. {@link #assign} places new vectors on the same centroids.
 *
 * <p>Owns the centroid matrix (native memory) until {@link #close()}, exactly once. Read-only after
 * construction: safe to read from several threads; arrays returned are the result's own (do not change
 * them).
 */
public final class KMeansResult implements AutoCloseable {
    private final FloatMatrix centroids;
    private final Metric metric;
    private final int[] labels;
    private final float[] distances;
    private final long[] sizes;
    private final double[] inertia;
    private final int iterations;
    private final boolean converged;
    private final int repairs;
    private final long trainedOn;
    private final double seconds;
    private final String backend;
    private final int restart;
    private final double[] restartInertia;

    KMeansResult(FloatMatrix centroids, Metric metric, int[] labels, float[] distances, long[] sizes, double[] inertia,
            int iterations, boolean converged, int repairs, long trainedOn, double seconds, String backend, int restart,
            double[] restartInertia) {
        this.centroids = centroids;
        this.metric = metric;
        this.labels = labels;
        this.distances = distances;
        this.sizes = sizes;
        this.inertia = inertia;
        this.iterations = iterations;
        this.converged = converged;
        this.repairs = repairs;
        this.trainedOn = trainedOn;
        this.seconds = seconds;
        this.backend = backend;
        this.restart = restart;
        this.restartInertia = restartInertia;
    }

    /** Rebuilds a result from saved centroids (for {@link #assign} only: no labels, sizes or history). */
    public static KMeansResult ofCentroids(FloatMatrix centroids, Metric metric) {
        float[] flat = centroids.copyRows(0, (int) centroids.rows());
        FloatMatrix own = FloatMatrix.of(flat, centroids.cols());
        return new KMeansResult(own, metric, new int[0], new float[0], new long[(int) centroids.rows()], new double[0], 0,
                false, 0, 0, 0, "", 0, new double[0]);
    }

    /** Number of clusters. */
    public int k() {
        return (int) centroids.rows();
    }

    /** {@code k × d} centroids (unit length under cosine and inner product). Owned by this result. */
    public FloatMatrix centroids() {
        return centroids;
    }

    /** The metric the clustering was asked for. */
    public Metric metric() {
        return metric;
    }

    /** The cluster of each point, in input order. */
    public int[] labels() {
        return labels;
    }

    /** Each point's {@link Distance} to its centroid. */
    public float[] distances() {
        return distances;
    }

    /** Points per cluster. */
    public long[] sizes() {
        return sizes;
    }

    /** Sum of the distances after each assignment step; the last entry belongs to the returned labels. */
    public double[] inertiaHistory() {
        return inertia;
    }

    /** The final inertia. */
    public double inertia() {
        return inertia.length == 0 ? Double.NaN : inertia[inertia.length - 1];
    }

    /** Which restart the result comes from (0: the run with the base seed). */
    public int restart() {
        return restart;
    }

    /**
     * The final inertia of every restart, in restart order (one entry without restarts); NaN for a restart other than
     * the first whose seeding drew fewer than k distinct vectors from its random sample, which is skipped.
     */
    public double[] restartInertia() {
        return restartInertia;
    }

    /** Centroid updates made (by the restart kept). */
    public int iterations() {
        return iterations;
    }

    /** Whether the run stopped on the tolerance rather than the iteration cap. */
    public boolean converged() {
        return converged;
    }

    /** Empty clusters repaired by splitting the largest, over the whole run. */
    public int repairs() {
        return repairs;
    }

    /** Points the iterations ran on (all, or the training sample). */
    public long trainedOn() {
        return trainedOn;
    }

    /** Wall time of the fit. */
    public double seconds() {
        return seconds;
    }

    /** Name of the backend that ran it. */
    public String backend() {
        return backend;
    }

    /** Places {@code points} on the nearest centroid, on {@link Backends#get()}. */
    public Placement assign(FloatMatrix points) {
        return assign(points, Backends.get());
    }

    /** Places {@code points} on the nearest centroid, on {@code backend}. */
    public Placement assign(FloatMatrix points, Backend backend) {
        if (points.cols() != centroids.cols()) {
            throw new IllegalArgumentException("points have dimension " + points.cols() + ", the centroids "
                    + centroids.cols());
        }
        if (points.rows() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("assign at most " + (Integer.MAX_VALUE - 8) + " points per call");
        }
        int n = (int) points.rows();
        int[] l = new int[n];
        float[] dist = new float[n];
        Metric work = Distance.spherical(metric) ? Metric.COSINE : Metric.L2;
        KMeans.assignAll(backend, points, centroids.copyRows(0, k()), centroids.cols(), work, l, dist);
        return new Placement(l, dist);
    }

    /** Labels and distances of points placed on the centroids. */
    public record Placement(int[] labels, float[] distances) {
    }

    @Override
    public void close() {
        centroids.close();
    }

    @Override
    public String toString() {
        return "k-means k=" + k() + " " + metric + " inertia " + inertia() + " after " + iterations + " iterations"
                + (converged ? " (converged)" : "") + ", sizes " + Arrays.toString(sizes);
    }
}
