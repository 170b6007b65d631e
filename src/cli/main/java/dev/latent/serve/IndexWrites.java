package dev.latent.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Vectors;
import dev.latent.engine.Engine;
import dev.latent.index.VectorIndex;
import dev.latent.space.Record;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes to a served index over HTTP, each durable before it is acknowledged: {@code POST /v1/upsert} (records with
 * their text, payload and optionally their vector; a record without a vector is embedded from its text),
 * {@code POST /v1/delete} (by key or id) and {@code POST /v1/save} (the index file replaced atomically). A write is
 * checked whole, appended to the {@link WriteLog} and forced to disk, then applied, then answered: a crash after the
 * answer loses nothing, since the next {@link #open} replays the log onto the file. One write at a time (a lock);
 * searches go on meanwhile. A save blocks writes while it runs.
 *
 * <p>Thread-safe. {@link #close()} closes the log (the index and engine are the caller's).
 */
public final class IndexWrites implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger("dev.latent.serve");
    static final String LOG_ID = "wal.log";
    static final String LOG_SEQUENCE = "wal.sequence";

    private final VectorIndex index;
    private final Path file;
    private final WriteLog log;

    private IndexWrites(VectorIndex index, Path file, WriteLog log) {
        this.index = index;
        this.file = file;
        this.log = log;
    }

    /**
     * Makes {@code index}, loaded from {@code file}, writable: replays the writes its log holds beyond what the file
     * holds (see {@link WriteLog} for which logs are trusted), then opens the log for new writes.
     *
     * @return the writes, and in {@link #replayed()} how many entries were replayed
     * @throws IOException naming a log that is not the index's or is corrupt (left as it is)
     */
    public static IndexWrites open(VectorIndex index, Path file) throws IOException {
        Map<String, String> meta = index.metadata();
        long saved = meta.containsKey(LOG_SEQUENCE) ? Long.parseLong(meta.get(LOG_SEQUENCE)) : 0;
        WriteLog.Recovered r = WriteLog.read(file, meta.get(LOG_ID), saved);
        int replayed = 0;
        if (r != null) {
            for (WriteLog.Entry e : r.entries()) {
                apply(index, JsonBodies.JSON.readTree(e.json()));
                replayed++;
            }
        }
        IndexWrites w = new IndexWrites(index, file, WriteLog.open(file, r));
        w.replayed = replayed;
        if (replayed > 0) {
            LOG.info("replayed " + replayed + " writes from " + WriteLog.beside(file) + " onto " + file);
        }
        return w;
    }

    private int replayed;

    /** Entries replayed from the log when this was opened. */
    public int replayed() {
        return replayed;
    }

    /** {@code {"records": [{"key", "text", "payload", "vector"}, ...]}} → {@code {"ids": [...], "sequence": n}}. */
    synchronized JsonNode upsert(JsonNode body, Engine engine, int maxItems) throws HttpError {
        JsonBodies.onlyFields(body, Set.of("records"));
        JsonNode items = body.get("records");
        if (items == null || !items.isArray() || items.isEmpty()) {
            throw new HttpError(400, "'records' must be a non-empty array of {\"key\", \"text\", \"payload\", \"vector\"}");
        }
        if (items.size() > maxItems) {
            throw new HttpError(400, items.size() + " records in one request, more than the limit of " + maxItems);
        }
        int d = index.dimension();
        List<Record> records = new ArrayList<>();
        float[] flat = new float[items.size() * d];
        List<CompletableFuture<float[]>> pending = new ArrayList<>();
        List<Integer> pendingAt = new ArrayList<>();
        Set<String> keys = new HashSet<>();
        for (int i = 0; i < items.size(); i++) {
            JsonNode it = items.get(i);
            if (!it.isObject()) {
                throw new HttpError(400, "records[" + i + "] is not an object");
            }
            JsonBodies.onlyFields(it, Set.of("key", "text", "payload", "vector"));
            JsonNode key = it.get("key");
            JsonNode text = it.get("text");
            JsonNode payload = it.get("payload");
            if (key == null || !key.isTextual()) {
                throw new HttpError(400, "records[" + i + "]: 'key' must be a string");
            }
            if (text != null && !text.isNull() && !text.isTextual()) {
                throw new HttpError(400, "records[" + i + "]: 'text' must be a string");
            }
            if (payload != null && !payload.isNull() && !payload.isObject()) {
                throw new HttpError(400, "records[" + i + "]: 'payload' must be an object");
            }
            Record rec;
            try {
                rec = new Record(key.asText(), text == null || text.isNull() ? null : text.asText(),
                        payload == null || payload.isNull() ? Map.of() : Record.fromJson(payload, "records[" + i + "]"));
            } catch (IllegalArgumentException e) {
                throw new HttpError(400, "records[" + i + "]: " + e.getMessage());
            }
            if (!keys.add(rec.key())) {
                throw new HttpError(400, "key '" + rec.key() + "' appears twice in the request");
            }
            records.add(rec);
            JsonNode vector = it.get("vector");
            if (vector != null && !vector.isNull()) {
                if (!vector.isArray() || vector.size() != d) {
                    throw new HttpError(400, "records[" + i + "]: 'vector' must be an array of " + d + " numbers");
                }
                for (int c = 0; c < d; c++) {
                    if (!vector.get(c).isNumber()) {
                        throw new HttpError(400, "records[" + i + "]: vector[" + c + "] is not a number");
                    }
                    flat[i * d + c] = (float) vector.get(c).asDouble();
                }
            } else if (rec.text() == null) {
                throw new HttpError(400, "records[" + i + "]: give a 'vector', or a 'text' to embed");
            } else {
                try {
                    pending.add(engine.encodeAsync(rec.text()));
                } catch (RuntimeException e) {
                    pending.forEach(f -> f.cancel(false));
                    throw HttpError.of(e, "records[" + i + "]: ");
                }
                pendingAt.add(i);
            }
        }
        for (int p = 0; p < pending.size(); p++) {
            float[] v;
            try {
                v = pending.get(p).get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new HttpError(503, "interrupted");
            } catch (ExecutionException e) {
                pending.forEach(f -> f.cancel(false));
                throw HttpError.of(e.getCause(), "records[" + pendingAt.get(p) + "]: ");
            }
            System.arraycopy(v, 0, flat, pendingAt.get(p) * d, d);
        }
        try (FloatMatrix m = FloatMatrix.of(flat, d)) {
            try {
                Vectors.check(m, index.metric(), null, 0);
            } catch (IllegalArgumentException e) {
                throw new HttpError(400, "records: vector " + e.getMessage());
            }
        }
        ObjectNode entry = JsonBodies.JSON.createObjectNode();
        entry.put("op", "upsert");
        ArrayNode recs = entry.putArray("records");
        for (Record r : records) {
            ObjectNode o = recs.addObject().put("key", r.key());
            if (r.text() != null) {
                o.put("text", r.text());
            }
            if (!r.payload().isEmpty()) {
                o.set("payload", JsonBodies.JSON.valueToTree(r.payload()));
            }
        }
        ByteBuffer b = ByteBuffer.allocate(4 * flat.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(flat);
        entry.put("vectors", Base64.getEncoder().encodeToString(b.array()));
        long seq = durably(entry);
        long[] ids = (long[]) apply(index, entry);
        ObjectNode out = JsonBodies.JSON.createObjectNode();
        ArrayNode idsOut = out.putArray("ids");
        for (long id : ids) {
            idsOut.add(id);
        }
        out.put("sequence", seq);
        return out;
    }

    /** {@code {"keys": [...]}} and/or {@code {"ids": [...]}} → {@code {"deleted": n, "missing": [...], "sequence": n}}. */
    synchronized JsonNode delete(JsonNode body) throws HttpError {
        JsonBodies.onlyFields(body, Set.of("keys", "ids"));
        List<Long> ids = new ArrayList<>();
        ArrayNode missing = JsonBodies.JSON.createArrayNode();
        JsonNode keys = body.get("keys");
        JsonNode idNodes = body.get("ids");
        if ((keys == null || keys.isEmpty()) && (idNodes == null || idNodes.isEmpty())) {
            throw new HttpError(400, "give 'keys' (strings) and/or 'ids' (integers) to delete");
        }
        if (keys != null) {
            if (!keys.isArray()) {
                throw new HttpError(400, "'keys' must be an array of strings");
            }
            for (JsonNode k : keys) {
                if (!k.isTextual()) {
                    throw new HttpError(400, "'keys' must be an array of strings");
                }
                OptionalLong id = index.idOfKey(k.asText());
                if (id.isPresent()) {
                    ids.add(id.getAsLong());
                } else {
                    missing.add(k.asText());
                }
            }
        }
        if (idNodes != null) {
            if (!idNodes.isArray()) {
                throw new HttpError(400, "'ids' must be an array of integers");
            }
            for (JsonNode n : idNodes) {
                if (!n.isIntegralNumber() || !n.canConvertToLong()) {
                    throw new HttpError(400, "'ids' must be an array of integers");
                }
                if (index.contains(n.asLong())) {
                    ids.add(n.asLong());
                } else {
                    missing.add(n.asLong());
                }
            }
        }
        ObjectNode out = JsonBodies.JSON.createObjectNode();
        long[] unique = ids.stream().mapToLong(Long::longValue).distinct().toArray();
        long seq = log.sequence();
        int deleted = 0;
        if (unique.length > 0) {
            ObjectNode entry = JsonBodies.JSON.createObjectNode().put("op", "delete");
            ArrayNode a = entry.putArray("ids");
            for (long id : unique) {
                a.add(id);
            }
            seq = durably(entry);
            deleted = (Integer) apply(index, entry);
        }
        out.put("deleted", deleted);
        out.set("missing", missing);
        out.put("sequence", seq);
        return out;
    }

    /** Saves the index to its file (atomically) and starts the log again → {@code {"saved", "vectors", "sequence"}}. */
    synchronized JsonNode save() throws HttpError {
        try {
            index.putMetadata(LOG_ID, log.id().toString());
            index.putMetadata(LOG_SEQUENCE, Long.toString(log.sequence()));
            index.save(file);
            log.restartFrom(file);
        } catch (IOException e) {
            throw new HttpError(500, "cannot save " + file + ": " + e.getMessage());
        }
        return JsonBodies.JSON.createObjectNode().put("saved", file.toString()).put("vectors", index.size())
                .put("sequence", log.sequence());
    }

    /** The sequence number of the last logged write. */
    synchronized long sequence() {
        return log.sequence();
    }

    /** Logs one entry as it is (for tests of the log: it is not applied). */
    synchronized long append(String json) throws IOException {
        return log.append(json);
    }

    private long durably(ObjectNode entry) throws HttpError {
        try {
            return log.append(JsonBodies.JSON.writeValueAsString(entry));
        } catch (IOException e) {
            throw new HttpError(503, "the write could not be made durable (" + e.getMessage() + "); nothing changed");
        }
    }

    /** Applies one logged write to the index: the ids of an upsert, the count of a delete. */
    static Object apply(VectorIndex index, JsonNode entry) {
        String op = entry.path("op").asText();
        if (op.equals("delete")) {
            List<Long> ids = new ArrayList<>();
            for (JsonNode n : entry.get("ids")) {
                if (index.contains(n.asLong())) {
                    ids.add(n.asLong());
                }
            }
            return index.remove(ids.stream().mapToLong(Long::longValue).toArray());
        }
        if (!op.equals("upsert")) {
            throw new IllegalArgumentException("unknown write log operation '" + op + "'");
        }
        List<Record> records = new ArrayList<>();
        for (JsonNode r : entry.get("records")) {
            JsonNode payload = r.get("payload");
            records.add(new Record(r.get("key").asText(), r.has("text") ? r.get("text").asText() : null,
                    payload == null ? Map.of() : Record.fromJson(payload, "write log")));
        }
        float[] flat = new float[records.size() * index.dimension()];
        ByteBuffer.wrap(Base64.getDecoder().decode(entry.get("vectors").asText())).order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer().get(flat);
        try (FloatMatrix m = FloatMatrix.of(flat, index.dimension())) {
            return index.upsert(records, m);
        }
    }

    @Override
    public synchronized void close() throws IOException {
        log.close();
    }
}
