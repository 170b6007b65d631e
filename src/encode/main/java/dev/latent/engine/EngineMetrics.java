package dev.latent.engine;

import java.time.Duration;

/**
 * A snapshot of an {@link Engine}'s counters and timings, for a service to export. Counters run from the
 * engine's start; latencies are quantiles over the most recent computed requests of each operation (a
 * sliding window of {@link #LATENCY_WINDOW} requests), from submission to completion, queue wait included.
 * Immutable.
 */
public interface EngineMetrics {
    /** Requests kept in each operation's latency window. */
    int LATENCY_WINDOW = 8192;

    /** The operations an engine batches. A text search counts once as ENCODE and once as SEARCH. */
    enum Operation {
        /** Text to vector. */
        ENCODE,
        /** Vector to neighbours. */
        SEARCH
    }

    /**
     * One operation's figures.
     *
     * @param requests requests accepted into the queue
     * @param rejections requests refused because the queue was full ({@link EngineRejectedException})
     * @param completed requests computed successfully
     * @param failed requests whose batch failed
     * @param timedOut requests whose deadline passed before their batch started
     * @param cancelled requests cancelled (or closed out) before their batch started
     * @param batches batches run (each one call to the encoder or the index)
     * @param queueDepth requests waiting now
     * @param p50 median latency of the recent computed requests (zero when none yet)
     * @param p99 99th-percentile latency of the recent computed requests (zero when none yet)
     */
    record Stats(long requests, long rejections, long completed, long failed, long timedOut, long cancelled,
            long batches, int queueDepth, Duration p50, Duration p99) {
        /** Mean requests per batch (0 before the first batch). */
        public double meanBatchSize() {
            return batches == 0 ? 0 : (double) (completed + failed) / batches;
        }
    }

    /** The figures of one operation. */
    Stats stats(Operation operation);

    /**
     * Where encoding runs: the model and ONNX Runtime's execution provider (for example
     * {@code all-minilm-l6-v2-q on CPU}), {@code none} for an engine without an encoder.
     */
    default String encoder() {
        return "unknown";
    }

    /**
     * Where searches run: the compute backend (for example {@code native CPU: AVX-512, 2 threads}),
     * {@code none} for an engine without an index.
     */
    default String searcher() {
        return "unknown";
    }

    /** The figures of {@link Operation#ENCODE}. */
    default Stats encode() {
        return stats(Operation.ENCODE);
    }

    /** The figures of {@link Operation#SEARCH}. */
    default Stats search() {
        return stats(Operation.SEARCH);
    }
}
