package dev.latent.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.latent.core.Neighbors;
import dev.latent.engine.Engine;
import dev.latent.engine.EngineClosedException;
import dev.latent.engine.EngineMetrics;
import dev.latent.engine.EngineRejectedException;
import dev.latent.engine.EngineTimeoutException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A small HTTP endpoint in front of an {@link Engine}, for callers outside the JVM, on the JDK's own
 * {@code com.sun.net.httpserver}. JSON in and out:
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
 * <p>Limits: a body larger than {@link Options#maxBodyBytes} is refused with 413 before it is read whole; more
 * than {@link Options#maxTexts} texts per request with 400. Errors are JSON {@code {"error": "..."}}: 400 for
 * malformed JSON (with its line and column), unknown or missing fields and values the engine refuses; 404 and
 * 405 for other paths and methods; 503 with {@code Retry-After} when the engine's queue is full or it is
 * closing; 504 when a request's deadline passed in the queue; 500 for anything else (logged).
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
     * @param maxBodyBytes largest request body accepted
     * @param maxTexts     most texts in one embed request
     * @param maxK         largest k of a search request
     * @param threads      HTTP worker threads (each waits for its engine requests)
     */
    public record Options(int maxBodyBytes, int maxTexts, int maxK, int threads) {
        public Options {
            if (maxBodyBytes < 1 || maxTexts < 1 || maxK < 1 || threads < 1) {
                throw new IllegalArgumentException("endpoint limits must be >= 1");
            }
        }

        /** 1 MiB bodies, 256 texts, k up to 1,024, 32 worker threads. */
        public static Options defaults() {
            return new Options(1 << 20, 256, 1024, 32);
        }
    }

    private final Engine engine;
    private final Options options;
    private final HttpServer server;
    private final ExecutorService workers;
    private boolean closed;

    private HttpEndpoint(Engine engine, Options options, HttpServer server, ExecutorService workers) {
        this.engine = engine;
        this.options = options;
        this.server = server;
        this.workers = workers;
    }

    /** Starts serving {@code engine} on {@code address} (port 0: any free port, see {@link #port()}). */
    public static HttpEndpoint start(Engine engine, InetSocketAddress address, Options options) throws IOException {
        HttpServer server = HttpServer.create(address, 0);
        ExecutorService workers = Executors.newFixedThreadPool(options.threads(), r -> {
            Thread t = new Thread(r, "latent-http");
            t.setDaemon(true);
            return t;
        });
        HttpEndpoint e = new HttpEndpoint(engine, options, server, workers);
        server.createContext("/", e::handle);
        server.setExecutor(workers);
        server.start();
        return e;
    }

    /** The port served. */
    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        server.stop(1);
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

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            try {
                String path = ex.getRequestURI().getPath();
                String method = ex.getRequestMethod();
                JsonNode reply;
                switch (path) {
                    case "/health":
                        requireMethod(method, "GET");
                        reply = JSON.createObjectNode().put("status", "ok");
                        break;
                    case "/metrics":
                        requireMethod(method, "GET");
                        reply = metrics();
                        break;
                    case "/v1/embed":
                        requireMethod(method, "POST");
                        reply = embed(body(ex));
                        break;
                    case "/v1/search":
                        requireMethod(method, "POST");
                        reply = search(body(ex));
                        break;
                    default:
                        throw new HttpError(404, "no such endpoint: " + path + " (try /v1/embed, /v1/search, /health, /metrics)");
                }
                send(ex, 200, reply);
            } catch (HttpError e) {
                if (e.status == 503) {
                    ex.getResponseHeaders().set("Retry-After", "1");
                }
                if (e.status == 405) {
                    ex.getResponseHeaders().set("Allow", e.getMessage().contains("POST") ? "POST" : "GET");
                }
                send(ex, e.status, error(e.getMessage()));
            } catch (RuntimeException | Error e) {
                LOG.log(Level.WARNING, "request failed", e);
                send(ex, 500, error("internal error: " + e));
            }
        }
    }

    private static void requireMethod(String method, String allowed) throws HttpError {
        if (!allowed.equals(method)) {
            throw new HttpError(405, "method " + method + " not allowed here; use " + allowed);
        }
    }

    /** The body as JSON, refused past the size limit before it is read whole. */
    private JsonNode body(HttpExchange ex) throws IOException, HttpError {
        String declared = ex.getRequestHeaders().getFirst("Content-Length");
        if (declared != null) {
            try {
                if (Long.parseLong(declared.trim()) > options.maxBodyBytes()) {
                    throw new HttpError(413, "request body of " + declared.trim() + " bytes is larger than the limit of "
                            + options.maxBodyBytes());
                }
            } catch (NumberFormatException e) {
                throw new HttpError(400, "bad Content-Length: " + declared);
            }
        }
        byte[] bytes;
        try (InputStream in = ex.getRequestBody()) {
            bytes = in.readNBytes(options.maxBodyBytes() + 1);
        }
        if (bytes.length > options.maxBodyBytes()) {
            throw new HttpError(413, "request body is larger than the limit of " + options.maxBodyBytes() + " bytes");
        }
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

    private static void send(HttpExchange ex, int status, JsonNode body) throws IOException {
        byte[] bytes = JSON.writeValueAsString(body).getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(bytes);
        }
    }
}
