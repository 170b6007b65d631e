package dev.latent.engine;

import dev.latent.compute.Checks;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Vectors;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The checks a request passes on the submitting thread before it is queued: the engine is open and has the
 * part the request needs, the text and k are within the limits of {@link Engine.Builder}, and a query has the
 * index's dimension and keeps the vector rule ({@link Vectors}). A request that fails them is refused by the
 * submitting call, so one bad request never fails a batch of good ones. Makes the queued request, with the
 * engine's own copy of a query vector.
 *
 * <p>Thread-safe: immutable but for the closed flag.
 */
final class Admission {
    private final Engine.Encoder encoder;   // null: the engine has no encoder
    private final Engine.Searcher searcher; // null: the engine has no index
    private final int maxTextLength;
    private final int maxK;
    private final long defaultTimeoutNanos; // 0: no deadline
    private final AtomicBoolean closed = new AtomicBoolean();

    Admission(Engine.Encoder encoder, Engine.Searcher searcher, int maxTextLength, int maxK,
            long defaultTimeoutNanos) {
        this.encoder = encoder;
        this.searcher = searcher;
        this.maxTextLength = maxTextLength;
        this.maxK = maxK;
        this.defaultTimeoutNanos = defaultTimeoutNanos;
    }

    /** Refuses every later request; whether this call did it (false when already closed). */
    boolean close() {
        return closed.compareAndSet(false, true);
    }

    /** The {@link System#nanoTime()} deadline {@code timeout} from now (null: the default); 0 for none. */
    long deadline(Duration timeout) {
        long nanos = timeout != null ? timeout.toNanos() : defaultTimeoutNanos;
        if (timeout != null && nanos <= 0) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        return nanos == 0 ? 0 : System.nanoTime() + nanos;
    }

    EncodeRequest encode(String text, boolean query, long deadline) {
        return encode(text, query, deadline, 0);
    }

    /** An encode request; {@code searchK > 0}: a text search done in the encode step (the device path). */
    EncodeRequest encode(String text, boolean query, long deadline, int searchK) {
        Objects.requireNonNull(text, "text");
        if (encoder == null) {
            throw new IllegalStateException("this engine has no encoder (Engine.Builder.encoder)");
        }
        if (text.length() > maxTextLength) {
            throw new IllegalArgumentException("text has " + text.length() + " characters; the engine's limit is "
                    + maxTextLength + " (Engine.Builder.maxTextLength)");
        }
        checkOpen();
        return new EncodeRequest(text, query, Math.max(1, encoder.tokens(text)), deadline, searchK);
    }

    SearchRequest search(float[] query, int k, long deadline) {
        Objects.requireNonNull(query, "query");
        requireSearcher();
        checkK(k);
        if (query.length != searcher.dimension()) {
            throw new IllegalArgumentException("query has dimension " + query.length + ", the index has "
                    + searcher.dimension());
        }
        checkRule(query, searcher.metric());
        checkOpen();
        return new SearchRequest(query.clone(), k, deadline);
    }

    void checkK(int k) {
        Checks.k(k);
        if (k > maxK) {
            throw new IllegalArgumentException("k = " + k + " is above the engine's limit of " + maxK
                    + " (Engine.Builder.maxK)");
        }
    }

    void requireSearcher() {
        if (searcher == null) {
            throw new IllegalStateException("this engine has no index (Engine.Builder.index)");
        }
    }

    void checkOpen() {
        if (closed.get()) {
            throw new EngineClosedException("the engine is closed");
        }
    }

    /** The vector rule on one query, without an off-heap copy unless it fails (for the canonical message). */
    private static void checkRule(float[] v, Metric metric) {
        double sq = 0;
        boolean finite = true;
        for (float x : v) {
            finite &= Float.isFinite(x);
            sq += (double) x * x;
        }
        if (!finite || sq > Vectors.MAX_SQUARED_NORM
                || (metric == Metric.COSINE && sq < Vectors.MIN_COSINE_SQUARED_NORM)) {
            try (FloatMatrix m = FloatMatrix.of(v, v.length)) {
                throw Vectors.describe(m, metric, "query", 0);
            }
        }
    }
}
