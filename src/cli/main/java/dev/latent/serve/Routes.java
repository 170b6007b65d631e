package dev.latent.serve;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * The endpoint's handler: picks the route by path and method (404, 405), answers {@code /health} and
 * {@code /metrics} at once on Jetty's thread, and for {@code /v1/embed} and {@code /v1/search} refuses a declared
 * body over the limit (413), reads the body without a thread waiting ({@link BodyReader}) and hands it whole to
 * a worker, which parses it and waits on the engine ({@link EngineRoutes}); 503 when no worker will take it.
 *
 * <p>Thread-safe: Jetty calls it for many exchanges at once, and it keeps no state of its own. Each exchange
 * marks its connection busy in the {@link HeaderDeadlines} until its response is written. The workers, the
 * scheduler and the deadlines are the endpoint's, which starts and stops them.
 */
final class Routes extends Handler.Abstract {
    private final EngineRoutes engine;
    private final CompatRoutes compat;
    private final HttpMetrics metrics;
    private final IndexWrites writes;   // null: read-only
    private final Access access;
    private final HttpEndpoint.Options options;
    private final HeaderDeadlines deadlines;
    private final Executor workers;
    private final Scheduler scheduler;

    Routes(EngineRoutes engine, CompatRoutes compat, HttpMetrics metrics, IndexWrites writes, Access access,
            HttpEndpoint.Options options, HeaderDeadlines deadlines, Executor workers, Scheduler scheduler) {
        this.writes = writes;
        this.access = access;
        this.engine = engine;
        this.compat = compat;
        this.metrics = metrics;
        this.options = options;
        this.deadlines = deadlines;
        this.workers = workers;
        this.scheduler = scheduler;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        long start = System.nanoTime();
        Connection connection = request.getConnectionMetaData().getConnection();
        deadlines.begin(connection);
        String path = Request.getPathInContext(request);
        Callback done = Callback.from(callback, () -> {
            deadlines.end(connection);
            metrics.record(path, response.getStatus(), start);
        });
        String method = request.getMethod();
        try {
            String origin = access.corsOrigin(request.getHeaders().get(HttpHeader.ORIGIN));
            if (origin != null) {
                response.getHeaders().put(HttpHeader.ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                response.getHeaders().put(HttpHeader.VARY, "Origin");
                if (method.equals("OPTIONS")) {   // a preflight: answered before the key, as browsers send none
                    response.getHeaders().put(HttpHeader.ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS");
                    response.getHeaders().put(HttpHeader.ACCESS_CONTROL_ALLOW_HEADERS, "Authorization, Content-Type");
                    response.getHeaders().put(HttpHeader.ACCESS_CONTROL_MAX_AGE, "600");
                    response.setStatus(204);
                    response.write(true, null, done);
                    return true;
                }
            }
            if (!path.equals("/health") && !access.allows(request.getHeaders().get(HttpHeader.AUTHORIZATION))) {
                response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer");
                throw new HttpError(401, "a key is needed: send the header 'Authorization: Bearer KEY'");
            }
            switch (path) {
                case "/openapi.json":
                    requireMethod(method, "GET");
                    Responses.send(response, done, 200, OpenApi.document());
                    return true;
                case "/health":
                    requireMethod(method, "GET");
                    Responses.send(response, done, 200, JsonBodies.JSON.createObjectNode().put("status", "ok"));
                    return true;
                case "/metrics":
                    requireMethod(method, "GET");
                    Responses.sendText(response, done, 200, metrics.scrape(), "text/plain; version=0.0.4; charset=utf-8");
                    return true;
                case "/v1/metrics":
                    requireMethod(method, "GET");
                    Responses.send(response, done, 200, engine.metrics());
                    return true;
                case "/v1/embed":
                case "/v1/search":
                case "/v1/embeddings":
                case "/embed":
                case "/v1/upsert":
                case "/v1/delete":
                case "/v1/save":
                    requireMethod(method, "POST");
                    if (writes == null && (path.equals("/v1/upsert") || path.equals("/v1/delete") || path.equals("/v1/save"))) {
                        throw new HttpError(403, "this server is read-only: start it with --writable to take " + path);
                    }
                    long declared = request.getLength();
                    if (declared > options.maxBodyBytes()) {
                        throw new HttpError(413, "request body of " + declared + " bytes is larger than the limit of "
                                + options.maxBodyBytes());
                    }
                    new BodyReader(request, response, done, scheduler, options,
                            body -> answer(path, body, response, done)).read();
                    return true;
                default:
                    throw new HttpError(404, "no such endpoint: " + path + " (try /v1/embed, /v1/search, /v1/embeddings, "
                            + "/embed, /v1/upsert, /v1/delete, /v1/save, /health, /metrics, /v1/metrics, /openapi.json)");
            }
        } catch (HttpError e) {
            Responses.fail(response, done, e);
            return true;
        } catch (RuntimeException | Error e) {
            Responses.internalError(response, done, e);
            return true;
        }
    }

    private static void requireMethod(String method, String allowed) throws HttpError {
        if (!allowed.equals(method)) {
            throw new HttpError(405, "method " + method + " not allowed here; use " + allowed);
        }
    }

    /** Answers a whole body of {@code path} on a worker. */
    private void answer(String path, byte[] bytes, Response response, Callback callback) {
        try {
            workers.execute(() -> {
                try {
                    JsonNode body = JsonBodies.parse(bytes);
                    JsonNode answer = switch (path) {
                        case "/v1/embed" -> engine.embed(body);
                        case "/v1/embeddings" -> compat.openAiEmbeddings(body);
                        case "/embed" -> compat.teiEmbed(body);
                        case "/v1/upsert" -> writes.upsert(body, engine.engine(), options.maxTexts());
                        case "/v1/delete" -> writes.delete(body);
                        case "/v1/save" -> writes.save();
                        default -> engine.search(body);
                    };
                    Responses.send(response, callback, 200, answer);
                } catch (HttpError e) {
                    if (path.equals("/v1/embeddings")) {
                        Responses.fail(response, callback, e, CompatRoutes.openAiError(e));
                    } else {
                        Responses.fail(response, callback, e);
                    }
                } catch (RuntimeException | Error e) {
                    Responses.internalError(response, callback, e);
                }
            });
        } catch (RejectedExecutionException e) {
            Responses.fail(response, callback, new HttpError(503, "the server is busy or shutting down"));
        }
    }
}
