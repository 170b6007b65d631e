package dev.latent.core;

/**
 * The two rules about strings every reader of texts and ids shares: when a text is empty, and what an id may
 * hold so that an ids file keeps exactly one line per row. Stateless and thread-safe.
 */
public final class Texts {
    private Texts() {
    }

    /**
     * Whether {@code s} holds nothing a tokenizer would keep: only white space (including the no-break spaces
     * U+00A0, U+2007, U+202F and the other space separators), line and paragraph separators, format characters
     * (the zero-width space U+200B, joiners, U+2060, the byte-order mark U+FEFF) and control characters. Such a
     * text embeds as the empty text, so readers refuse it like a text of plain spaces.
     */
    public static boolean isBlank(CharSequence s) {
        for (int i = 0; i < s.length(); ) {
            int cp = Character.codePointAt(s, i);
            int type = Character.getType(cp);
            if (!(Character.isWhitespace(cp) || Character.isSpaceChar(cp) || type == Character.FORMAT
                    || type == Character.CONTROL)) {
                return false;
            }
            i += Character.charCount(cp);
        }
        return true;
    }

    /**
     * What keeps {@code id} from being one line of an ids file and one TSV field, or null when nothing does.
     * Refused: the empty id, and any character some reader takes for a line or field break: tabs, line feeds,
     * carriage returns, every other C0 and C1 control character (VT, FF, NUL, NEL U+0085, ...) and the Unicode
     * line and paragraph separators U+2028 and U+2029 (Python's {@code splitlines} breaks on all of these).
     */
    public static String idProblem(String id) {
        if (id.isEmpty()) {
            return "it is empty";
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029') {
                String what;
                switch (c) {
                    case '\n': what = "a line break"; break;
                    case '\r': what = "a carriage return"; break;
                    case '\t': what = "a tab"; break;
                    case '\u2028': what = "a line separator (U+2028)"; break;
                    case '\u2029': what = "a paragraph separator (U+2029)"; break;
                    default: what = String.format(java.util.Locale.ROOT, "the control character U+%04X", (int) c);
                }
                return "it contains " + what;
            }
        }
        return null;
    }
}
