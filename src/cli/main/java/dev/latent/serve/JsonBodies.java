package dev.latent.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Iterator;
import java.util.Set;
import java.util.TreeSet;

/**
 * Request bodies as JSON: the endpoint's one {@link ObjectMapper}, a body parsed into an object (400 with the line
 * and column of malformed JSON) and fields a route does not know refused (400).
 *
 * <p>Stateless; the mapper is configured once here and never changed, so any thread may use it.
 */
final class JsonBodies {
    /** The mapper that reads every request and writes every response. */
    static final ObjectMapper JSON = new ObjectMapper();

    private JsonBodies() {
    }

    /** A request body as a JSON object. */
    static JsonNode parse(byte[] bytes) throws HttpError {
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

    /** Refuses a field of {@code body} that is not in {@code allowed}, naming those that are. */
    static void onlyFields(JsonNode body, Set<String> allowed) throws HttpError {
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw new HttpError(400, "unknown field '" + f + "' (expected " + String.join(", ", new TreeSet<>(allowed)) + ")");
            }
        }
    }
}
