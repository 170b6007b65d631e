package dev.latent.serve;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** The endpoint's OpenAPI 3 document ({@code GET /openapi.json}), a resource beside this class. Thread-safe. */
final class OpenApi {
    private static final JsonNode DOCUMENT = load();

    private OpenApi() {
    }

    static JsonNode document() {
        return DOCUMENT;
    }

    private static JsonNode load() {
        try (InputStream in = OpenApi.class.getResourceAsStream("openapi.json")) {
            if (in == null) {
                throw new IllegalStateException("openapi.json is missing from the jar");
            }
            return JsonBodies.JSON.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
