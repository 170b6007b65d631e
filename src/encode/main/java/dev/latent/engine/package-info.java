/**
 * Serving many callers at once: {@link dev.latent.engine.Engine} queues encode and search requests from any
 * number of threads and merges them into batches for the encoder and the index, with bounded queues,
 * deadlines, cancellation, per-batch fault isolation and {@link dev.latent.engine.EngineMetrics}. Depends on
 * {@code encode}, {@code index} and {@code core}; nothing below it depends on it.
 */
package dev.latent.engine;
