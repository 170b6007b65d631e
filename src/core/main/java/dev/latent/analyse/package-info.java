/**
 * Questions asked of a latent space: clustering (k-means on {@code Backend.assign} and
 * {@code Backend.accumulate}), anomaly scores, projection (PCA on {@code Backend.gram}), maps and paths.
 * Built on {@code compute} and {@code index}; never on {@code encode}.
 */
package dev.latent.analyse;
