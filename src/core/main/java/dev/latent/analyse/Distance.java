package dev.latent.analyse;

import dev.latent.core.Metric;

/**
 * The distances the analyses report, from the backend's scores: under {@link Metric#L2} the squared
 * Euclidean distance (the score itself), under {@link Metric#COSINE} and {@link Metric#INNER_PRODUCT}
 * the cosine distance {@code 1 − score} (the analyses treat an inner-product space as directions, as
 * spherical k-means does: on unit vectors the two metrics agree). Lower is nearer, 0 for identical points.
 */
public final class Distance {
    private Distance() {
    }

    /** The distance for a backend score under {@code metric}; never negative. */
    public static double of(Metric metric, double score) {
        double d = metric == Metric.L2 ? score : 1.0 - score;
        return d > 0 ? d : 0.0;
    }

    /**
     * A distance that behaves like a length (triangle inequality on the sphere up to a constant): the
     * Euclidean distance under L2, the chord {@code sqrt(2 · (1 − cos))} between directions otherwise.
     * Used where scores are compared across clusters (silhouette, outlier ratios).
     */
    public static double length(Metric metric, double score) {
        double d = of(metric, score);
        return metric == Metric.L2 ? Math.sqrt(d) : Math.sqrt(2.0 * d);
    }

    /** Whether clustering under {@code metric} works on directions (centroids renormalised). */
    public static boolean spherical(Metric metric) {
        return metric != Metric.L2;
    }

    /** Human name of the distance, for tables. */
    public static String name(Metric metric) {
        return metric == Metric.L2 ? "squared L2" : "cosine distance";
    }
}
