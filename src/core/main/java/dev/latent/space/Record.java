package dev.latent.space;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a vector stands for, stored with it in an index: a key (the corpus id: any UTF-8 string without control
 * characters, unique per index), the source text (or an image's path; may be null) and a payload of named fields
 * for filtering and display (may be empty).
 *
 * <p><b>Payload</b>: a flat JSON object whose values are strings, numbers (whole numbers as {@code Long}, others as
 * {@code Double}), booleans, or lists of strings; a null value, a nested object or a list of anything but strings
 * is refused, naming the field. Field order is kept.
 *
 * <p><b>Limits</b> (enforced by the constructor with a message naming the limit): key at most
 * {@value #MAX_KEY_BYTES} bytes of UTF-8, text at most {@value #MAX_TEXT_BYTES} bytes (1 MiB), payload at most
 * {@value #MAX_PAYLOAD_BYTES} bytes as JSON, field names at most {@value #MAX_FIELD_BYTES} bytes.
 *
 * <p>Immutable and thread-safe.
 *
 * @param key     the record's key, never empty
 * @param text    the source text or path, or null
 * @param payload the fields (an unmodifiable copy), never null
 */
public record Record(String key, String text, Map<String, Object> payload) {
    public static final int MAX_KEY_BYTES = 1024;
    public static final int MAX_TEXT_BYTES = 1 << 20;
    public static final int MAX_PAYLOAD_BYTES = 64 << 10;
    public static final int MAX_FIELD_BYTES = 256;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int NONE = -1;

    /**
     * @throws IllegalArgumentException for an empty key, a key or field name with a control character, a value
     *     that is not a string, number, boolean or list of strings, or a part over its limit (each named)
     */
    public Record {
        checkKey(key);
        if (text != null && utf8Length(text) > MAX_TEXT_BYTES) {
            throw new IllegalArgumentException("record '" + key + "': text of " + utf8Length(text)
                    + " bytes; a record's text holds at most " + MAX_TEXT_BYTES + " bytes (1 MiB)");
        }
        payload = copyPayload(payload == null ? Map.of() : payload, key);
        int bytes = payload.isEmpty() ? 0 : payloadJson(payload).length;
        if (bytes > MAX_PAYLOAD_BYTES) {
            throw new IllegalArgumentException("record '" + key + "': payload of " + bytes
                    + " bytes as JSON; at most " + MAX_PAYLOAD_BYTES + " bytes");
        }
    }

    /** A record with a key and text and no payload. */
    public static Record of(String key, String text) {
        return new Record(key, text, Map.of());
    }

    /**
     * Checks a key: not empty, at most {@value #MAX_KEY_BYTES} bytes, no control characters (U+0000–U+001F,
     * U+007F–U+009F).
     *
     * @throws IllegalArgumentException naming the problem
     */
    public static void checkKey(String key) {
        Objects.requireNonNull(key, "key");
        if (key.isEmpty()) {
            throw new IllegalArgumentException("a record key must not be empty");
        }
        int bad = firstControl(key);
        if (bad >= 0) {
            throw new IllegalArgumentException("record key '" + printable(key) + "' has a control character (U+"
                    + String.format("%04X", (int) key.charAt(bad)) + ") at position " + bad);
        }
        if (utf8Length(key) > MAX_KEY_BYTES) {
            throw new IllegalArgumentException("record key of " + utf8Length(key) + " bytes; at most " + MAX_KEY_BYTES);
        }
    }

    /** The value of payload field {@code field}, or null when absent. */
    public Object field(String field) {
        return payload.get(field);
    }

    /** The payload as a JSON object ({@code {}} when empty). */
    public String payloadJson() {
        return new String(payloadJson(payload), StandardCharsets.UTF_8);
    }

    /**
     * The payload of a JSON object text, checked as the constructor checks it.
     *
     * @throws IllegalArgumentException when it is not a flat JSON object of allowed values (named)
     */
    public static Map<String, Object> parsePayload(String json) {
        JsonNode node;
        try {
            node = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("payload is not valid JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("payload must be a JSON object, got " + (node == null ? "nothing" : node.getNodeType()));
        }
        return fromJson(node, "payload");
    }

    /**
     * The payload fields of a JSON object node, checked (values strings, numbers, booleans or string lists).
     *
     * @param where named in messages (a record key or a file and line)
     */
    public static Map<String, Object> fromJson(JsonNode object, String where) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            out.put(e.getKey(), valueOf(e.getValue(), e.getKey(), where));
        }
        return out;
    }

    /**
     * One payload value of a JSON node: a string, a number (Long when whole and in range, else Double), a boolean,
     * or a list of strings.
     *
     * @throws IllegalArgumentException for null, an object, or a list with anything but strings
     */
    public static Object valueOf(JsonNode v, String field, String where) {
        if (v.isTextual()) {
            return v.textValue();
        }
        if (v.isBoolean()) {
            return v.booleanValue();
        }
        if (v.isIntegralNumber() && v.canConvertToLong()) {
            return v.longValue();
        }
        if (v.isNumber()) {
            double d = v.doubleValue();
            if (!Double.isFinite(d)) {
                throw new IllegalArgumentException(where + ": payload field '" + field + "' is not a finite number");
            }
            return d;
        }
        if (v.isArray()) {
            List<String> list = new ArrayList<>(v.size());
            for (JsonNode x : v) {
                if (!x.isTextual()) {
                    throw new IllegalArgumentException(where + ": payload field '" + field
                            + "' is a list with a " + x.getNodeType().toString().toLowerCase()
                            + "; lists hold strings only");
                }
                list.add(x.textValue());
            }
            return List.copyOf(list);
        }
        throw new IllegalArgumentException(where + ": payload field '" + field + "' is "
                + (v.isNull() ? "null (leave the field out instead)" : "a " + v.getNodeType().toString().toLowerCase()
                + "; a payload is flat: strings, numbers, booleans and lists of strings"));
    }

    private static Map<String, Object> copyPayload(Map<String, Object> in, String key) {
        Map<String, Object> out = new LinkedHashMap<>();
        String where = "record '" + printable(key) + "'";
        for (Map.Entry<String, Object> e : in.entrySet()) {
            String f = Objects.requireNonNull(e.getKey(), "payload field name");
            if (f.isEmpty() || firstControl(f) >= 0 || utf8Length(f) > MAX_FIELD_BYTES) {
                throw new IllegalArgumentException(where + ": payload field name '" + printable(f)
                        + "' must be 1 to " + MAX_FIELD_BYTES + " bytes without control characters");
            }
            out.put(f, checkValue(e.getValue(), f, where));
        }
        return Collections.unmodifiableMap(out);
    }

    private static Object checkValue(Object v, String field, String where) {
        if (v instanceof String || v instanceof Boolean || v instanceof Long) {
            return v;
        }
        if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (!Double.isFinite(d)) {
                throw new IllegalArgumentException(where + ": payload field '" + field + "' is not a finite number");
            }
            return d;
        }
        if (v instanceof List<?> list) {
            List<String> out = new ArrayList<>(list.size());
            for (Object x : list) {
                if (!(x instanceof String s)) {
                    throw new IllegalArgumentException(where + ": payload field '" + field
                            + "' is a list with a non-string element; lists hold strings only");
                }
                out.add(s);
            }
            return List.copyOf(out);
        }
        throw new IllegalArgumentException(where + ": payload field '" + field + "' is "
                + (v == null ? "null (leave the field out instead)" : "a " + v.getClass().getSimpleName()
                + "; a payload is flat: strings, numbers, booleans and lists of strings"));
    }

    static byte[] payloadJson(Map<String, Object> payload) {
        ObjectNode o = JSON.createObjectNode();
        for (Map.Entry<String, Object> e : payload.entrySet()) {
            Object v = e.getValue();
            if (v instanceof String s) {
                o.put(e.getKey(), s);
            } else if (v instanceof Long l) {
                o.put(e.getKey(), l);
            } else if (v instanceof Double d) {
                o.put(e.getKey(), d);
            } else if (v instanceof Boolean b) {
                o.put(e.getKey(), b);
            } else {
                ArrayNode a = o.putArray(e.getKey());
                for (Object x : (List<?>) v) {
                    a.add((String) x);
                }
            }
        }
        try {
            return JSON.writeValueAsBytes(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------ binary form (index files, memory)

    /**
     * The record's bytes as index files hold them: u32 key length and the key, u32 text length (or 0xffffffff for
     * no text) and the text, u32 payload length (0 for none) and the payload as UTF-8 JSON; little-endian.
     */
    public byte[] encode() {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        byte[] t = text == null ? null : text.getBytes(StandardCharsets.UTF_8);
        byte[] p = payload.isEmpty() ? new byte[0] : payloadJson(payload);
        ByteBuffer b = ByteBuffer.allocate(12 + k.length + (t == null ? 0 : t.length) + p.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(k.length).put(k);
        b.putInt(t == null ? NONE : t.length);
        if (t != null) {
            b.put(t);
        }
        b.putInt(p.length).put(p);
        return b.array();
    }

    /** The key of an encoded record, without decoding the rest. */
    static String decodeKey(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int kl = b.getInt(0);
        return new String(bytes, 4, kl, StandardCharsets.UTF_8);
    }

    /**
     * Checks the framing of an encoded record (lengths add up to exactly {@code bytes.length}, key not empty)
     * and returns its key.
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    static String checkFraming(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 12) {
            throw new IllegalArgumentException("a record of " + bytes.length + " bytes (at least 12)");
        }
        long kl = b.getInt(0) & 0xffffffffL;
        if (kl == 0 || kl > MAX_KEY_BYTES || 4 + kl + 8 > bytes.length) {
            throw new IllegalArgumentException("a record key length of " + kl + " in a record of " + bytes.length + " bytes");
        }
        int tl = b.getInt(4 + (int) kl);
        long textBytes = tl == NONE ? 0 : tl & 0xffffffffL;
        if (tl != NONE && textBytes > MAX_TEXT_BYTES || 8 + kl + textBytes + 4 > bytes.length) {
            throw new IllegalArgumentException("a record text length of " + textBytes + " in a record of " + bytes.length + " bytes");
        }
        long pl = b.getInt(8 + (int) kl + (int) textBytes) & 0xffffffffL;
        if (12 + kl + textBytes + pl != bytes.length) {
            throw new IllegalArgumentException("a record's lengths add up to " + (12 + kl + textBytes + pl)
                    + " bytes, the record has " + bytes.length);
        }
        return new String(bytes, 4, (int) kl, StandardCharsets.UTF_8);
    }

    /**
     * The record of {@link #encode()}'s bytes.
     *
     * @throws IllegalArgumentException when they do not frame a valid record
     */
    public static Record decode(byte[] bytes) {
        String key = checkFraming(bytes);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int kl = b.getInt(0);
        int tl = b.getInt(4 + kl);
        String text = tl == NONE ? null : new String(bytes, 8 + kl, tl, StandardCharsets.UTF_8);
        int at = 8 + kl + Math.max(0, tl);
        int pl = b.getInt(at);
        Map<String, Object> payload = pl == 0 ? Map.of()
                : parsePayload(new String(bytes, at + 4, pl, StandardCharsets.UTF_8));
        return new Record(key, text, payload);
    }

    private static int firstControl(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
                return i;
            }
        }
        return -1;
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && b.length() < 80; i++) {
            char c = s.charAt(i);
            b.append(c < 0x20 || (c >= 0x7f && c <= 0x9f) ? String.format("\\u%04x", (int) c) : String.valueOf(c));
        }
        return b.toString();
    }

    static int utf8Length(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n++;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }
}
