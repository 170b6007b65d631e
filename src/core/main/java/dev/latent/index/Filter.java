package dev.latent.index;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * A condition on the payload fields of records ({@link dev.latent.space.Record}), for filtered search
 * ({@link SearchParams#filter}). Three ways to write one, all giving the same value:
 * <ul>
 *   <li><b>Java</b>: {@code Filter.eq("lang", "en").and(Filter.gte("year", 2020))};</li>
 *   <li><b>text</b> ({@link #parse}, the command line's {@code --filter}):
 *       {@code lang = "en" and year >= 2020}, {@code tag in ["a", "b"]}, {@code not draft = true},
 *       {@code year >= 2000 and year < 2010 or exists(award)}; operators {@code = != < <= > >=}, {@code in},
 *       {@code exists(field)}, {@code and} binding tighter than {@code or}, parentheses; strings in double quotes
 *       (JSON escapes), numbers, {@code true}, {@code false}; a field name is letters, digits, {@code _ . -}, or
 *       any text in backquotes;</li>
 *   <li><b>JSON</b> ({@link #fromJson}, over HTTP), the {@code where} form of Chroma and MongoDB:
 *       {@code {"lang": "en", "year": {"$gte": 2020}}}, with {@code $eq $ne $gt $gte $lt $lte $in $nin $exists}
 *       and {@code $and $or $not}; several fields in one object are all required.</li>
 * </ul>
 *
 * <p><b>Meaning.</b> {@code field = v} holds when the field equals {@code v}; on a list field, when the list
 * contains {@code v}. Ranges compare numbers. A record without the field fails every condition on it except
 * {@code !=} and {@code not}, which are the negations ({@code f != v} is {@code not f = v}). An index refuses a
 * filter on a field no record has, and a comparison of the wrong type (a string with a number field), naming both.
 *
 * <p>Immutable and thread-safe.
 */
public sealed interface Filter {
    /** {@code field = value}: a string, a number (Long or Double) or a boolean. */
    record Eq(String field, Object value) implements Filter {
        public Eq {
            checkField(field);
            value = scalar(value, field);
        }
    }

    /** {@code field in [values]}: equal to any of them. */
    record In(String field, List<Object> values) implements Filter {
        public In {
            checkField(field);
            if (values.isEmpty()) {
                throw new IllegalArgumentException("'" + field + " in []' names no values");
            }
            values = values.stream().map(v -> scalar(v, field)).collect(Collectors.toUnmodifiableList());
        }
    }

    /** A numeric range; a null bound is open. */
    record Range(String field, Double low, boolean lowInclusive, Double high, boolean highInclusive) implements Filter {
        public Range {
            checkField(field);
            if (low == null && high == null) {
                throw new IllegalArgumentException("a range on '" + field + "' needs a bound");
            }
            if (low != null && !Double.isFinite(low) || high != null && !Double.isFinite(high)) {
                throw new IllegalArgumentException("a range on '" + field + "' needs finite bounds");
            }
        }
    }

    /** The record has the field. */
    record Exists(String field) implements Filter {
        public Exists {
            checkField(field);
        }
    }

    /** Every part holds. */
    record And(List<Filter> parts) implements Filter {
        public And {
            parts = List.copyOf(parts);
            if (parts.isEmpty()) {
                throw new IllegalArgumentException("'and' of nothing");
            }
        }
    }

    /** Some part holds. */
    record Or(List<Filter> parts) implements Filter {
        public Or {
            parts = List.copyOf(parts);
            if (parts.isEmpty()) {
                throw new IllegalArgumentException("'or' of nothing");
            }
        }
    }

    /** The part does not hold. */
    record Not(Filter part) implements Filter {
        public Not {
            Objects.requireNonNull(part, "part");
        }
    }

    // ------------------------------------------------------------------ builder

    static Filter eq(String field, Object value) {
        return new Eq(field, value);
    }

    static Filter ne(String field, Object value) {
        return new Not(new Eq(field, value));
    }

    static Filter in(String field, Object... values) {
        return new In(field, List.of(values));
    }

    static Filter gt(String field, double v) {
        return new Range(field, v, false, null, false);
    }

    static Filter gte(String field, double v) {
        return new Range(field, v, true, null, false);
    }

    static Filter lt(String field, double v) {
        return new Range(field, null, false, v, false);
    }

    static Filter lte(String field, double v) {
        return new Range(field, null, false, v, true);
    }

    /** {@code low <= field < high}. */
    static Filter between(String field, double low, double high) {
        return new Range(field, low, true, high, false);
    }

    static Filter exists(String field) {
        return new Exists(field);
    }

    default Filter and(Filter other) {
        return new And(List.of(this, other));
    }

    default Filter or(Filter other) {
        return new Or(List.of(this, other));
    }

    default Filter negate() {
        return new Not(this);
    }

    /** The fields this filter reads. */
    default List<String> fields() {
        List<String> out = new ArrayList<>();
        collect(this, out);
        return out;
    }

    private static void collect(Filter f, List<String> out) {
        if (f instanceof Eq e) {
            out.add(e.field());
        } else if (f instanceof In i) {
            out.add(i.field());
        } else if (f instanceof Range r) {
            out.add(r.field());
        } else if (f instanceof Exists x) {
            out.add(x.field());
        } else if (f instanceof And a) {
            a.parts().forEach(p -> collect(p, out));
        } else if (f instanceof Or o) {
            o.parts().forEach(p -> collect(p, out));
        } else if (f instanceof Not n) {
            collect(n.part(), out);
        }
    }

    /** The filter in the text syntax ({@link #parse} reads it back to an equal filter). */
    static String format(Filter f) {
        if (f instanceof Eq e) {
            return name(e.field()) + " = " + literal(e.value());
        }
        if (f instanceof In i) {
            return name(i.field()) + " in [" + i.values().stream().map(Filter::literal).collect(Collectors.joining(", ")) + "]";
        }
        if (f instanceof Range r) {
            String lo = r.low() == null ? null : name(r.field()) + (r.lowInclusive() ? " >= " : " > ") + literal(r.low());
            String hi = r.high() == null ? null : name(r.field()) + (r.highInclusive() ? " <= " : " < ") + literal(r.high());
            return lo == null ? hi : hi == null ? lo : "(" + lo + " and " + hi + ")";
        }
        if (f instanceof Exists x) {
            return "exists(" + name(x.field()) + ")";
        }
        if (f instanceof And a) {
            return "(" + a.parts().stream().map(Filter::format).collect(Collectors.joining(" and ")) + ")";
        }
        if (f instanceof Or o) {
            return "(" + o.parts().stream().map(Filter::format).collect(Collectors.joining(" or ")) + ")";
        }
        return "not " + format(((Not) f).part());
    }

    // ------------------------------------------------------------------ text

    /**
     * The filter of a text such as {@code lang = "en" and year >= 2020} (the syntax is in the class comment).
     *
     * @throws IllegalArgumentException naming the position and what was expected there
     */
    static Filter parse(String text) {
        return new FilterParser(text).parse();
    }

    // ------------------------------------------------------------------ JSON

    /**
     * The filter of a JSON {@code where} object (see the class comment).
     *
     * @throws IllegalArgumentException naming the operator or value that is wrong
     */
    static Filter fromJson(JsonNode where) {
        if (where == null || !where.isObject()) {
            throw new IllegalArgumentException("a filter must be a JSON object such as {\"lang\": \"en\"}");
        }
        List<Filter> parts = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = where.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String k = e.getKey();
            JsonNode v = e.getValue();
            switch (k) {
                case "$and", "$or" -> {
                    if (!v.isArray() || v.isEmpty()) {
                        throw new IllegalArgumentException(k + " takes a non-empty list of filters");
                    }
                    List<Filter> sub = new ArrayList<>();
                    v.forEach(x -> sub.add(fromJson(x)));
                    parts.add(k.equals("$and") ? new And(sub) : new Or(sub));
                }
                case "$not" -> parts.add(new Not(fromJson(v)));
                default -> {
                    if (k.startsWith("$")) {
                        throw new IllegalArgumentException("unknown filter operator " + k + " (at the top: $and, $or, $not)");
                    }
                    parts.add(fieldFromJson(k, v));
                }
            }
        }
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("an empty filter object");
        }
        return parts.size() == 1 ? parts.get(0) : new And(parts);
    }

    private static Filter fieldFromJson(String field, JsonNode v) {
        if (!v.isObject()) {
            return new Eq(field, jsonScalar(v, field));
        }
        List<Filter> parts = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode x = e.getValue();
            switch (e.getKey()) {
                case "$eq" -> parts.add(new Eq(field, jsonScalar(x, field)));
                case "$ne" -> parts.add(new Not(new Eq(field, jsonScalar(x, field))));
                case "$gt" -> parts.add(new Range(field, number(x, field, "$gt"), false, null, false));
                case "$gte" -> parts.add(new Range(field, number(x, field, "$gte"), true, null, false));
                case "$lt" -> parts.add(new Range(field, null, false, number(x, field, "$lt"), false));
                case "$lte" -> parts.add(new Range(field, null, false, number(x, field, "$lte"), true));
                case "$in", "$nin" -> {
                    if (!x.isArray()) {
                        throw new IllegalArgumentException(e.getKey() + " on '" + field + "' takes a list");
                    }
                    List<Object> values = new ArrayList<>();
                    x.forEach(y -> values.add(jsonScalar(y, field)));
                    Filter in = new In(field, values);
                    parts.add(e.getKey().equals("$in") ? in : new Not(in));
                }
                case "$exists" -> {
                    if (!x.isBoolean()) {
                        throw new IllegalArgumentException("$exists on '" + field + "' takes true or false");
                    }
                    parts.add(x.booleanValue() ? new Exists(field) : new Not(new Exists(field)));
                }
                default -> throw new IllegalArgumentException("unknown operator " + e.getKey() + " on '" + field
                        + "' (known: $eq $ne $gt $gte $lt $lte $in $nin $exists)");
            }
        }
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("no condition on '" + field + "'");
        }
        return parts.size() == 1 ? parts.get(0) : new And(parts);
    }

    private static Object jsonScalar(JsonNode v, String field) {
        if (v.isArray() || v.isObject() || v.isNull()) {
            throw new IllegalArgumentException("'" + field + "' is compared with "
                    + v.getNodeType().toString().toLowerCase(Locale.ROOT) + "; a filter compares strings, numbers and booleans");
        }
        return dev.latent.space.Record.valueOf(v, field, "filter");
    }

    private static double number(JsonNode v, String field, String op) {
        if (!v.isNumber()) {
            throw new IllegalArgumentException(op + " on '" + field + "' takes a number, got " + v);
        }
        return v.doubleValue();
    }

    // ------------------------------------------------------------------ shared checks

    private static void checkField(String field) {
        Objects.requireNonNull(field, "field");
        if (field.isEmpty()) {
            throw new IllegalArgumentException("a filter names an empty field");
        }
    }

    private static Object scalar(Object v, String field) {
        if (v instanceof String || v instanceof Boolean || v instanceof Long) {
            return v;
        }
        if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (!Double.isFinite(d)) {
                throw new IllegalArgumentException("'" + field + "' is compared with " + d);
            }
            return d == Math.rint(d) && Math.abs(d) < 1e15 ? (Object) (long) d : (Object) d;
        }
        throw new IllegalArgumentException("'" + field + "' is compared with "
                + (v == null ? "null" : "a " + v.getClass().getSimpleName()) + "; a filter compares strings, numbers and booleans");
    }

    private static String name(String field) {
        return field.matches("[A-Za-z_][A-Za-z0-9_.\\-]*") && !FilterParser.isWord(field) ? field
                : "`" + field.replace("`", "``") + "`";
    }

    private static String literal(Object v) {
        if (v instanceof String s) {
            try {
                return FilterParser.JSON.writeValueAsString(s);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }
        if (v instanceof Double d) {
            return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) (double) d) : Double.toString(d);
        }
        return String.valueOf(v);
    }
}
