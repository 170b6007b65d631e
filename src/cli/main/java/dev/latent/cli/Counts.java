package dev.latent.cli;

import java.util.Locale;

/** Counted nouns for the command line's summary lines: "1 query", "2 queries". */
final class Counts {
    private Counts() {
    }

    /** {@code n} and the noun in its number: {@code one} for exactly 1, else {@code many}. */
    static String of(long n, String one, String many) {
        return String.format(Locale.ROOT, "%d %s", n, n == 1 ? one : many);
    }
}
