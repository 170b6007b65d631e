package dev.latent.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.latent.engine.Engine;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * The embedding routes of other servers, so their clients work unchanged:
 * <ul>
 *   <li>OpenAI's {@code POST /v1/embeddings} ({@code input}: a string or a list of strings; {@code model}, echoed
 *       back as the served model's name; {@code encoding_format} {@code float} or {@code base64}, little-endian
 *       float32 as OpenAI encodes it; {@code dimensions} accepted only when it equals the model's; {@code user}
 *       ignored) → {@code {"object": "list", "data": [{"object": "embedding", "index": i, "embedding": ...}],
 *       "model": ..., "usage": {"prompt_tokens": n, "total_tokens": n}}}, the tokens counted by the model's own
 *       tokenizer. Errors have OpenAI's shape, {@code {"error": {"message", "type", "param", "code"}}}.</li>
 *   <li>Text Embeddings Inference's {@code POST /embed} ({@code inputs}: a string or a list; {@code normalize}
 *       true; {@code truncate} true, as the model always truncates at its maximum length) → a list of vectors.</li>
 * </ul>
 * Every text is its own engine request, so these callers share batches with {@code /v1/embed} and each other.
 * Thread-safe: it holds only the engine and the limits.
 */
final class CompatRoutes {
    private final Engine engine;
    private final HttpEndpoint.Options options;

    CompatRoutes(Engine engine, HttpEndpoint.Options options) {
        this.engine = engine;
        this.options = options;
    }

    /** OpenAI's embeddings request → its response. */
    JsonNode openAiEmbeddings(JsonNode body) throws HttpError {
        JsonBodies.onlyFields(body, Set.of("input", "model", "encoding_format", "dimensions", "user"));
        List<String> texts = texts(body.get("input"), "input");
        boolean base64 = false;
        JsonNode format = body.get("encoding_format");
        if (format != null && !format.isNull()) {
            if (!format.isTextual() || !(format.asText().equals("float") || format.asText().equals("base64"))) {
                throw new HttpError(400, "'encoding_format' must be \"float\" or \"base64\", got " + format);
            }
            base64 = format.asText().equals("base64");
        }
        JsonNode dims = body.get("dimensions");
        if (dims != null && !dims.isNull()) {
            int d = engine.dimension();
            if (!dims.isIntegralNumber() || dims.asInt() != d) {
                throw new HttpError(400, "'dimensions' is " + dims + ", but model " + engine.modelName() + " gives "
                        + d + " dimensions and cannot shorten them; leave it out or send " + d);
            }
        }
        JsonNode model = body.get("model");
        if (model != null && !model.isNull() && !model.isTextual()) {
            throw new HttpError(400, "'model' must be a string");
        }
        long tokens = 0;
        for (String t : texts) {
            tokens += Math.max(0, engine.tokens(t));
        }
        List<float[]> vectors = encode(texts, "input");
        ObjectNode out = JsonBodies.JSON.createObjectNode();
        out.put("object", "list");
        ArrayNode data = out.putArray("data");
        for (int i = 0; i < vectors.size(); i++) {
            ObjectNode e = data.addObject();
            e.put("object", "embedding");
            e.put("index", i);
            float[] v = vectors.get(i);
            if (base64) {
                ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(v);
                e.put("embedding", Base64.getEncoder().encodeToString(b.array()));
            } else {
                ArrayNode a = e.putArray("embedding");
                for (float x : v) {
                    a.add(x);
                }
            }
        }
        out.put("model", engine.modelName());
        out.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
        return out;
    }

    /** Text Embeddings Inference's embed request → a list of vectors. */
    JsonNode teiEmbed(JsonNode body) throws HttpError {
        JsonBodies.onlyFields(body, Set.of("inputs", "normalize", "truncate", "truncation_direction", "prompt_name"));
        List<String> texts = texts(body.get("inputs"), "inputs");
        JsonNode normalize = body.get("normalize");
        if (normalize != null && !normalize.isNull() && !normalize.asBoolean(true)) {
            throw new HttpError(400, "'normalize': false is not offered: model " + engine.modelName()
                    + " gives its vectors as it was exported (normalised for cosine search)");
        }
        JsonNode truncate = body.get("truncate");
        if (truncate != null && !truncate.isNull() && !truncate.asBoolean(true)) {
            throw new HttpError(400, "'truncate': false is not offered: texts past the model's maximum length are "
                    + "always truncated");
        }
        JsonNode direction = body.get("truncation_direction");
        if (direction != null && !direction.isNull() && !direction.asText().equalsIgnoreCase("right")) {
            throw new HttpError(400, "'truncation_direction' must be \"Right\": the model keeps a text's start");
        }
        JsonNode prompt = body.get("prompt_name");
        if (prompt != null && !prompt.isNull()) {
            throw new HttpError(400, "'prompt_name' is not offered: the model applies its own query and document "
                    + "prefixes");
        }
        ArrayNode out = JsonBodies.JSON.createArrayNode();
        for (float[] v : encode(texts, "inputs")) {
            ArrayNode a = out.addArray();
            for (float x : v) {
                a.add(x);
            }
        }
        return out;
    }

    /** A string or a non-empty list of non-empty strings, within the endpoint's text limit. */
    private List<String> texts(JsonNode input, String field) throws HttpError {
        if (input == null || input.isNull()) {
            throw new HttpError(400, "'" + field + "' is required: a string or a list of strings");
        }
        List<String> texts = new ArrayList<>();
        if (input.isTextual()) {
            texts.add(input.asText());
        } else if (input.isArray()) {
            if (input.isEmpty()) {
                throw new HttpError(400, "'" + field + "' is an empty list");
            }
            for (int i = 0; i < input.size(); i++) {
                JsonNode t = input.get(i);
                if (t.isIntegralNumber() || t.isArray()) {
                    throw new HttpError(400, "'" + field + "' holds token ids; this server takes text (send the strings)");
                }
                if (!t.isTextual()) {
                    throw new HttpError(400, field + "[" + i + "] is not a string");
                }
                texts.add(t.asText());
            }
        } else {
            throw new HttpError(400, "'" + field + "' must be a string or a list of strings");
        }
        if (texts.size() > options.maxTexts()) {
            throw new HttpError(400, texts.size() + " texts in one request, more than the limit of " + options.maxTexts());
        }
        for (int i = 0; i < texts.size(); i++) {
            if (texts.get(i).isEmpty()) {
                throw new HttpError(400, field + "[" + i + "] is an empty string");
            }
        }
        return texts;
    }

    /** Each text as its own engine request; on a refusal the texts already submitted are cancelled. */
    private List<float[]> encode(List<String> texts, String field) throws HttpError {
        List<CompletableFuture<float[]>> futures = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            try {
                futures.add(engine.encodeAsync(texts.get(i)));
            } catch (RuntimeException e) {
                futures.forEach(f -> f.cancel(false));
                throw HttpError.of(e, field + "[" + i + "]: ");
            }
        }
        List<float[]> out = new ArrayList<>(texts.size());
        for (CompletableFuture<float[]> f : futures) {
            try {
                out.add(f.get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                futures.forEach(x -> x.cancel(false));
                throw new HttpError(503, "interrupted");
            } catch (ExecutionException e) {
                futures.forEach(x -> x.cancel(false));
                throw HttpError.of(e.getCause(), "");
            }
        }
        return out;
    }

    /** An error in OpenAI's shape. */
    static ObjectNode openAiError(HttpError e) {
        ObjectNode out = JsonBodies.JSON.createObjectNode();
        ObjectNode err = out.putObject("error");
        err.put("message", e.getMessage());
        err.put("type", e.status >= 500 ? "server_error" : "invalid_request_error");
        err.putNull("param");
        err.putNull("code");
        return out;
    }
}
