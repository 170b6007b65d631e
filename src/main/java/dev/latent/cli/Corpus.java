package dev.latent.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * A corpus of texts: one text per line, or JSONL with {@code id} and {@code text} fields per line.
 * Records are read in order, in blocks, so a corpus of any size streams; every problem names its
 * line (malformed JSON, no text field, empty text). Not thread-safe.
 */
final class Corpus {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Input layout. */
    enum Format { TEXT, JSONL }

    /** One record: its position (0-based), the corpus's own id (JSONL {@code id}, else the position), text, line. */
    record Entry(long position, String id, String text, long line) {
    }

    private final String name;
    private final Supplier<InputStream> source;
    private final Format format;

    private Corpus(String name, Supplier<InputStream> source, Format format) {
        this.name = name;
        this.source = source;
        this.format = format;
    }

    /** A corpus file; format from {@code format} ("auto": JSONL for .jsonl/.ndjson/.json, else text). */
    static Corpus file(Path file, String format) throws IOException {
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file.toString(), null, "no such file");
        }
        if (Files.isDirectory(file)) {
            throw new IOException(file + " is a directory, not a corpus file");
        }
        if (!Files.isReadable(file)) {
            throw new AccessDeniedException(file.toString(), null, "not readable");
        }
        return new Corpus(file.toString(), () -> {
            try {
                return Files.newInputStream(file);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, format(format, file.getFileName().toString()));
    }

    static Format format(String format, String fileName) {
        String f = format == null ? "auto" : format.toLowerCase(Locale.ROOT);
        switch (f) {
            case "text": case "txt": case "lines": return Format.TEXT;
            case "jsonl": case "ndjson": return Format.JSONL;
            case "auto":
                String n = fileName.toLowerCase(Locale.ROOT);
                return n.endsWith(".jsonl") || n.endsWith(".ndjson") || n.endsWith(".json") ? Format.JSONL : Format.TEXT;
            default:
                throw new IllegalArgumentException("unknown input format '" + format + "' (expected auto, text or jsonl)");
        }
    }

    String name() {
        return name;
    }

    Format format() {
        return format;
    }

    /** Opens a fresh pass over the records. */
    Reader open() {
        return new Reader(source.get());
    }

    /** Reads records in order; strict UTF-8. */
    final class Reader implements AutoCloseable {
        private final BufferedReader in;
        private long line;
        private long position;

        private Reader(InputStream stream) {
            this.in = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)), 1 << 16);
        }

        /** The next record, or null at the end. */
        Entry next() throws IOException {
            while (true) {
                String s;
                try {
                    s = in.readLine();
                } catch (CharacterCodingException e) {
                    throw new IOException(name + ":" + (line + 1) + ": not valid UTF-8");
                }
                if (s == null) {
                    return null;
                }
                line++;
                if (line == 1 && !s.isEmpty() && s.charAt(0) == '\uFEFF') {
                    s = s.substring(1);
                }
                if (format == Format.TEXT) {
                    if (s.isBlank()) {
                        throw new IOException(name + ":" + line + ": empty text");
                    }
                    long p = position++;
                    return new Entry(p, Long.toString(p), s, line);
                }
                if (s.isBlank()) {
                    continue;   // blank lines between JSON records are allowed
                }
                JsonNode node;
                try {
                    node = JSON.readTree(s);
                } catch (JsonProcessingException e) {
                    throw new IOException(name + ":" + line + ": malformed JSON: " + e.getOriginalMessage());
                }
                if (node == null || !node.isObject()) {
                    throw new IOException(name + ":" + line + ": expected a JSON object with \"id\" and \"text\"");
                }
                JsonNode text = node.get("text");
                if (text == null || !text.isTextual()) {
                    throw new IOException(name + ":" + line + ": no \"text\" string field");
                }
                if (text.asText().isBlank()) {
                    throw new IOException(name + ":" + line + ": empty text");
                }
                long p = position++;
                JsonNode id = node.get("id");
                String ids;
                if (id == null || id.isNull()) {
                    ids = Long.toString(p);
                } else if (id.isTextual() || id.isIntegralNumber()) {
                    ids = id.asText();
                } else {
                    throw new IOException(name + ":" + line + ": \"id\" must be a string or an integer");
                }
                return new Entry(p, ids, text.asText(), line);
            }
        }

        /** Up to {@code max} next records (empty at the end). */
        List<Entry> nextBlock(int max) throws IOException {
            List<Entry> out = new ArrayList<>(Math.min(max, 4096));
            Entry e;
            while (out.size() < max && (e = next()) != null) {
                out.add(e);
            }
            return out;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
