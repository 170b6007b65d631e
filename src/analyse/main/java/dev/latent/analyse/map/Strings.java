package dev.latent.analyse.map;

/** Text helpers shared by the PNG and the HTML writers. */
final class Strings {
    private Strings() {
    }

    /**
     * {@code s} cut to at most {@code max} code points (a surrogate pair is never split), the last one an
     * ellipsis when something was cut.
     */
    static String cut(String s, int max) {
        if (s.length() <= max || s.codePointCount(0, s.length()) <= max) {
            return s;
        }
        return s.substring(0, s.offsetByCodePoints(0, max - 1)).stripTrailing() + "…";
    }

    /** {@code s} with the five characters that mean something in HTML replaced by entities. */
    static String escapeHtml(String s) {
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }
}
