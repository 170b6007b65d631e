package dev.latent.space.format;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** An ids file of 64-bit integers, one per line, in row order (as {@code .npy} vectors come with). Stateless. */
public final class IdsFile {
    private IdsFile() {
    }

    /**
     * One 64-bit integer per line (ASCII digits with an optional sign; strict UTF-8); names the file and line of a
     * bad one.
     *
     * @throws IOException naming the file and line of an empty or malformed id, or of bad UTF-8
     */
    public static long[] read(Path file) throws IOException {
        long[] out = new long[1024];
        int n = 0;
        java.nio.charset.CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT);
        long line = 0;
        try (BufferedReader r = new BufferedReader(new java.io.InputStreamReader(Files.newInputStream(file), utf8))) {
            String s;
            while ((s = r.readLine()) != null) {
                line++;
                String t = s.trim();
                if (t.isEmpty()) {
                    throw new IOException(file + ":" + line + ": empty id");
                }
                if (!t.matches("[+-]?[0-9]{1,19}")) {
                    throw new IOException(file + ":" + line + ": id '" + t + "' is not a 64-bit integer (ASCII digits)");
                }
                try {
                    if (n == out.length) {
                        out = Arrays.copyOf(out, n * 2);
                    }
                    out[n++] = Long.parseLong(t);
                } catch (NumberFormatException e) {
                    throw new IOException(file + ":" + line + ": id '" + t + "' is not a 64-bit integer");
                }
            }
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IOException(file + ":" + (line + 1) + ": not valid UTF-8");
        }
        return Arrays.copyOf(out, n);
    }
}
