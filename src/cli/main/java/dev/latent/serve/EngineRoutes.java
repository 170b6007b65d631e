package dev.latent.serve;

import static dev.latent.serve.JsonBodies.JSON;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.latent.core.Neighbors;
import dev.latent.engine.Engine;
import dev.latent.engine.EngineMetrics;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import dev.latent.index.Filter;
import dev.latent.space.Record;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The routes answered by the engine: {@code /v1/embed} and {@code /v1/search} (a parsed body in, the JSON answer
 * out, or an {@link HttpError} for what the client got wrong or the engine refused) and {@code /metrics}.
 *
 * <p>Thread-safe: it holds only the engine and the limits, both shared by every exchange. Embed and search wait
 * for the engine's answers, so they run on a worker; {@link #metrics()} does not wait. The engine is the
 * endpoint's caller's: this neither closes it nor outlives the endpoint.
 */
final class EngineRoutes {
    private final Engine engine;
    private final HttpEndpoint.Options options;

    EngineRoutes(Engine engine, HttpEndpoint.Options options) {
        this.engine = engine;
        this.options = options;
    }

    /** The engine these routes answer with. */
    Engine engine() {
        return engine;
    }

    /**
     * {@code {"texts": [...]}} → {@code {"dimension": d, "vectors": [[...], ...]}}; each text is its own engine
     * request, so concurrent callers share batches. On a refusal the texts already submitted are cancelled.
     */
    JsonNode embed(JsonNode body) throws HttpError {
        JsonBodies.onlyFields(body, Set.of("texts"));
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
                throw HttpError.of(e, "texts[" + i + "]: ");
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

    /**
     * {@code {"text": "...", "k": 10}} or {@code {"vector": [...], "k": 10}} (k 10 when absent), optionally with
     * {@code "filter"}: a JSON where-object ({@code {"lang": "en", "year": {"$gte": 2020}}}) or the text syntax
     * ({@code "lang = \"en\""}), see {@link Filter} →
     * {@code {"results": [{"id": 7, "score": 0.83, "key": "doc-7", "text": "...", "payload": {...}}, ...]}},
     * nearest first; key, text and payload are there when the vector has a record. A filtered search runs on the
     * request's thread (the text is still encoded in the engine's batches).
     */
    JsonNode search(JsonNode body) throws HttpError {
        JsonBodies.onlyFields(body, Set.of("text", "vector", "k", "filter"));
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
        Filter filter = filter(body.get("filter"));
        if (text != null && !text.isTextual()) {
            throw new HttpError(400, "'text' must be a string");
        }
        float[] q = null;
        if (vector != null) {
            if (!vector.isArray() || vector.isEmpty()) {
                throw new HttpError(400, "'vector' must be a non-empty array of numbers");
            }
            q = new float[vector.size()];
            for (int i = 0; i < q.length; i++) {
                if (!vector.get(i).isNumber()) {
                    throw new HttpError(400, "vector[" + i + "] is not a number");
                }
                q[i] = (float) vector.get(i).asDouble();
            }
        }
        Neighbors nb;
        try {
            if (filter != null) {
                float[] query = q != null ? q : await(engine.encodeQueryAsync(text.asText()));
                nb = engine.searchFiltered(query, k, filter);
            } else {
                nb = await(text != null ? engine.searchTextAsync(text.asText(), k) : engine.searchAsync(q, k));
            }
        } catch (RuntimeException e) {
            throw HttpError.of(e, "");
        }
        ObjectNode out = JSON.createObjectNode();
        ArrayNode results = out.putArray("results");
        for (int r = 0; r < nb.count(); r++) {
            long id = nb.id(0, r);
            if (id == -1 && Float.isNaN(nb.score(0, r))) {
                continue;   // the padding of a short result
            }
            ObjectNode hit = results.addObject().put("id", id).put("score", nb.score(0, r));
            Record rec = engine.record(id);
            if (rec != null) {
                hit.put("key", rec.key());
                hit.put("text", rec.text());
                hit.set("payload", JSON.valueToTree(rec.payload()));
            }
        }
        return out;
    }

    /** The filter of a request: absent (null), a JSON where-object, or a string in the text syntax. */
    private static Filter filter(JsonNode node) throws HttpError {
        if (node == null || node.isNull()) {
            return null;
        }
        try {
            if (node.isTextual()) {
                return Filter.parse(node.textValue());
            }
            return Filter.fromJson(node);
        } catch (IllegalArgumentException e) {
            throw new HttpError(400, "'filter': " + e.getMessage());
        }
    }

    /** The engine's counters and p50/p99 latencies per operation, and where its work runs. */
    JsonNode metrics() {
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

    /** The engine's answer, or what its failure answers; 503 when the waiting worker is interrupted (shutdown). */
    private static <T> T await(CompletableFuture<T> f) throws HttpError {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HttpError(503, "the server is shutting down");
        } catch (ExecutionException | CompletionException e) {
            throw HttpError.of(e.getCause() == null ? e : e.getCause(), "");
        }
    }

    private static void cancel(List<? extends CompletableFuture<?>> futures) {
        for (CompletableFuture<?> f : futures) {
            f.cancel(false);
        }
    }
}
