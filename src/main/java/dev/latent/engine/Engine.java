package dev.latent.engine;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.core.TokenEmbeddings;
import dev.latent.core.Vectors;
import dev.latent.encode.onnx.OnnxModel;
import dev.latent.encode.text.TextEncoder;
import dev.latent.engine.EngineMetrics.Operation;
import dev.latent.engine.EngineMetrics.Stats;
import dev.latent.index.FlatIndex;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One shared engine that serves encode and search requests from any number of threads, merging the
 * requests that wait at the same time into batches for the encoder and the index (dynamic batching).
 *
 * <pre>{@code
 * try (TextEncoder enc = TextEncoder.builder().build();
 *      FlatIndex index = new FlatIndex(enc.dimension(), Metric.COSINE);
 *      Engine engine = Engine.builder().encoder(enc).index(index).build()) {
 *     float[] v = engine.encode("a passage");                  // blocking; encodeAsync returns a future
 *     engine.add(42, v);                                       // live update, straight to the index
 *     Neighbors nb = engine.searchText("a question", 10);      // encode then search, one request
 * }
 * }</pre>
 *
 * <p><b>Batching.</b> Each operation ({@link Operation#ENCODE}, {@link Operation#SEARCH}) has a bounded
 * queue and one dispatcher thread. When one of the operation's batch slots is free
 * ({@link Builder#encodeConcurrency}, default cores up to 4, the text encoder's workers;
 * {@link Builder#searchConcurrency}, default 1), the dispatcher takes requests from the head of its queue
 * into a batch until the batch is full (encode: {@link Builder#maxBatchTexts} texts or a padded token budget,
 * {@code texts × longest text in tokens ≤} {@link Builder#tokenBudget}; search: {@link Builder#maxBatchQueries}
 * queries) or the oldest waiting request has waited {@link Builder#maxWait} (default zero), then makes one
 * call to the encoder or the index and hands each caller its row. A search batch runs with the largest k of
 * its requests and each request gets its own first k (exact search breaks ties by the lower row, so these
 * are exactly the results of a search with that k). While every slot is busy, new requests queue: under
 * load batches grow by themselves, and a lone caller waits at most {@code maxWait} more than the call takes.
 *
 * <p><b>Back-pressure and limits.</b> A full queue rejects at once with {@link EngineRejectedException}
 * (the default) or makes the caller wait up to a set time for room ({@link Builder#blockWhenFull}); queued
 * memory is bounded by {@link Builder#queueCapacity}. A request may carry a deadline: if it passes before
 * the request's batch starts, the future completes with {@link EngineTimeoutException} and the request is
 * not computed. Cancelling a future before its batch starts removes the request from the queue. Texts longer
 * than {@link Builder#maxTextLength} characters, k above {@link Builder#maxK}, queries of the wrong dimension
 * or that break the vector rule ({@link Vectors}) are refused by the submitting call with
 * {@link IllegalArgumentException}, so one bad request never fails a batch of good ones.
 *
 * <p><b>Faults.</b> When the encoder or the index throws (an {@link Error} such as an out-of-memory included),
 * only the futures of that batch complete exceptionally, with the thrown exception as the cause; the engine
 * goes on with the next batch. A batch mixing passages and queries makes one encoder call for each, and
 * each call fails only its own requests.
 *
 * <p><b>Live updates.</b> {@link #add} and {@link #remove} go straight to the index on the calling thread;
 * {@link FlatIndex} makes them exclusive with searches, so each search batch sees all of an update or none.
 *
 * <p><b>Thread safety.</b> Every method may be called by any number of threads at once. Futures are
 * completed on the engine's own threads (dispatcher and batch threads): a dependent stage attached with a
 * non-async method ({@code thenApply}, {@code whenComplete}, ...) runs there and holds up the next batch
 * while it runs, so attach slow work with the {@code ...Async} methods. The blocking methods refuse to run
 * on the engine's own threads (they would wait for themselves); {@link #close()} may run there.
 *
 * <p><b>Ownership and lifetime.</b> The engine does not own the encoder or the index: the caller closes them,
 * after the engine. {@link #close()} stops accepting requests, fails the ones still queued with
 * {@link EngineClosedException}, lets the running batches finish and joins the threads. It is idempotent.
 */
public final class Engine implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger("dev.latent.engine");

    /** A dispatcher or batch thread of one engine: blocking calls on it would wait for themselves. */
    private static final class EngineThread extends Thread {
        final Engine owner;

        EngineThread(Engine owner, Runnable r, String name) {
            super(r, name);
            this.owner = owner;
            setDaemon(true);
        }
    }

    /**
     * The encoder as the engine calls it: one batch of texts in, one row per text out, in order. A fake can
     * be a lambda; {@link #of(TextEncoder)} adapts the real one.
     */
    @FunctionalInterface
    public interface Encoder {
        /**
         * Encodes {@code texts}; {@code queries} selects the model's query prefix. Returns a
         * {@code texts.size() × d} matrix that the engine closes.
         */
        FloatMatrix encode(List<String> texts, boolean queries);

        /**
         * Tokens {@code text} becomes, for the token budget; called on the submitting thread. The default
         * estimates one token per four characters plus two special tokens.
         */
        default int tokens(String text) {
            return text.length() / 4 + 2;
        }

        /** Where encoding runs, for the metrics: for example {@code all-minilm-l6-v2-q on CPU}. */
        default String describe() {
            return "custom";
        }

        /**
         * Whether {@link #encodeUnpooled} leaves token embeddings in device memory, so that a searcher that
         * reads them there ({@link Searcher#searchesDeviceTokens()}) can take text-search requests without
         * the vectors crossing to the host. By default false.
         */
        default boolean encodesOnDevice() {
            return false;
        }

        /**
         * Encodes {@code texts} as queries in one run and hands the token embeddings, not yet pooled, to
         * {@code use} while they are alive (see {@link TextEncoder#encodeBound}). By default unsupported.
         */
        default <T> T encodeUnpooled(List<String> texts, Function<TokenEmbeddings, T> use) {
            throw new UnsupportedOperationException("this encoder (" + describe() + ") gives no token embeddings");
        }

        /**
         * The text encoder, with its own token count ({@link TextEncoder#countTokens}); on the CUDA provider
         * it encodes text searches into device memory ({@link #encodesOnDevice()}).
         */
        static Encoder of(TextEncoder encoder) {
            Objects.requireNonNull(encoder, "encoder");
            return new Encoder() {
                @Override
                public FloatMatrix encode(List<String> texts, boolean queries) {
                    return queries ? encoder.encodeQueries(texts) : encoder.encode(texts);
                }

                @Override
                public int tokens(String text) {
                    return encoder.countTokens(text);
                }

                @Override
                public String describe() {
                    return encoder.modelName() + " on " + encoder.provider();
                }

                @Override
                public boolean encodesOnDevice() {
                    return "CUDA".equals(encoder.provider());
                }

                @Override
                public <T> T encodeUnpooled(List<String> texts, Function<TokenEmbeddings, T> use) {
                    return encoder.encodeBound(texts, true, encodesOnDevice() ? OnnxModel.Placement.DEVICE
                            : OnnxModel.Placement.HOST, use);
                }
            };
        }
    }

    /**
     * The index as the engine calls it. {@link #search} must be safe to call while {@link #add} and
     * {@link #remove} run on other threads, and see each update whole or not at all.
     */
    public interface Searcher {
        /** Vector dimension. */
        int dimension();

        /** The metric, for the vector rule on queries. */
        Metric metric();

        /** Exact top-k for each row of {@code queries} (the engine owns and closes {@code queries}). */
        Neighbors search(FloatMatrix queries, int k);

        /** Adds one vector under {@code id}. */
        void add(long id, float[] vector);

        /** Removes {@code id}; whether it was there. */
        boolean remove(long id);

        /** Where searches run, for the metrics: for example {@code native CPU: AVX-512, 2 threads}. */
        default String describe() {
            return "custom";
        }

        /** Whether {@link #searchPooled} reads token embeddings in device memory where they are. By default false. */
        default boolean searchesDeviceTokens() {
            return false;
        }

        /**
         * Exact top-k for the vectors pooled from {@code tokens} (an encoder's output, alive only during this
         * call). By default unsupported.
         */
        default Neighbors searchPooled(TokenEmbeddings tokens, int k) {
            throw new UnsupportedOperationException("this searcher (" + describe() + ") takes no token embeddings");
        }

        /**
         * Writes the index atomically to {@code file} while searches, adds and removes go on; the file holds
         * the index as it was at one moment. By default unsupported.
         */
        default void save(Path file) throws IOException {
            throw new UnsupportedOperationException("this searcher (" + describe() + ") cannot save");
        }

        /**
         * A {@link FlatIndex} (safe for concurrent search, add and remove by its read-write lock). When the
         * index searches on a GPU and a batch fails there (a CUDA error, device memory exhausted or past its
         * budget), that batch is searched again on the host ({@link FlatIndex#searchOnHost}); the first such
         * fallback is logged as a warning with its cause, later ones at FINE.
         */
        static Searcher of(FlatIndex index) {
            Objects.requireNonNull(index, "index");
            AtomicBoolean warned = new AtomicBoolean();
            return new Searcher() {
                @Override
                public int dimension() {
                    return index.dimension();
                }

                @Override
                public Metric metric() {
                    return index.metric();
                }

                @Override
                public Neighbors search(FloatMatrix queries, int k) {
                    try {
                        return index.search(queries, k);
                    } catch (IllegalStateException e) {
                        // Device failures surface as IllegalStateException; on the host, and once closed, rethrow.
                        if (!"cuda".equals(index.backend().name())) {
                            throw e;
                        }
                        Level level = warned.compareAndSet(false, true) ? Level.WARNING : Level.FINE;
                        LOG.log(level, "a search batch of " + queries.rows() + " failed on " + index.backend().description()
                                + "; searching it on the host instead (logged once; later ones at FINE)", e);
                        return index.searchOnHost(queries, k);
                    }
                }

                @Override
                public void add(long id, float[] vector) {
                    index.add(id, vector);
                }

                @Override
                public boolean remove(long id) {
                    return index.remove(id) > 0;
                }

                @Override
                public String describe() {
                    return index.backend().description();
                }

                @Override
                public void save(Path file) throws IOException {
                    index.save(file);
                }

                @Override
                public boolean searchesDeviceTokens() {
                    return index.searchesDeviceTokens();
                }

                @Override
                public Neighbors searchPooled(TokenEmbeddings tokens, int k) {
                    return index.searchPooled(tokens, k);
                }
            };
        }
    }

    private final Encoder encoder;
    private final Searcher searcher;
    /** Text searches encode into device memory and search there in one step (both sides on the GPU). */
    private final boolean deviceTextSearch;
    private final AtomicBoolean deviceFallbackWarned = new AtomicBoolean();
    private final long maxWaitNanos;
    private final int maxTextLength;
    private final int maxK;
    private final long defaultTimeoutNanos; // 0: no deadline
    private final long blockNanos;          // < 0: reject at once when full
    private final Lane<EncodeRequest> encodeLane;
    private final Lane<SearchRequest> searchLane;
    private final ScheduledThreadPoolExecutor timer;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Engine(Builder b) {
        this.encoder = b.encoder;
        this.searcher = b.searcher;
        this.deviceTextSearch = encoder != null && searcher != null && encoder.encodesOnDevice()
                && searcher.searchesDeviceTokens();
        this.maxWaitNanos = b.maxWait.toNanos();
        this.maxTextLength = b.maxTextLength;
        this.maxK = b.maxK;
        this.defaultTimeoutNanos = b.defaultTimeout == null ? 0 : b.defaultTimeout.toNanos();
        this.blockNanos = b.blockWhenFull == null ? -1 : b.blockWhenFull.toNanos();
        this.timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "latent-engine-deadlines");
            t.setDaemon(true);
            return t;
        });
        timer.setRemoveOnCancelPolicy(true);
        this.encodeLane = encoder == null ? null
                : new EncodeLane(b.queueCapacity, b.encodeConcurrency, b.maxBatchTexts, b.tokenBudget);
        this.searchLane = searcher == null ? null
                : new SearchLane(b.queueCapacity, b.searchConcurrency, b.maxBatchQueries);
        if (encodeLane != null) {
            encodeLane.start();
        }
        if (searchLane != null) {
            searchLane.start();
        }
    }

    /** A builder; an encoder, an index or both must be set. */
    public static Builder builder() {
        return new Builder();
    }

    // ------------------------------------------------------------------ encode

    /**
     * Queues {@code text} for encoding (as a passage) and returns its vector's future.
     *
     * @throws IllegalArgumentException for a text longer than the limit
     * @throws EngineRejectedException when the queue is full
     * @throws EngineClosedException after {@link #close()}
     * @throws IllegalStateException when the engine has no encoder
     */
    public CompletableFuture<float[]> encodeAsync(String text) {
        return encodeAsync(text, null);
    }

    /** As {@link #encodeAsync(String)}, with a deadline {@code timeout} from now (null: the default). */
    public CompletableFuture<float[]> encodeAsync(String text, Duration timeout) {
        EncodeRequest r = newEncode(text, false, deadline(timeout));
        encodeLane.submit(r, false);
        return r.future;
    }

    /** As {@link #encodeAsync(String)} with the model's query prefix (for models that have one). */
    public CompletableFuture<float[]> encodeQueryAsync(String text) {
        EncodeRequest r = newEncode(text, true, deadline(null));
        encodeLane.submit(r, false);
        return r.future;
    }

    /** Encodes {@code text}, waiting for the result; exceptions as {@link #encodeAsync(String)} and its future. */
    public float[] encode(String text) {
        checkNotDispatcher();
        return await(encodeAsync(text));
    }

    // ------------------------------------------------------------------ search

    /**
     * Queues one query vector for an exact top-k search; the future's {@link Neighbors} has one query and
     * {@code min(k, index size)} results, as the caller's ids.
     *
     * @throws IllegalArgumentException for k outside 1..{@link Builder#maxK}, a query of the wrong dimension
     *     or one that breaks the vector rule
     * @throws EngineRejectedException when the queue is full
     * @throws EngineClosedException after {@link #close()}
     * @throws IllegalStateException when the engine has no index
     */
    public CompletableFuture<Neighbors> searchAsync(float[] query, int k) {
        return searchAsync(query, k, null);
    }

    /** As {@link #searchAsync(float[], int)}, with a deadline {@code timeout} from now (null: the default). */
    public CompletableFuture<Neighbors> searchAsync(float[] query, int k, Duration timeout) {
        SearchRequest r = newSearch(query, k, deadline(timeout));
        searchLane.submit(r, false);
        return r.future;
    }

    /** Searches, waiting for the result; exceptions as {@link #searchAsync(float[], int)} and its future. */
    public Neighbors search(float[] query, int k) {
        checkNotDispatcher();
        return await(searchAsync(query, k));
    }

    /**
     * Encodes {@code text} as a query, then searches with its vector: one request, one future, one deadline
     * for both steps. Once the encode step is done the search step is queued even when the search queue
     * is full (it was admitted already). Cancelling the future cancels whichever step has not started.
     */
    public CompletableFuture<Neighbors> searchTextAsync(String text, int k) {
        return searchTextAsync(text, k, null);
    }

    /** As {@link #searchTextAsync(String, int)}, with a deadline {@code timeout} from now (null: the default). */
    public CompletableFuture<Neighbors> searchTextAsync(String text, int k, Duration timeout) {
        checkK(k);
        requireSearcher();
        long deadline = deadline(timeout);
        if (deviceTextSearch) {
            // Encode and search in one step of the encode lane: the vectors stay on the device between them.
            EncodeRequest er = newEncode(text, true, deadline, k);
            er.future.whenComplete((v, e) -> {
                if (e != null) {
                    er.neighbors.completeExceptionally(unwrap(e));
                }
            });
            er.neighbors.whenComplete((v, e) -> {
                if (er.neighbors.isCancelled()) {
                    er.future.cancel(false);
                }
            });
            encodeLane.submit(er, false);
            return er.neighbors;
        }
        EncodeRequest er = newEncode(text, true, deadline);
        CompletableFuture<Neighbors> out = new CompletableFuture<>();
        AtomicReference<CompletableFuture<?>> step = new AtomicReference<>(er.future);
        out.whenComplete((v, e) -> {
            if (out.isCancelled()) {
                step.get().cancel(false);
            }
        });
        er.future.whenComplete((vector, e) -> {
            if (e != null) {
                out.completeExceptionally(unwrap(e));
                return;
            }
            try {
                SearchRequest sr = newSearch(vector, k, deadline);
                step.set(sr.future);
                sr.future.whenComplete((nb, e2) -> {
                    if (e2 != null) {
                        out.completeExceptionally(unwrap(e2));
                    } else {
                        out.complete(nb);
                    }
                });
                if (out.isCancelled()) {
                    sr.future.cancel(false);
                    return;
                }
                searchLane.submit(sr, true);
            } catch (RuntimeException ex) {
                out.completeExceptionally(ex);
            }
        });
        encodeLane.submit(er, false);
        return out;
    }

    /** Encodes and searches, waiting for the result; see {@link #searchTextAsync(String, int)}. */
    public Neighbors searchText(String text, int k) {
        checkNotDispatcher();
        return await(searchTextAsync(text, k));
    }

    // ------------------------------------------------------------------ live updates

    /**
     * Adds one vector to the index under {@code id}, on the calling thread (not queued).
     *
     * @throws IllegalArgumentException as the index's add (dimension, vector rule, id already stored)
     */
    public void add(long id, float[] vector) {
        checkOpen();
        requireSearcher();
        searcher.add(id, vector);
    }

    /** Removes {@code id} from the index, on the calling thread; whether it was there. */
    public boolean remove(long id) {
        checkOpen();
        requireSearcher();
        return searcher.remove(id);
    }

    /**
     * Saves the index atomically to {@code file}, on the calling thread, while the engine serves: a
     * {@link FlatIndex} blocks searches, adds and removes only while it pins a snapshot (O(1)), and the file
     * holds the index as it was at that moment. A failed save leaves any earlier file at that path as it was.
     *
     * @throws UnsupportedOperationException when the searcher cannot save
     */
    public void save(Path file) throws IOException {
        checkOpen();
        requireSearcher();
        searcher.save(Objects.requireNonNull(file, "file"));
    }

    // ------------------------------------------------------------------ metrics and lifetime

    /** A snapshot of the counters and latencies. */
    public EngineMetrics metrics() {
        Stats enc = encodeLane == null ? Lane.emptyStats() : encodeLane.stats();
        Stats sea = searchLane == null ? Lane.emptyStats() : searchLane.stats();
        String encoderWhere = encoder == null ? "none" : encoder.describe();
        String searchWhere = searcher == null ? "none" : searcher.describe();
        return new EngineMetrics() {
            @Override
            public Stats stats(Operation op) {
                return op == Operation.ENCODE ? enc : sea;
            }

            @Override
            public String encoder() {
                return encoderWhere;
            }

            @Override
            public String searcher() {
                return searchWhere;
            }
        };
    }

    /**
     * Stops accepting requests, fails the queued ones with {@link EngineClosedException}, waits for the
     * running batches and joins the dispatcher threads. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        // Encode first: a text search whose encode step finishes meanwhile still reaches the search queue,
        // which then closes it out like the rest.
        if (encodeLane != null) {
            encodeLane.close();
        }
        if (searchLane != null) {
            searchLane.close();
        }
        timer.shutdownNow();
    }

    // ------------------------------------------------------------------ requests

    private long deadline(Duration timeout) {
        long nanos = timeout != null ? timeout.toNanos() : defaultTimeoutNanos;
        if (timeout != null && nanos <= 0) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        return nanos == 0 ? 0 : System.nanoTime() + nanos;
    }

    private EncodeRequest newEncode(String text, boolean query, long deadline) {
        return newEncode(text, query, deadline, 0);
    }

    private EncodeRequest newEncode(String text, boolean query, long deadline, int searchK) {
        Objects.requireNonNull(text, "text");
        if (encodeLane == null) {
            throw new IllegalStateException("this engine has no encoder (Engine.Builder.encoder)");
        }
        if (text.length() > maxTextLength) {
            throw new IllegalArgumentException("text has " + text.length() + " characters; the engine's limit is "
                    + maxTextLength + " (Engine.Builder.maxTextLength)");
        }
        checkOpen();
        return new EncodeRequest(text, query, Math.max(1, encoder.tokens(text)), deadline, searchK);
    }

    private SearchRequest newSearch(float[] query, int k, long deadline) {
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

    private void checkK(int k) {
        if (k < 1) {
            throw new IllegalArgumentException("k must be at least 1, got " + k);
        }
        if (k > maxK) {
            throw new IllegalArgumentException("k = " + k + " is above the engine's limit of " + maxK
                    + " (Engine.Builder.maxK)");
        }
    }

    private void requireSearcher() {
        if (searchLane == null) {
            throw new IllegalStateException("this engine has no index (Engine.Builder.index)");
        }
    }

    private void checkOpen() {
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

    private void checkNotDispatcher() {
        Thread t = Thread.currentThread();
        if (t instanceof EngineThread et && et.owner == this) {
            throw new IllegalStateException("a blocking engine call on one of the engine's own threads (dispatcher"
                    + " thread " + t.getName() + ") would wait for itself; attach the stage with an ...Async method"
                    + " or use the async call");
        }
    }

    private static <T> T await(CompletableFuture<T> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            f.cancel(false);
            Thread.currentThread().interrupt();
            CancellationException c = new CancellationException("interrupted while waiting for the engine");
            c.initCause(e);
            throw c;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new CompletionException(cause);
        }
    }

    private static Throwable unwrap(Throwable e) {
        return e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    }

    /** One caller's request; {@code queued} changes only under its lane's lock. */
    private abstract static class Request<T> {
        final CompletableFuture<T> future = new CompletableFuture<>();
        final long deadline; // System.nanoTime() value, 0: none
        long submitted;
        boolean queued;
        volatile ScheduledFuture<?> timer;

        Request(long deadline) {
            this.deadline = deadline;
        }

        boolean expired(long now) {
            return deadline != 0 && now - deadline >= 0;
        }
    }

    private static final class EncodeRequest extends Request<float[]> {
        final String text;
        final boolean query;
        final int tokens;
        /** A text search done in the encode step (the device path): its k and result; else 0 and null. */
        final int searchK;
        final CompletableFuture<Neighbors> neighbors;

        EncodeRequest(String text, boolean query, int tokens, long deadline, int searchK) {
            super(deadline);
            this.text = text;
            this.query = query;
            this.tokens = tokens;
            this.searchK = searchK;
            this.neighbors = searchK > 0 ? new CompletableFuture<>() : null;
        }
    }

    private static final class SearchRequest extends Request<Neighbors> {
        final float[] query;
        final int k;

        SearchRequest(float[] query, int k, long deadline) {
            super(deadline);
            this.query = query;
            this.k = k;
        }
    }

    // ------------------------------------------------------------------ lanes

    /** One operation's bounded queue, dispatcher thread and counters. */
    private abstract class Lane<R extends Request<?>> implements Runnable {
        final Operation op;
        final int capacity;
        final Semaphore slots;            // batches that may run at once
        final ExecutorService runners;    // null: batches run on the dispatcher thread (concurrency 1)
        final ArrayDeque<R> queue = new ArrayDeque<>();
        final ReentrantLock lock = new ReentrantLock();
        final Condition notEmpty = lock.newCondition();
        final Condition notFull = lock.newCondition();
        final AtomicLong requests = new AtomicLong();
        final AtomicLong rejections = new AtomicLong();
        final AtomicLong completed = new AtomicLong();
        final AtomicLong failed = new AtomicLong();
        final AtomicLong timedOut = new AtomicLong();
        final AtomicLong cancelled = new AtomicLong();
        final AtomicLong batches = new AtomicLong();
        final LatencyWindow latencies = new LatencyWindow(EngineMetrics.LATENCY_WINDOW);
        volatile Thread thread;
        boolean closing; // under lock

        Lane(Operation op, int capacity, int concurrency) {
            this.op = op;
            this.capacity = capacity;
            this.slots = new Semaphore(concurrency);
            String name = "latent-engine-" + op.name().toLowerCase() + "-batch-";
            AtomicLong n = new AtomicLong();
            this.runners = concurrency == 1 ? null : Executors.newFixedThreadPool(concurrency,
                    r -> new EngineThread(Engine.this, r, name + n.incrementAndGet()));
        }

        /** Starts a new batch's budget. */
        abstract void resetBudget();

        /** Whether {@code r} fits the batch being formed (the first request always does); counts it if so. */
        abstract boolean admit(R r, boolean first);

        /** Computes a batch and completes its futures; throws only what the components threw. */
        abstract void compute(List<R> batch);

        void start() {
            thread = new EngineThread(Engine.this, this, "latent-engine-" + op.name().toLowerCase());
            thread.start();
        }

        /** Queues {@code r}; {@code admitted}: a second step of an admitted request, not held to the capacity. */
        void submit(R r, boolean admitted) {
            lock.lock();
            try {
                if (closing) {
                    throw new EngineClosedException("the engine is closed");
                }
                if (!admitted && queue.size() >= capacity) {
                    awaitRoom();
                }
                r.submitted = System.nanoTime();
                r.queued = true;
                queue.addLast(r);
                requests.incrementAndGet();
                notEmpty.signal();
            } finally {
                lock.unlock();
            }
            // Registered after queueing: if the future completes first (a racing cancel), withdraw removes it.
            r.future.whenComplete((v, e) -> {
                ScheduledFuture<?> t = r.timer;
                if (t != null) {
                    t.cancel(false);
                }
                if (e != null) {
                    withdraw(r);
                }
            });
            if (r.deadline != 0 && !r.future.isDone()) {
                try {
                    r.timer = timer.schedule(() -> expire(r), r.deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                } catch (java.util.concurrent.RejectedExecutionException closedMeanwhile) {
                    // close() shut the timer; close() also fails every queued request.
                }
            }
        }

        /** Waits for room per the configuration; caller holds the lock and saw a full queue. */
        private void awaitRoom() {
            if (blockNanos < 0) {
                rejections.incrementAndGet();
                throw new EngineRejectedException(op, op.name().toLowerCase() + " queue is full (" + capacity
                        + " requests waiting); retry later or raise Engine.Builder.queueCapacity");
            }
            long nanos = blockNanos;
            try {
                while (queue.size() >= capacity && !closing) {
                    if (nanos <= 0) {
                        rejections.incrementAndGet();
                        throw new EngineRejectedException(op, op.name().toLowerCase() + " queue stayed full ("
                                + capacity + " requests waiting) for " + Duration.ofNanos(blockNanos));
                    }
                    nanos = notFull.awaitNanos(nanos);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                rejections.incrementAndGet();
                throw new EngineRejectedException(op, "interrupted while waiting for room in the "
                        + op.name().toLowerCase() + " queue");
            }
            if (closing) {
                throw new EngineClosedException("the engine is closed");
            }
        }

        /** A request completed from outside (cancelled, or completed by its caller) while queued: drop it. */
        private void withdraw(R r) {
            lock.lock();
            try {
                if (r.queued && queue.remove(r)) {
                    r.queued = false;
                    cancelled.incrementAndGet();
                    notFull.signal();
                }
            } finally {
                lock.unlock();
            }
        }

        /** The deadline timer: a request still queued at its deadline times out. */
        private void expire(R r) {
            lock.lock();
            try {
                if (!r.queued || !queue.remove(r)) {
                    return;
                }
                r.queued = false;
                timedOut.incrementAndGet();
                notFull.signal();
            } finally {
                lock.unlock();
            }
            r.future.completeExceptionally(timeout(r));
        }

        private EngineTimeoutException timeout(R r) {
            return new EngineTimeoutException(op.name().toLowerCase() + " request's deadline passed after "
                    + Duration.ofNanos(System.nanoTime() - r.submitted) + " in the queue; it was not computed");
        }

        /**
         * The dispatcher: waits for a free batch slot, forms a batch, runs it (on a batch thread when more
         * than one may run at once). While every slot is busy requests accumulate, so batches grow with load.
         */
        @Override
        public void run() {
            List<R> expired = new ArrayList<>();
            while (true) {
                try {
                    slots.acquire();
                } catch (InterruptedException e) {
                    Thread.interrupted(); // not used to stop the thread: close() sets closing
                    continue;
                }
                List<R> batch = new ArrayList<>();
                boolean open;
                lock.lock();
                try {
                    open = fill();
                    if (open) {
                        drain(batch, expired);
                        notFull.signalAll();
                    }
                } catch (InterruptedException e) {
                    Thread.interrupted();
                    open = true;
                } finally {
                    lock.unlock();
                }
                for (R r : expired) {
                    r.future.completeExceptionally(timeout(r));
                }
                expired.clear();
                if (!open) {
                    slots.release();
                    if (runners != null) {
                        runners.shutdown(); // the batches already handed over run to the end
                    }
                    return;
                }
                if (batch.isEmpty()) {
                    slots.release();
                } else if (runners == null) {
                    try {
                        runBatch(batch);
                    } finally {
                        slots.release();
                    }
                } else {
                    runners.execute(() -> {
                        try {
                            runBatch(batch);
                        } finally {
                            slots.release();
                        }
                    });
                }
            }
        }

        /**
         * Waits until the queue holds a full batch or its oldest request has waited maxWait. Caller holds the
         * lock. Returns false when the lane is closing (queued requests are failed by close()).
         */
        private boolean fill() throws InterruptedException {
            while (true) {
                if (closing) {
                    return false;
                }
                R head = queue.peekFirst();
                if (head == null) {
                    notEmpty.await();
                    continue;
                }
                long wait = head.submitted + maxWaitNanos - System.nanoTime();
                if (wait <= 0 || full()) {
                    return true;
                }
                notEmpty.awaitNanos(wait);
            }
        }

        /** Whether the queue holds more than one batch's worth. Caller holds the lock. */
        private boolean full() {
            resetBudget();
            boolean first = true;
            for (R r : queue) {
                if (!admit(r, first)) {
                    return true;
                }
                first = false;
            }
            return false;
        }

        /** Moves the head of the queue into {@code batch} up to the budget. Caller holds the lock. */
        private void drain(List<R> batch, List<R> expired) {
            resetBudget();
            long now = System.nanoTime();
            while (!queue.isEmpty()) {
                R r = queue.peekFirst();
                if (r.future.isDone()) {        // cancelled, its withdraw still to come
                    queue.pollFirst();
                    r.queued = false;
                    cancelled.incrementAndGet();
                    continue;
                }
                if (r.expired(now)) {
                    queue.pollFirst();
                    r.queued = false;
                    timedOut.incrementAndGet();
                    expired.add(r);
                    continue;
                }
                if (!admit(r, batch.isEmpty())) {
                    break;
                }
                queue.pollFirst();
                r.queued = false;
                batch.add(r);
            }
        }

        private void runBatch(List<R> batch) {
            batches.incrementAndGet();
            try {
                compute(batch);
            } catch (Throwable t) {
                // An Error too (an out-of-memory in one batch): its callers get it, the next batch may succeed.
                LOG.log(t instanceof RuntimeException ? Level.FINE : Level.WARNING, op.name().toLowerCase()
                        + " batch of " + batch.size() + " failed; its callers get the cause, the engine keeps serving",
                        t);
                for (R r : batch) {
                    if (!r.future.isDone()) {
                        done(r, false);
                        r.future.completeExceptionally(t);
                    }
                }
            }
        }

        /** Counts a computed request. */
        void done(R r, boolean ok) {
            (ok ? completed : failed).incrementAndGet();
            latencies.record(System.nanoTime() - r.submitted);
        }

        /** Stops the dispatcher, fails the queued requests and joins the thread. */
        void close() {
            List<R> left;
            lock.lock();
            try {
                closing = true;
                left = new ArrayList<>(queue);
                queue.clear();
                for (R r : left) {
                    r.queued = false;
                }
                cancelled.addAndGet(left.size());
                notEmpty.signalAll();
                notFull.signalAll();
            } finally {
                lock.unlock();
            }
            for (R r : left) {
                r.future.completeExceptionally(
                        new EngineClosedException("the engine closed before this request started"));
            }
            // From one of our own threads (a dependent stage that closes the engine) joining would wait for itself.
            if (!(Thread.currentThread() instanceof EngineThread et && et.owner == Engine.this)) {
                boolean interrupted = false;
                while (true) {
                    try {
                        thread.join();
                        break;
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
                if (runners != null) {
                    while (true) {
                        try {
                            if (runners.awaitTermination(1, TimeUnit.DAYS)) {
                                break;
                            }
                        } catch (InterruptedException e) {
                            interrupted = true;
                        }
                    }
                }
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        Stats stats() {
            int depth;
            lock.lock();
            try {
                depth = queue.size();
            } finally {
                lock.unlock();
            }
            long[] q = latencies.quantiles(0.50, 0.99);
            return new Stats(requests.get(), rejections.get(), completed.get(), failed.get(), timedOut.get(),
                    cancelled.get(), batches.get(), depth, Duration.ofNanos(q[0]), Duration.ofNanos(q[1]));
        }

        static Stats emptyStats() {
            return new Stats(0, 0, 0, 0, 0, 0, 0, 0, Duration.ZERO, Duration.ZERO);
        }
    }

    /** Encode batches: at most maxTexts texts and texts × longest (tokens) within the token budget. */
    private final class EncodeLane extends Lane<EncodeRequest> {
        private final int maxTexts;
        private final int tokenBudget;
        private int count;
        private int longest;

        EncodeLane(int capacity, int concurrency, int maxTexts, int tokenBudget) {
            super(Operation.ENCODE, capacity, concurrency);
            this.maxTexts = maxTexts;
            this.tokenBudget = tokenBudget;
        }

        @Override
        void resetBudget() {
            count = 0;
            longest = 0;
        }

        @Override
        boolean admit(EncodeRequest r, boolean first) {
            int l = Math.max(longest, r.tokens);
            if (!first && (count + 1 > maxTexts || (long) (count + 1) * l > tokenBudget)) {
                return false;
            }
            count++;
            longest = l;
            return true;
        }

        @Override
        void compute(List<EncodeRequest> batch) {
            // Passages and queries differ by the model's prefix: one encoder call for each kind present; text
            // searches on the device path are a third call that also searches.
            List<EncodeRequest> passages = new ArrayList<>(batch.size());
            List<EncodeRequest> queries = new ArrayList<>();
            List<EncodeRequest> searches = new ArrayList<>();
            for (EncodeRequest r : batch) {
                (r.searchK > 0 ? searches : r.query ? queries : passages).add(r);
            }
            if (!passages.isEmpty()) {
                encodeGroup(passages, false);
            }
            if (!queries.isEmpty()) {
                encodeGroup(queries, true);
            }
            if (!searches.isEmpty()) {
                encodeAndSearch(searches);
            }
        }

        /** Text searches on the device path: one encoder run, the tokens pooled and searched where they are. */
        private void encodeAndSearch(List<EncodeRequest> group) {
            List<String> texts = new ArrayList<>(group.size());
            int k = 0;
            for (EncodeRequest r : group) {
                texts.add(r.text);
                k = Math.max(k, r.searchK);
            }
            final int kMax = k;
            Neighbors nb;
            try {
                try {
                    nb = encoder.encodeUnpooled(texts, tokens -> searcher.searchPooled(tokens, kMax));
                } catch (IllegalStateException e) {
                    // A device failure (CUDA error, device memory, its budget): the two-step way instead,
                    // whose search falls back to the host in turn.
                    Level level = deviceFallbackWarned.compareAndSet(false, true) ? Level.WARNING : Level.FINE;
                    LOG.log(level, "a text search batch of " + texts.size() + " failed on the device path; encoding"
                            + " and searching it again the host way (logged once; later ones at FINE)", e);
                    try (FloatMatrix q = encoder.encode(texts, true)) {
                        nb = searcher.search(q, kMax);
                    }
                }
                if (nb == null || nb.queries() != texts.size()) {
                    throw new IllegalStateException("the device search returned " + (nb == null ? "null" : nb.queries()
                            + " rows") + " for " + texts.size() + " texts");
                }
            } catch (Throwable t) {
                for (EncodeRequest r : group) {
                    done(r, false);
                    r.future.completeExceptionally(t);
                }
                LOG.log(t instanceof RuntimeException ? Level.FINE : Level.WARNING, "text search batch of "
                        + group.size() + " failed on the device path; its callers get the cause", t);
                return;
            }
            for (int i = 0; i < group.size(); i++) {
                EncodeRequest r = group.get(i);
                done(r, true);
                r.neighbors.complete(SearchLane.first(nb, i, r.searchK));
                r.future.complete(null);
            }
        }

        private void encodeGroup(List<EncodeRequest> group, boolean query) {
            List<String> texts = new ArrayList<>(group.size());
            for (EncodeRequest r : group) {
                texts.add(r.text);
            }
            float[][] rows = new float[group.size()][];
            try (FloatMatrix m = encoder.encode(texts, query)) {
                if (m == null || m.rows() != texts.size()) {
                    throw new IllegalStateException("the encoder returned " + (m == null ? "null" : m.rows() + " rows")
                            + " for " + texts.size() + " texts");
                }
                for (int i = 0; i < rows.length; i++) {
                    rows[i] = m.getRow(i);
                }
            } catch (Throwable t) {
                // Only this group's callers: the other kind in the same batch may have succeeded already.
                for (EncodeRequest r : group) {
                    done(r, false);
                    r.future.completeExceptionally(t);
                }
                LOG.log(t instanceof RuntimeException ? Level.FINE : Level.WARNING, "encode batch of " + group.size()
                        + " failed; its callers get the cause, the engine keeps serving", t);
                return;
            }
            for (int i = 0; i < rows.length; i++) {
                EncodeRequest r = group.get(i);
                done(r, true);
                r.future.complete(rows[i]);
            }
        }
    }

    /** Search batches: at most maxQueries queries, searched with the batch's largest k. */
    private final class SearchLane extends Lane<SearchRequest> {
        private final int maxQueries;
        private int count;

        SearchLane(int capacity, int concurrency, int maxQueries) {
            super(Operation.SEARCH, capacity, concurrency);
            this.maxQueries = maxQueries;
        }

        @Override
        void resetBudget() {
            count = 0;
        }

        @Override
        boolean admit(SearchRequest r, boolean first) {
            if (!first && count + 1 > maxQueries) {
                return false;
            }
            count++;
            return true;
        }

        @Override
        void compute(List<SearchRequest> batch) {
            int d = searcher.dimension();
            int k = 0;
            for (SearchRequest r : batch) {
                k = Math.max(k, r.k);
            }
            Neighbors nb;
            try (FloatMatrix q = FloatMatrix.allocate(batch.size(), d)) {
                for (int i = 0; i < batch.size(); i++) {
                    q.setRow(i, batch.get(i).query);
                }
                nb = searcher.search(q, k);
            }
            if (nb.queries() != batch.size()) {
                throw new IllegalStateException("the index returned results for " + nb.queries() + " queries, "
                        + batch.size() + " were asked");
            }
            for (int i = 0; i < batch.size(); i++) {
                SearchRequest r = batch.get(i);
                done(r, true);
                r.future.complete(first(nb, i, r.k));
            }
        }

        /** The first {@code k} results of query {@code i} of a batch, as a one-query result. */
        static Neighbors first(Neighbors nb, int i, int k) {
            int c = Math.min(k, nb.count());
            return new Neighbors(1, c, Arrays.copyOf(nb.ids(i), c), Arrays.copyOf(nb.scores(i), c), nb.metric());
        }
    }

    /** The latest {@code size} latencies (nanoseconds) of one operation, in a ring. */
    private static final class LatencyWindow {
        private final long[] ring;
        private long count;

        LatencyWindow(int size) {
            ring = new long[size];
        }

        synchronized void record(long nanos) {
            ring[(int) (count++ % ring.length)] = nanos;
        }

        /** The given quantiles (nearest rank) of the window; zeros when it is empty. */
        long[] quantiles(double... qs) {
            long[] copy;
            synchronized (this) {
                copy = Arrays.copyOf(ring, (int) Math.min(count, ring.length));
            }
            Arrays.sort(copy);
            long[] out = new long[qs.length];
            for (int i = 0; i < qs.length && copy.length > 0; i++) {
                int rank = (int) Math.ceil(qs[i] * copy.length);
                out[i] = copy[Math.max(0, Math.min(copy.length - 1, rank - 1))];
            }
            return out;
        }
    }

    // ------------------------------------------------------------------ builder

    /** Configures an {@link Engine}. Not thread-safe. */
    public static final class Builder {
        private Encoder encoder;
        private Searcher searcher;
        private Duration maxWait = Duration.ZERO;
        private int queueCapacity = 1024;
        private Duration blockWhenFull;
        private int maxBatchTexts = 64;
        private int tokenBudget = 64 * 128;
        private int maxBatchQueries = 256;
        private int encodeConcurrency = Math.min(4, Runtime.getRuntime().availableProcessors());
        private int searchConcurrency = 1;
        private int maxTextLength = 16_384;
        private int maxK = 1024;
        private Duration defaultTimeout;

        private Builder() {
        }

        /** The text encoder (not owned: the caller closes it after the engine). */
        public Builder encoder(TextEncoder encoder) {
            this.encoder = Encoder.of(encoder);
            return this;
        }

        /** Any encoder, for example a fake in tests. */
        public Builder encoder(Encoder encoder) {
            this.encoder = Objects.requireNonNull(encoder, "encoder");
            return this;
        }

        /** The index searched and updated (not owned: the caller closes it after the engine). */
        public Builder index(FlatIndex index) {
            this.searcher = Searcher.of(index);
            return this;
        }

        /** Any searcher, for example a fake in tests. */
        public Builder searcher(Searcher searcher) {
            this.searcher = Objects.requireNonNull(searcher, "searcher");
            return this;
        }

        /**
         * Longest a request waits for others to join its batch while a batch slot is free (default zero: a
         * free slot takes whatever waits, and batches grow only while every slot is busy, as in
         * text-embeddings-inference). On the 2-core build machine (int8 MiniLM, CPU) a 2 ms wait cost
         * throughput at every load: 8 callers 298 texts/s with 2 ms against 421 with zero, 64 callers 353
         * against 582, because callers in a closed loop send nothing new while they wait. A wait can pay
         * where a bigger batch costs little more than a small one and callers arrive independently (a GPU).
         */
        public Builder maxWait(Duration maxWait) {
            if (maxWait.isNegative()) {
                throw new IllegalArgumentException("maxWait must not be negative, got " + maxWait);
            }
            this.maxWait = maxWait;
            return this;
        }

        /** Requests each operation's queue holds (default 1024). */
        public Builder queueCapacity(int requests) {
            this.queueCapacity = positive(requests, "queueCapacity");
            return this;
        }

        /** A full queue rejects at once with {@link EngineRejectedException} (the default). */
        public Builder rejectWhenFull() {
            this.blockWhenFull = null;
            return this;
        }

        /** A full queue makes the caller wait up to {@code maxBlock} for room, then rejects. */
        public Builder blockWhenFull(Duration maxBlock) {
            if (maxBlock.isNegative() || maxBlock.isZero()) {
                throw new IllegalArgumentException("maxBlock must be positive, got " + maxBlock);
            }
            this.blockWhenFull = maxBlock;
            return this;
        }

        /** Most texts in one encode batch (default 64). */
        public Builder maxBatchTexts(int texts) {
            this.maxBatchTexts = positive(texts, "maxBatchTexts");
            return this;
        }

        /**
         * Most padded tokens in one encode batch, {@code texts × longest text's tokens} (default 64 × 128). A
         * single text above it still runs, alone.
         */
        public Builder tokenBudget(int tokens) {
            this.tokenBudget = positive(tokens, "tokenBudget");
            return this;
        }

        /** Most queries in one search batch (default 256). */
        public Builder maxBatchQueries(int queries) {
            this.maxBatchQueries = positive(queries, "maxBatchQueries");
            return this;
        }

        /**
         * Encode batches that may run at once (default: cores, at most 4, as the text encoder's default
         * workers). With one, a batch's last internal run leaves the other workers idle until the next batch
         * starts; with as many as the encoder has workers they stay busy. 1 makes batches strictly one after
         * another, on the dispatcher thread.
         */
        public Builder encodeConcurrency(int batches) {
            this.encodeConcurrency = positive(batches, "encodeConcurrency");
            return this;
        }

        /** Search batches that may run at once (default 1: the native backends use every core for one search). */
        public Builder searchConcurrency(int batches) {
            this.searchConcurrency = positive(batches, "searchConcurrency");
            return this;
        }

        /** Longest text accepted, in characters (default 16384). */
        public Builder maxTextLength(int chars) {
            this.maxTextLength = positive(chars, "maxTextLength");
            return this;
        }

        /** Largest k accepted (default 1024). */
        public Builder maxK(int k) {
            this.maxK = positive(k, "maxK");
            return this;
        }

        /** Deadline for requests that name none (default: none). */
        public Builder defaultTimeout(Duration timeout) {
            if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
                throw new IllegalArgumentException("defaultTimeout must be positive, got " + timeout);
            }
            this.defaultTimeout = timeout;
            return this;
        }

        /** Starts the dispatcher threads. */
        public Engine build() {
            if (encoder == null && searcher == null) {
                throw new IllegalStateException("an engine needs an encoder, an index or both");
            }
            return new Engine(this);
        }

        private static int positive(int v, String name) {
            if (v < 1) {
                throw new IllegalArgumentException(name + " must be at least 1, got " + v);
            }
            return v;
        }
    }
}
