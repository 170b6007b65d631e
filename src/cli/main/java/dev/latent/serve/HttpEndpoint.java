package dev.latent.serve;

import dev.latent.engine.Engine;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small HTTP endpoint in front of an {@link Engine}, for callers outside the JVM, on Jetty's non-blocking
 * server core. JSON in and out:
 *
 * <ul>
 *   <li>{@code POST /v1/embed} {@code {"texts": ["...", ...]}} → {@code {"dimension": d, "vectors": [[...], ...]}}
 *       (each text is its own engine request, so concurrent callers share batches);</li>
 *   <li>{@code POST /v1/search} {@code {"text": "...", "k": 10}} or {@code {"vector": [...], "k": 10}}, optionally
 *       with a {@code "filter"} → {@code {"results": [{"id": 7, "score": 0.83, "key": ..., "text": ..., "payload":
 *       {...}}, ...]}};</li>
 *   <li>OpenAI's {@code POST /v1/embeddings} and Text Embeddings Inference's {@code POST /embed}, in those servers'
 *       shapes ({@link CompatRoutes});</li>
 *   <li>{@code GET /health} → {@code {"status": "ok"}}; {@code GET /metrics} → every meter in Prometheus's text
 *       format ({@link HttpMetrics}: the engine's, and a latency histogram per route and status);
 *       {@code GET /v1/metrics} → the engine's counters and p50/p99 latencies per operation as JSON.</li>
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
 *
 * <p>This class is the server's lifecycle: it builds and starts Jetty's server, connector, connection limit and
 * the worker pool, and stops them. The exchanges are the rest of the package's: {@code Routes} picks the route,
 * {@code BodyReader} reads a body as it arrives, {@code JsonBodies} parses it, {@code EngineRoutes} answers it
 * from the engine, {@code Responses} writes answers and errors ({@code HttpError} maps failures to statuses), and
 * {@code HeaderDeadlines} closes connections that never send their headers.
 */
public final class HttpEndpoint implements AutoCloseable {
    /** The endpoint's one logger, for every part of it. */
    static final Logger LOG = LoggerFactory.getLogger(HttpEndpoint.class.getName());

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

    private final Server server;
    private final ServerConnector connector;
    private final ThreadPoolExecutor workers;
    private final HeaderDeadlines deadlines;
    private boolean closed;

    private HttpEndpoint(Server server, ServerConnector connector, ThreadPoolExecutor workers,
            HeaderDeadlines deadlines) {
        this.server = server;
        this.connector = connector;
        this.workers = workers;
        this.deadlines = deadlines;
    }

    /** Starts serving {@code engine} on {@code address} (port 0: any free port, see {@link #port()}), read-only. */
    public static HttpEndpoint start(Engine engine, InetSocketAddress address, Options options) throws IOException {
        return start(engine, address, options, null);
    }

    /**
     * As {@link #start(Engine, InetSocketAddress, Options)}, taking writes ({@code POST /v1/upsert}, {@code /v1/delete},
     * {@code /v1/save}) through {@code writes} (null: read-only, those routes answer 403).
     */
    public static HttpEndpoint start(Engine engine, InetSocketAddress address, Options options, IndexWrites writes)
            throws IOException {
        return start(engine, address, options, writes, Access.open());
    }

    /**
     * As {@link #start(Engine, InetSocketAddress, Options, IndexWrites)}, with {@code access}: the keys callers must
     * send, and the browser origins allowed ({@link Access}).
     */
    public static HttpEndpoint start(Engine engine, InetSocketAddress address, Options options, IndexWrites writes,
            Access access) throws IOException {
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
        server.setHandler(new Routes(new EngineRoutes(engine, options), new CompatRoutes(engine, options), new HttpMetrics(engine),
                writes, access, options, deadlines, workers,
                server.getScheduler()));
        server.setErrorHandler(Responses::jettyError);
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
        return new HttpEndpoint(server, connector, workers, deadlines);
    }

    /** The port served. */
    public int port() {
        return connector.getLocalPort();
    }

    /** Connections open now (for tests and metrics). */
    public int connections() {
        return deadlines.open();
    }

    /**
     * Stops accepting, waits up to a second for exchanges in progress, then up to five seconds for the workers to
     * finish theirs. Idempotent; the engine is left open.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            server.stop();
        } catch (Exception e) {
            LOG.debug("stopping the HTTP server", e);
        }
        workers.shutdown();
        try {
            workers.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
