package dev.latent.index;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Reads the text syntax of {@link Filter#parse}: a recursive-descent parser over
 * {@code or := and ("or" and)*}, {@code and := unary ("and" unary)*}, {@code unary := "not" unary | primary},
 * {@code primary := "(" or ")" | "exists" "(" field ")" | field op value | field "in" "[" values "]"}.
 * Keywords are case-insensitive. Errors name the character position and what was expected. Not thread-safe
 * (one per text).
 */
final class FilterParser {
    static final ObjectMapper JSON = new ObjectMapper();
    private final String text;
    private int pos;

    FilterParser(String text) {
        this.text = text == null ? "" : text;
    }

    static boolean isWord(String s) {
        String w = s.toLowerCase(Locale.ROOT);
        return w.equals("and") || w.equals("or") || w.equals("not") || w.equals("in") || w.equals("exists")
                || w.equals("true") || w.equals("false");
    }

    Filter parse() {
        skip();
        if (pos == text.length()) {
            throw error("an empty filter");
        }
        Filter f = or();
        skip();
        if (pos < text.length()) {
            throw error("expected 'and', 'or' or the end, found '" + rest() + "'");
        }
        return f;
    }

    private Filter or() {
        List<Filter> parts = new ArrayList<>();
        parts.add(and());
        while (word("or")) {
            parts.add(and());
        }
        return parts.size() == 1 ? parts.get(0) : new Filter.Or(parts);
    }

    private Filter and() {
        List<Filter> parts = new ArrayList<>();
        parts.add(unary());
        while (word("and")) {
            parts.add(unary());
        }
        return parts.size() == 1 ? parts.get(0) : new Filter.And(parts);
    }

    private Filter unary() {
        if (word("not")) {
            return new Filter.Not(unary());
        }
        skip();
        if (peek('(')) {
            pos++;
            Filter f = or();
            expect(')');
            return f;
        }
        int save = pos;
        if (word("exists")) {
            skip();
            if (peek('(')) {
                pos++;
                String field = field();
                expect(')');
                return new Filter.Exists(field);
            }
            pos = save;
        }
        String field = field();
        skip();
        if (word("in")) {
            expect('[');
            List<Object> values = new ArrayList<>();
            skip();
            if (!peek(']')) {
                values.add(value(field));
                skip();
                while (peek(',')) {
                    pos++;
                    values.add(value(field));
                    skip();
                }
            }
            expect(']');
            return new Filter.In(field, values);
        }
        String op = operator(field);
        Object v = value(field);
        switch (op) {
            case "=": return new Filter.Eq(field, v);
            case "!=": return new Filter.Not(new Filter.Eq(field, v));
            default:
                if (!(v instanceof Number n)) {
                    throw error("'" + field + " " + op + "' compares numbers, not " + describe(v));
                }
                double d = n.doubleValue();
                switch (op) {
                    case "<": return new Filter.Range(field, null, false, d, false);
                    case "<=": return new Filter.Range(field, null, false, d, true);
                    case ">": return new Filter.Range(field, d, false, null, false);
                    default: return new Filter.Range(field, d, true, null, false);
                }
        }
    }

    private String operator(String field) {
        skip();
        for (String op : new String[] {"!=", "<=", ">=", "==", "=", "<", ">"}) {
            if (text.startsWith(op, pos)) {
                pos += op.length();
                return op.equals("==") ? "=" : op;
            }
        }
        throw error("expected an operator (= != < <= > >= in) after '" + field + "'"
                + (pos < text.length() ? ", found '" + rest() + "'" : ""));
    }

    private String field() {
        skip();
        if (peek('`')) {
            StringBuilder b = new StringBuilder();
            pos++;
            while (true) {
                if (pos >= text.length()) {
                    throw error("a field name in backquotes is not closed");
                }
                char c = text.charAt(pos++);
                if (c == '`') {
                    if (peek('`')) {
                        b.append('`');
                        pos++;
                        continue;
                    }
                    break;
                }
                b.append(c);
            }
            return b.toString();
        }
        int start = pos;
        while (pos < text.length() && (Character.isLetterOrDigit(text.charAt(pos)) || "_.-".indexOf(text.charAt(pos)) >= 0)) {
            pos++;
        }
        if (start == pos) {
            throw error("expected a field name" + (pos < text.length() ? ", found '" + rest() + "'" : " at the end"));
        }
        return text.substring(start, pos);
    }

    private Object value(String field) {
        skip();
        if (pos >= text.length()) {
            throw error("expected a value for '" + field + "' at the end");
        }
        char c = text.charAt(pos);
        if (c == '"') {
            int end = pos + 1;
            while (end < text.length() && text.charAt(end) != '"') {
                end += text.charAt(end) == '\\' ? 2 : 1;
            }
            if (end >= text.length()) {
                throw error("a string is not closed (strings are in double quotes)");
            }
            String lit = text.substring(pos, end + 1);
            try {
                String s = JSON.readValue(lit, String.class);
                pos = end + 1;
                return s;
            } catch (JsonProcessingException e) {
                throw error("a string with a bad escape: " + lit);
            }
        }
        if (word("true")) {
            return Boolean.TRUE;
        }
        if (word("false")) {
            return Boolean.FALSE;
        }
        int start = pos;
        while (pos < text.length() && "+-0123456789.".indexOf(c) >= 0
                && "+-0123456789.eE".indexOf(text.charAt(pos)) >= 0) {
            pos++;
        }
        String num = text.substring(start, pos);
        if (!num.isEmpty()) {
            try {
                if (num.matches("[+-]?\\d+")) {
                    return Long.parseLong(num);
                }
                return Double.parseDouble(num);
            } catch (NumberFormatException e) {
                pos = start;
                throw error("'" + num + "' is not a number");
            }
        }
        throw error("expected a value for '" + field + "' (a \"string\", a number, true or false), found '" + rest()
                + "'" + (Character.isLetter(c) ? "; strings are in double quotes" : ""));
    }

    private static String describe(Object v) {
        return v instanceof String s ? "the string \"" + s + "\"" : String.valueOf(v);
    }

    private boolean word(String w) {
        skip();
        int end = pos + w.length();
        if (end <= text.length() && text.regionMatches(true, pos, w, 0, w.length())
                && (end == text.length() || !(Character.isLetterOrDigit(text.charAt(end)) || "_.-`".indexOf(text.charAt(end)) >= 0))) {
            pos = end;
            return true;
        }
        return false;
    }

    private boolean peek(char c) {
        return pos < text.length() && text.charAt(pos) == c;
    }

    private void expect(char c) {
        skip();
        if (!peek(c)) {
            throw error("expected '" + c + "'" + (pos < text.length() ? ", found '" + rest() + "'" : " at the end"));
        }
        pos++;
    }

    private void skip() {
        while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) {
            pos++;
        }
    }

    private String rest() {
        String r = text.substring(pos);
        return r.length() > 20 ? r.substring(0, 20) + "..." : r;
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException("filter: " + what + " (at character " + (pos + 1) + " of: " + text + ")");
    }
}
