package dev.latent.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.latent.core.Neighbors;
import dev.latent.engine.Engine;
import dev.latent.engine.EngineClosedException;
import dev.latent.engine.EngineMetrics;
import dev.latent.engine.EngineRejectedException;
import dev.latent.engine.EngineTimeoutException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.component.AbstractLifeCycle;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * A small HTTP endpoint in front of an {@link Engine}, for callers outside the JVM, on Jetty's non-blocking
 * server core. JSON in and out:
 *
 * <ul>
 *   <li>{@code POST /v1/embed} {@code {"texts": ["...", ...]}} → {@code {"dimension": d, "vectors": [[...], ...]}}
 *       (each text is its own engine request, so concurrent callers share batches);</li>
 *   <li>{@code POST /v1/search} {@code {"text": "...", "k": 10}} or {@code {"vector": [...], "k": 10}} →
 *       {@code {"results": [{"id": 7, "score": 0.83}, ...]}};</li>
 *   <li>{@code GET /health} → {@code {"status": "ok"}}; {@code GET /metrics} → the engine's counters and
 *       p50/p99 latencies per operation.</li>
 * </ul>
 *
 * <p><b>Limits.</b> A body larger than {@link Options#maxBodyBytes} is refused with 413 before it is read whole;
 * more than {@link Options#maxTexts} texts per request with 400. Errors are JSON {@code {"error": "..."}}: 400 for
 * malformed JSON (with its line and column), unknown or missing fields and values the engine refuses; 404 and
 * 405 for other paths and methods; 408 for a body not received within its deadline; 503 with {@code Retry-After}
 * when the engine's queue is full or it is closing; 504 when a request's deadline passed in the queue; 500 for
 * anything else (logged).
 *
 * <p><b>Slow clients.</b> Requests are read without holding a thread: headers and bodies are parsed as bytes
 * arrive, and only a complete request is handed to a worker ({@link Options#threads} of them wait on the engine).
 * A connection that does not complete a request's headers within {@link Options#headerTimeout} of opening (or of
 * its previous response) is closed, as is one whose body does not arrive within {@link Options#bodyTimeout} (408);
 * a connection with no traffic at all for {@link Options#idleTimeout} is closed too; at most
 * {@link Options#maxConnections} connections are accepted at once (more wait in the listen backlog). So clients
 * sending one byte a second cannot take the workers, and {@code /health} (answered without a worker) stays
 * answerable under such load.
 *
 * <p>Thread-safe; {@link #close()} stops accepting, waits up to a second for exchanges in progress and is
 * idempotent. The engine stays the caller's.
 */
public final class HttpEndpoint implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(HttpEndpoint.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Limits of the endpoint.
     *
     * @param maxBodyBytes   largest request body accepted
     * @param maxTexts       most texts in one embed request
     * @param maxK           largest k of a search request
     * @param threads        worker threads (each waits for its engine requests)
     * @param maxConnections most connections open at once
     * @param headerTimeout  longest time from a connection's opening, or its previous response, to the end of a
     *                       request's headers
     * @param bodyTimeout    longest time from the end of a request's headers to the end of its body
     * @param idleTimeout    longest time a connection may pass without any traffic
     */
    public record Options(int maxBodyBytes, int maxTexts, int maxK, int threads, int maxConnections,
                          Duration headerTimeout, Duration bodyTimeout, Duration idleTimeout) {
        public Options {
            if (maxBodyBytes < 1 || maxTexts < 1 || maxK < 1 || threads < 1 || maxConnections < 1) {
                throw new IllegalArgumentException("endpoint limits must be >= 1");
            }
            for (Duration d : new Duration[] {headerTimeout, bodyTimeout, idleTimeout}) {
                if (d == null || d.isNegative() || d.isZero()) {
                    throw new IllegalArgumentException("endpoint timeouts must be positive");
                }
            }
        }

        /** These body, text, k and thread limits, with the default connection limit and timeouts. */
        public Options(int maxBodyBytes, int maxTexts, int maxK, int threads) {
            this(maxBodyBytes, maxTexts, maxK, threads, 1024, Duration.ofSeconds(10), Duration.ofSeconds(30),
                    Duration.ofSeconds(30));
        }

        /** 1 MiB bodies, 256 texts, k up to 1,024, 32 worker threads, 1,024 connections, timeouts 10 s, 30 s, 30 s. */
        public static Options defaults() {
            return new Options(1 << 20, 256, 1024, 32);
        }

        /** The same limits with other connection limit and timeouts. */
        public Options withConnections(int maxConnections, Duration headerTimeout, Duration bodyTimeout,
                Duration idleTimeout) {
            return new Options(maxBodyBytes, maxTexts, maxK, threads, maxConnections, headerTimeout, bodyTimeout,
                    idleTimeout);
        }
    }

    private final Engine engine;
    private final Options options;
    private final Server server;
    private final ServerConnector connector;
    private final ThreadPoolExecutor workers;
    private final HeaderDeadlines deadlines;
    private boolean closed;

    private HttpEndpoint(Engine engine, Options options, Server server, ServerConnector connector,
            ThreadPoolExecutor workers, HeaderDeadlines deadlines) {
        this.engine = engine;
        this.options = options;
        this.server = server;
        this.connector = connector;
        this.workers = workers;
        this.deadlines = deadlines;
    }

    /** Starts serving {@code engine} on {@code address} (port 0: any free port, see {@link #port()}). */
    public static HttpEndpoint start(Engine engine, InetSocketAddress address, Options options) throws IOException {
        QueuedThreadPool pool = new QueuedThreadPool(64, 4);
        pool.setName("latent-http-io");
        pool.setDaemon(true);
        Server server = new Server(pool);
        server.setStopTimeout(1000);
        HttpConfiguration config = new HttpConfiguration();
        config.setSendServerVersion(false);
        config.setSendDateHeader(false);
        config.setRequestHeaderSize(16 << 10);
        ServerConnector connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(config));
        connector.setHost(address.getHostString());
        connector.setPort(address.getPort());
        connector.setIdleTimeout(options.idleTimeout().toMillis());
        server.addConnector(connector);
        server.addBean(new NetworkConnectionLimit(options.maxConnections(), connector));
        HeaderDeadlines deadlines = new HeaderDeadlines(options.headerTimeout());
        connector.addBean(deadlines);
        // One request per connection at a time (HTTP/1.1): the queue never holds more than the connections.
        ThreadPoolExecutor workers = new ThreadPoolExecutor(options.threads(), options.threads(), 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(options.maxConnections()), r -> {
                    Thread t = new Thread(r, "latent-http");
                    t.setDaemon(true);
                    return t;
                });
        HttpEndpoint e = new HttpEndpoint(engine, options, server, connector, workers, deadlines);
        server.setHandler(e.new Routes());
        server.setErrorHandler(HttpEndpoint::jettyError);
        try {
            server.start();
        } catch (Exception x) {
            workers.shutdownNow();
            try {
                server.stop();
            } catch (Exception ignored) {
                // not started
            }
            throw x instanceof IOException io ? io : new IOException("cannot serve on " + address + ": " + x.getMessage(), x);
        }
        return e;
    }

    /** The port served. */
    public int port() {
        return connector.getLocalPort();
    }

    /** Connections open now (for tests and metrics). */
    public int connections() {
        return deadlines.open();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            server.stop();
        } catch (Exception e) {
            LOG.log(Level.FINE, "stopping the HTTP server", e);
        }
        workers.shutdown();
        try {
            workers.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A request the client got wrong: its status and message. */
    private static final class HttpError extends Exception {
        final int status;

        HttpError(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }

    /** Errors Jetty answers itself (headers too large, a malformed request line): JSON like every other error. */
    private static boolean jettyError(Request request, Response response, Callback callback) {
        Object status = request.getAttribute(ErrorHandler.ERROR_STATUS);
        Object message = request.getAttribute(ErrorHandler.ERROR_MESSAGE);
        int code = status instanceof Integer i ? i : 500;
        String text = message == null ? HttpStatus.getMessage(code) : message.toString();
        send(response, callback, code, error(text));
        return true;
    }

    /** The routes: /health and /metrics answered at once, the others once their body is in, on a worker. */
    private final class Routes extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            Connection connection = request.getConnectionMetaData().getConnection();
            deadlines.begin(connection);
            Callback done = Callback.from(callback, () -> deadlines.end(connection));
            String path = Request.getPathInContext(request);
            String method = request.getMethod();
            try {
                switch (path) {
                    case "/health":
                        requireMethod(method, "GET");
                        send(response, done, 200, JSON.createObjectNode().put("status", "ok"));
                        return true;
                    case "/metrics":
                        requireMethod(method, "GET");
                        send(response, done, 200, metrics());
                        return true;
                    case "/v1/embed":
                    case "/v1/search":
                        requireMethod(method, "POST");
                        long declared = request.getLength();
                        if (declared > options.maxBodyBytes()) {
                            throw new HttpError(413, "request body of " + declared + " bytes is larger than the limit of "
                                    + options.maxBodyBytes());
                        }
                        new BodyReader(request, response, done, path).read();
                        return true;
                    default:
                        throw new HttpError(404, "no such endpoint: " + path + " (try /v1/embed, /v1/search, /health, /metrics)");
                }
            } catch (HttpError e) {
                fail(response, done, e);
                return true;
            } catch (RuntimeException | Error e) {
                LOG.log(Level.WARNING, "request failed", e);
                send(response, done, 500, error("internal error: " + e));
                return true;
            }
        }
    }

    /**
     * Reads a request body as its chunks arrive, without a thread waiting: refused past the size limit (413) or
     * the body deadline (408, and the connection closes), then answered on a worker.
     */
    private final class BodyReader implements Runnable {
        private final Request request;
        private final Response response;
        private final Callback callback;
        private final String path;
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final AtomicBoolean finished = new AtomicBoolean();
        private Scheduler.Task deadline;

        BodyReader(Request request, Response response, Callback callback, String path) {
            this.request = request;
            this.response = response;
            this.callback = callback;
            this.path = path;
        }

        void read() {
            deadline = server.getScheduler().schedule(this::expire, options.bodyTimeout().toMillis(), TimeUnit.MILLISECONDS);
            run();
        }

        private void expire() {
            if (finished.compareAndSet(false, true)) {
                response.getHeaders().put(HttpHeader.CONNECTION, "close");
                send(response, callback, 408, error("the request body did not arrive within "
                        + options.bodyTimeout().toSeconds() + " s"));
            }
        }

        /** Reads what has arrived; asks to be called again when more does. */
        @Override
        public void run() {
            while (!finished.get()) {
                Content.Chunk chunk = request.read();
                if (chunk == null) {
                    request.demand(this);
                    return;
                }
                if (Content.Chunk.isFailure(chunk)) {
                    if (finish()) {
                        fail(response, callback, new HttpError(400, "the request body could not be read: "
                                + chunk.getFailure()));
                    }
                    return;
                }
                ByteBuffer b = chunk.getByteBuffer();
                if (bytes.size() + (long) b.remaining() > options.maxBodyBytes()) {
                    chunk.release();
                    if (finish()) {
                        response.getHeaders().put(HttpHeader.CONNECTION, "close");
                        fail(response, callback, new HttpError(413, "request body is larger than the limit of "
                                + options.maxBodyBytes() + " bytes"));
                    }
                    return;
                }
                byte[] part = new byte[b.remaining()];
                b.get(part);
                bytes.write(part, 0, part.length);
                boolean last = chunk.isLast();
                chunk.release();
                if (last) {
                    if (finish()) {
                        answer();
                    }
                    return;
                }
            }
        }

        private boolean finish() {
            if (!finished.compareAndSet(false, true)) {
                return false;
            }
            deadline.cancel();
            return true;
        }

        private void answer() {
            try {
                workers.execute(() -> {
                    try {
                        JsonNode body = parse(bytes.toByteArray());
                        send(response, callback, 200, path.equals("/v1/embed") ? embed(body) : search(body));
                    } catch (HttpError e) {
                        fail(response, callback, e);
                    } catch (RuntimeException | Error e) {
                        LOG.log(Level.WARNING, "request failed", e);
                        send(response, callback, 500, error("internal error: " + e));
                    }
                });
            } catch (RejectedExecutionException e) {
                fail(response, callback, new HttpError(503, "the server is busy or shutting down"));
            }
        }
    }

    private static void fail(Response response, Callback callback, HttpError e) {
        if (e.status == 503) {
            response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
        }
        if (e.status == 405) {
            response.getHeaders().put(HttpHeader.ALLOW, e.getMessage().contains("POST") ? "POST" : "GET");
        }
        send(response, callback, e.status, error(e.getMessage()));
    }

    private static void requireMethod(String method, String allowed) throws HttpError {
        if (!allowed.equals(method)) {
            throw new HttpError(405, "method " + method + " not allowed here; use " + allowed);
        }
    }

    /** A request body as a JSON object. */
    private static JsonNode parse(byte[] bytes) throws HttpError {
        try {
            JsonNode node = JSON.readTree(bytes);
            if (node == null || !node.isObject()) {
                throw new HttpError(400, "the body must be a JSON object");
            }
            return node;
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? ""
                    : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw new HttpError(400, "malformed JSON" + where + ": " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new HttpError(400, "unreadable body: " + e.getMessage());
        }
    }

    private static void onlyFields(JsonNode body, Set<String> allowed) throws HttpError {
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw new HttpError(400, "unknown field '" + f + "' (expected " + String.join(", ", new java.util.TreeSet<>(allowed)) + ")");
            }
        }
    }

    private JsonNode embed(JsonNode body) throws HttpError {
        onlyFields(body, Set.of("texts"));
        JsonNode texts = body.get("texts");
        if (texts == null || !texts.isArray() || texts.isEmpty()) {
            throw new HttpError(400, "'texts' must be a non-empty array of strings");
        }
        if (texts.size() > options.maxTexts()) {
            throw new HttpError(400, texts.size() + " texts in one request, more than the limit of " + options.maxTexts());
        }
        List<CompletableFuture<float[]>> futures = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            JsonNode t = texts.get(i);
            if (!t.isTextual()) {
                cancel(futures);
                throw new HttpError(400, "texts[" + i + "] is not a string");
            }
            try {
                futures.add(engine.encodeAsync(t.asText()));
            } catch (RuntimeException e) {
                cancel(futures);
                throw translate(e, "texts[" + i + "]: ");
            }
        }
        ObjectNode out = JSON.createObjectNode();
        ArrayNode vectors = out.putArray("vectors");
        int d = -1;
        for (CompletableFuture<float[]> f : futures) {
            float[] v = await(f);
            d = v.length;
            ArrayNode row = vectors.addArray();
            for (float x : v) {
                row.add(x);
            }
        }
        out.put("dimension", d);
        return out;
    }

    private JsonNode search(JsonNode body) throws HttpError {
        onlyFields(body, Set.of("text", "vector", "k"));
        JsonNode text = body.get("text");
        JsonNode vector = body.get("vector");
        if ((text == null) == (vector == null)) {
            throw new HttpError(400, "give either 'text' (a string) or 'vector' (an array of numbers)");
        }
        JsonNode kNode = body.get("k");
        int k = 10;
        if (kNode != null) {
            if (!kNode.canConvertToInt() || !kNode.isIntegralNumber()) {
                throw new HttpError(400, "'k' must be an integer");
            }
            k = kNode.asInt();
        }
        if (k < 1 || k > options.maxK()) {
            throw new HttpError(400, "'k' must be between 1 and " + options.maxK() + ", got " + k);
        }
        CompletableFuture<Neighbors> f;
        try {
            if (text != null) {
                if (!text.isTextual()) {
                    throw new HttpError(400, "'text' must be a string");
                }
                f = engine.searchTextAsync(text.asText(), k);
            } else {
                if (!vector.isArray() || vector.isEmpty()) {
                    throw new HttpError(400, "'vector' must be a non-empty array of numbers");
                }
                float[] q = new float[vector.size()];
                for (int i = 0; i < q.length; i++) {
                    if (!vector.get(i).isNumber()) {
                        throw new HttpError(400, "vector[" + i + "] is not a number");
                    }
                    q[i] = (float) vector.get(i).asDouble();
                }
                f = engine.searchAsync(q, k);
            }
        } catch (RuntimeException e) {
            throw translate(e, "");
        }
        Neighbors nb = await(f);
        ObjectNode out = JSON.createObjectNode();
        ArrayNode results = out.putArray("results");
        for (int r = 0; r < nb.count(); r++) {
            results.addObject().put("id", nb.id(0, r)).put("score", nb.score(0, r));
        }
        return out;
    }

    private JsonNode metrics() {
        ObjectNode out = JSON.createObjectNode();
        EngineMetrics m = engine.metrics();
        for (EngineMetrics.Operation op : EngineMetrics.Operation.values()) {
            EngineMetrics.Stats s = m.stats(op);
            out.putObject(op.name().toLowerCase(Locale.ROOT))
                    .put("requests", s.requests()).put("rejections", s.rejections()).put("completed", s.completed())
                    .put("failed", s.failed()).put("timedOut", s.timedOut()).put("cancelled", s.cancelled())
                    .put("batches", s.batches()).put("meanBatchSize", s.meanBatchSize()).put("queueDepth", s.queueDepth())
                    .put("p50Ms", s.p50().toNanos() / 1e6).put("p99Ms", s.p99().toNanos() / 1e6);
        }
        out.put("encoder", m.encoder());
        out.put("searcher", m.searcher());
        return out;
    }

    private static <T> T await(CompletableFuture<T> f) throws HttpError {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HttpError(503, "the server is shutting down");
        } catch (ExecutionException | CompletionException e) {
            throw translate(e.getCause() == null ? e : e.getCause(), "");
        }
    }

    private static HttpError translate(Throwable e, String prefix) {
        if (e instanceof HttpError h) {
            return h;
        }
        if (e instanceof EngineRejectedException || e instanceof EngineClosedException) {
            return new HttpError(503, prefix + e.getMessage());
        }
        if (e instanceof EngineTimeoutException) {
            return new HttpError(504, prefix + e.getMessage());
        }
        if (e instanceof IllegalArgumentException) {
            return new HttpError(400, prefix + e.getMessage());
        }
        LOG.log(Level.WARNING, "request failed", e);
        return new HttpError(500, prefix + "internal error: " + e);
    }

    private static void cancel(List<? extends CompletableFuture<?>> futures) {
        for (CompletableFuture<?> f : futures) {
            f.cancel(false);
        }
    }

    private static ObjectNode error(String message) {
        return JSON.createObjectNode().put("error", message);
    }

    private static void send(Response response, Callback callback, int status, JsonNode body) {
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsString(body).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json; charset=utf-8");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
        response.write(true, ByteBuffer.wrap(bytes), callback);
    }

    /**
     * The header deadline of every open connection: a connection that is not handling a request is closed once
     * {@code timeout} passes since it opened or since its last response, whatever bytes trickle in meanwhile (the
     * idle timeout alone would let a client sending a byte a second keep it forever). Checked every 250 ms.
     */
    private static final class HeaderDeadlines extends AbstractLifeCycle implements Connection.Listener {
        private final long timeoutNanos;
        /** Open connections: the time their current wait for headers began, or -1 while a request is handled. */
        private final Map<Connection, AtomicLong> open = new ConcurrentHashMap<>();
        private ScheduledExecutorService sweeper;

        HeaderDeadlines(Duration timeout) {
            this.timeoutNanos = timeout.toNanos();
        }

        @Override
        protected void doStart() {
            sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "latent-http-deadlines");
                t.setDaemon(true);
                return t;
            });
            sweeper.scheduleWithFixedDelay(this::sweep, 250, 250, TimeUnit.MILLISECONDS);
        }

        @Override
        protected void doStop() {
            sweeper.shutdownNow();
        }

        @Override
        public void onOpened(Connection c) {
            open.put(c, new AtomicLong(System.nanoTime()));
        }

        @Override
        public void onClosed(Connection c) {
            open.remove(c);
        }

        void begin(Connection c) {
            AtomicLong since = open.get(c);
            if (since != null) {
                since.set(-1);
            }
        }

        void end(Connection c) {
            AtomicLong since = open.get(c);
            if (since != null) {
                since.set(System.nanoTime());
            }
        }

        int open() {
            return open.size();
        }

        private void sweep() {
            long now = System.nanoTime();
            for (Map.Entry<Connection, AtomicLong> e : open.entrySet()) {
                long since = e.getValue().get();
                if (since >= 0 && now - since > timeoutNanos) {
                    e.getKey().getEndPoint().close();
                }
            }
        }
    }
}
