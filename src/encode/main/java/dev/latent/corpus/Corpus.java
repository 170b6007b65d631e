package dev.latent.corpus;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import dev.latent.core.Texts;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A corpus of texts: one text per line, JSONL with an id and a text field per line, or CSV with a header
 * row (RFC 4180: quoted fields may hold commas, doubled quotes and line breaks) and a text and an id column.
 * Records are read in order, in blocks, so a corpus of any size streams; every problem names its
 * line (malformed JSON, no text field, empty text, a bad UTF-8 byte, a ragged CSV row, an id that cannot be
 * written on one line) in an {@link IOException} whose message starts with {@code file:line:}.
 *
 * <p>A {@code Corpus} only names a file and how to read it: it holds no open file and is immutable, so it may
 * be shared between threads. Each {@link Reader} it opens owns one open file until it is closed and is not
 * thread-safe.
 */
public final class Corpus {
    private static final JsonFactory JSON_FACTORY = new JsonFactory();

    /** Input layout. */
    public enum Format { TEXT, JSONL, CSV }

    /**
     * One record: its position (0-based), the corpus's own id (JSONL {@code id} or CSV id column, else the
     * position), text, line (1-based), the byte offset where its line starts, and whether the id is a JSON
     * integer (a JSONL {@code id} written as a number: then {@code id} is its decimal form, so {@code -0} is
     * {@code 0}). Only such ids become index ids (see {@link RowIds}); an id string that looks like a number
     * ({@code "007"}) stays a string.
     *
     * @param position  0-based record number in the corpus
     * @param id        the corpus's own id, never empty and free of line breaks, tabs and other controls
     * @param text      the text, never blank
     * @param line      1-based line where the record starts
     * @param offset    byte offset of that line in the file
     * @param integerId whether {@code id} was written as a JSON integer
     * @param payload   the payload fields asked for ({@link #withPayload}), empty when none
     */
    public record Entry(long position, String id, String text, long line, long offset, boolean integerId,
                        Map<String, Object> payload) {
        public Entry(long position, String id, String text, long line, long offset, boolean integerId) {
            this(position, id, text, line, offset, integerId, Map.of());
        }
    }

    /** {@link #withPayload} of this: every field or column but the text and the id. */
    public static final String ALL_FIELDS = "*";
    private List<String> payloadFields = List.of();

    private final String name;
    private final Path path;
    private final Format format;
    /** JSONL field or CSV column with the texts, and with the ids (JSONL: optional; CSV: used when present). */
    private final String textField;
    private final String idField;

    private Corpus(String name, Path path, Format format, String textField, String idField) {
        this.name = name;
        this.path = path;
        this.format = format;
        this.textField = textField;
        this.idField = idField;
    }

    /**
     * A corpus file with its texts in the field or column {@code text} and ids in {@code id}; format from
     * {@code format} ("auto" or null: JSONL for .jsonl/.ndjson/.json, CSV for .csv, else text).
     *
     * @throws java.nio.file.NoSuchFileException   when the file does not exist
     * @throws java.nio.file.AccessDeniedException when it cannot be read
     * @throws IOException                         when it is a directory
     * @throws IllegalArgumentException            for an unknown format name
     */
    public static Corpus file(Path file, String format) throws IOException {
        return file(file, format, "text", "id");
    }

    /**
     * A corpus file whose texts and ids are in the JSONL field or CSV column {@code textField} and
     * {@code idField} (a CSV without an id column, or a JSONL record without the field, numbers its rows).
     * Nothing is read yet beyond checking that the file exists and is readable; errors as for
     * {@link #file(Path, String)}.
     */
    public static Corpus file(Path file, String format, String textField, String idField) throws IOException {
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file.toString(), null, "no such file");
        }
        if (Files.isDirectory(file)) {
            throw new IOException(file + " is a directory, not a corpus file");
        }
        if (!Files.isReadable(file)) {
            throw new AccessDeniedException(file.toString(), null, "not readable");
        }
        return new Corpus(file.toString(), file, format(format, file.getFileName().toString()), textField, idField);
    }

    /**
     * The format {@code format} names ({@code auto}/null, {@code text}/{@code txt}/{@code lines},
     * {@code jsonl}/{@code ndjson}, {@code csv}; any case), guessed from {@code fileName}'s extension for auto.
     *
     * @throws IllegalArgumentException naming the unknown format
     */
    public static Format format(String format, String fileName) {
        String f = format == null ? "auto" : format.toLowerCase(Locale.ROOT);
        switch (f) {
            case "text": case "txt": case "lines": return Format.TEXT;
            case "jsonl": case "ndjson": return Format.JSONL;
            case "csv": return Format.CSV;
            case "auto":
                String n = fileName.toLowerCase(Locale.ROOT);
                if (n.endsWith(".csv")) {
                    return Format.CSV;
                }
                return n.endsWith(".jsonl") || n.endsWith(".ndjson") || n.endsWith(".json") ? Format.JSONL : Format.TEXT;
            default:
                throw new IllegalArgumentException("unknown input format '" + format + "' (expected auto, text, jsonl or csv)");
        }
    }

    /**
     * This corpus with the payload fields each entry carries ({@link Entry#payload()}): JSONL fields or CSV
     * columns by name, or {@link #ALL_FIELDS} for all but the text and the id. JSONL values keep their JSON types
     * (strings, numbers, booleans, lists of strings; a null is left out, a nested object is an error naming the
     * line); CSV cells are numbers when they read as JSON numbers, else strings, and an empty cell is left out. A
     * named CSV column the header lacks is an error; a JSONL record without a named field simply lacks it.
     */
    public Corpus withPayload(List<String> fields) {
        Corpus c = new Corpus(name, path, format, textField, idField);
        c.payloadFields = List.copyOf(fields);
        return c;
    }

    /** The payload fields asked for (empty: none). */
    public List<String> payloadFields() {
        return payloadFields;
    }

    /** The name used in messages: the path as given. */
    public String name() {
        return name;
    }

    /** How the file is read. */
    public Format format() {
        return format;
    }

    /** The JSONL field or CSV column holding the texts. */
    public String textField() {
        return textField;
    }

    /** The JSONL field or CSV column holding the ids. */
    public String idField() {
        return idField;
    }

    /** Opens a fresh pass over the records; the caller closes it. */
    public Reader open() throws IOException {
        return new Reader(Files.newInputStream(path), 0, 0, 0);
    }

    /**
     * A pass over the records from byte {@code offset} (a line start), {@code linesBefore} lines and
     * {@code position} records into the file: where an earlier pass's {@link Reader#nextOffset()},
     * {@link Reader#line()} and {@link Reader#position()} left off.
     */
    public Reader openAt(long offset, long linesBefore, long position) throws IOException {
        SeekableByteChannel ch = Files.newByteChannel(path);
        return new Reader(Channels.newInputStream(ch.position(offset)), offset, linesBefore, position);
    }

    /**
     * As {@link #openAt(long, long, long)}, fingerprinting what it reads: {@code prefix} holds the digest of the
     * file's first {@code offset} bytes (see {@link #digestOfPrefix}) and the reader's
     * {@link Reader#fingerprint()} goes on from it. The reader owns {@code prefix}.
     */
    public Reader openAt(long offset, long linesBefore, long position, MessageDigest prefix) throws IOException {
        SeekableByteChannel ch = Files.newByteChannel(path);
        return new Reader(Channels.newInputStream(ch.position(offset)), offset, linesBefore, position, prefix);
    }

    /**
     * A SHA-256 digest fed with the file's first {@code length} bytes (for {@link #openAt(long, long, long,
     * MessageDigest)}); the caller owns it.
     *
     * @throws IOException naming the corpus when the file is shorter than {@code length} bytes
     */
    public MessageDigest digestOfPrefix(long length) throws IOException {
        MessageDigest d = sha256();
        try (InputStream in = Files.newInputStream(path)) {
            byte[] b = new byte[1 << 20];
            long left = length;
            while (left > 0) {
                int n = in.read(b, 0, (int) Math.min(b.length, left));
                if (n < 0) {
                    throw new IOException(name + ": shorter than " + length + " bytes");
                }
                d.update(b, 0, n);
                left -= n;
            }
        }
        return d;
    }

    /** A new SHA-256 digest. */
    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The corpus file. */
    public Path path() {
        return path;
    }

    /**
     * The record whose line starts at byte {@code offset} (an {@link Entry#offset()} of an earlier pass),
     * with its line number and position as that pass reported them.
     *
     * @throws IOException naming the line when no record starts there any more (the corpus changed)
     */
    public Entry readAt(long offset, long line, long position) throws IOException {
        SeekableByteChannel ch = Files.newByteChannel(path);
        try (Reader r = new Reader(Channels.newInputStream(ch.position(offset)), offset, line - 1, position)) {
            Entry e = r.next();
            if (e == null) {
                throw new IOException(name + ":" + line + ": the corpus changed since it was read (no record there now)");
            }
            return e;
        }
    }

    /**
     * Reads records in order. Lines are split on {@code \n} (a {@code \r} before it is dropped) and each
     * line is decoded on its own as strict UTF-8, so a bad byte is reported at its real line and column.
     * JSONL lines are read with a streaming JSON parser (no tree per record). Owns its open file until
     * {@link #close()}; not thread-safe.
     */
    public final class Reader implements AutoCloseable {
        private final InputStream in;
        private final byte[] buf = new byte[1 << 16];
        private int bufPos;
        private int bufEnd;
        /** File offset of buf[0]. */
        private long bufBase;
        /** File offset where the line last read starts. */
        private long lineOffset;
        private byte[] lineBytes = new byte[256];
        private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        private long line;
        private long position;
        /** CSV: the header's column count and the text and id columns (-1: no id column). */
        private int csvColumns = -1;
        private int csvText;
        private int csvId;
        private List<Integer> csvPayload = List.of();
        private List<String> csvNames = List.of();
        /** The bytes consumed before buf[0], or null when not fingerprinting. */
        private final MessageDigest digest;

        private Reader(InputStream stream, long offset, long line, long position) throws IOException {
            this(stream, offset, line, position, null);
        }

        private Reader(InputStream stream, long offset, long line, long position, MessageDigest digest) throws IOException {
            this.digest = digest;
            this.in = stream;
            this.bufBase = offset;
            this.line = line;
            this.position = position;
            if (format == Format.CSV && offset > 0) {
                // A pass from the middle of the file still needs the header's columns.
                try (Reader head = new Reader(Files.newInputStream(path), 0, 0, 0)) {
                    head.readHeader();
                    csvColumns = head.csvColumns;
                    csvText = head.csvText;
                    csvId = head.csvId;
                }
            }
        }

        /** File offset of the first byte not read yet: the start of the next line. */
        public long nextOffset() {
            return bufBase + bufPos;
        }

        /**
         * Hex SHA-256 of the file's bytes from its start up to {@link #nextOffset()}, for a reader opened with a
         * digest of the bytes before its offset ({@link #openAt(long, long, long, MessageDigest)}).
         */
        public String fingerprint() {
            try {
                MessageDigest d = (MessageDigest) digest.clone();
                d.update(buf, 0, bufPos);
                return HexFormat.of().formatHex(d.digest());
            } catch (CloneNotSupportedException e) {
                throw new IllegalStateException(e);
            }
        }

        /** Lines read so far, counted from the start of the file. */
        public long line() {
            return line;
        }

        /** Records read so far, counted from the start of the file. */
        public long position() {
            return position;
        }

        /** The next line's bytes into lineBytes; returns its length, or -1 at the end. */
        private int readLine() throws IOException {
            int n = 0;
            boolean any = false;
            lineOffset = bufBase + bufPos;
            while (true) {
                if (bufPos == bufEnd) {
                    if (digest != null && bufEnd > 0) {
                        digest.update(buf, 0, bufEnd);   // every byte of the buffer is consumed
                    }
                    bufBase += bufEnd;
                    bufEnd = in.read(buf, 0, buf.length);
                    bufPos = 0;
                    if (bufEnd <= 0) {
                        bufEnd = 0;
                        return any ? n : -1;
                    }
                }
                any = true;
                int start = bufPos;
                while (bufPos < bufEnd && buf[bufPos] != '\n') {
                    bufPos++;
                }
                int len = bufPos - start;
                if (n + len > lineBytes.length) {
                    lineBytes = Arrays.copyOf(lineBytes, Math.max(n + len, lineBytes.length * 2));
                }
                System.arraycopy(buf, start, lineBytes, n, len);
                n += len;
                if (bufPos < bufEnd) {
                    bufPos++;   // the '\n'
                    return n > 0 && lineBytes[n - 1] == '\r' ? n - 1 : n;
                }
            }
        }

        private String decode(int length) throws IOException {
            try {
                return decoder.reset().decode(ByteBuffer.wrap(lineBytes, 0, length)).toString();
            } catch (CharacterCodingException e) {
                int column = firstBadByte(length);
                throw new IOException(name + ":" + line + ": not valid UTF-8 (byte 0x"
                        + String.format(Locale.ROOT, "%02x", lineBytes[column] & 0xff) + " at byte " + (column + 1)
                        + " of the line)");
            }
        }

        /** Offset of the first byte of the line that starts no valid UTF-8 sequence. */
        private int firstBadByte(int length) {
            CharsetDecoder d = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
            ByteBuffer bb = ByteBuffer.wrap(lineBytes, 0, length);
            java.nio.CharBuffer cb = java.nio.CharBuffer.allocate(length + 1);
            java.nio.charset.CoderResult r = d.decode(bb, cb, true);
            return r.isError() ? bb.position() : Math.max(0, length - 1);
        }

        /**
         * The next record, or null at the end.
         *
         * @throws IOException naming the file and line of a record that cannot be read
         */
        public Entry next() throws IOException {
            while (true) {
                int len = readLine();
                if (len < 0) {
                    return null;
                }
                line++;
                String s = decode(len);
                if (line == 1 && !s.isEmpty() && s.charAt(0) == '\uFEFF') {
                    s = s.substring(1);
                }
                if (format != Format.CSV && s.indexOf('\r') >= 0) {
                    // Old Mac line ends (CR alone): read as one line, every text of the file would become one.
                    throw new IOException(name + ":" + line + ": a carriage return that ends no line (lines end with "
                            + "LF or CRLF here); convert old Mac line ends first, for example with tr '\\r' '\\n'");
                }
                if (format == Format.CSV) {
                    if (csvColumns < 0) {
                        line--;
                        readHeaderFrom(s);
                        continue;
                    }
                    if (s.isEmpty()) {
                        continue;   // blank lines between records are allowed
                    }
                    return parseCsv(s);
                }
                if (format == Format.TEXT) {
                    if (Texts.isBlank(s)) {
                        throw new IOException(name + ":" + line + ": empty text" + (s.isBlank() ? ""
                                : " (only invisible characters: no-break or zero-width spaces)"));
                    }
                    long p = position++;
                    return new Entry(p, Long.toString(p), s, line, lineOffset, false);
                }
                if (s.isBlank()) {
                    continue;   // blank lines between JSON records are allowed
                }
                return parseJson(s);
            }
        }

        private void readHeader() throws IOException {
            int len = readLine();
            if (len < 0) {
                throw new IOException(name + ": empty CSV file (a header row is expected)");
            }
            String s = decode(len);
            readHeaderFrom(s.startsWith("\uFEFF") ? s.substring(1) : s);
        }

        /** The header row (its first line is {@code first}): finds the text and id columns. */
        private void readHeaderFrom(String first) throws IOException {
            line++;
            List<String> cols = csvFields(first);
            csvText = cols.indexOf(textField);
            csvId = cols.indexOf(idField);
            if (csvText < 0) {
                throw new IOException(name + ":" + line + ": the CSV header has no column '" + textField
                        + "' (columns: " + String.join(", ", cols) + "); name the text column with --text-column");
            }
            csvColumns = cols.size();
            csvPayload = new ArrayList<>();
            if (payloadFields.contains(ALL_FIELDS)) {
                for (int i = 0; i < cols.size(); i++) {
                    if (i != csvText && i != csvId) {
                        csvPayload.add(i);
                    }
                }
            } else {
                for (String f : payloadFields) {
                    int i = cols.indexOf(f);
                    if (i < 0) {
                        throw new IOException(name + ":" + line + ": the CSV header has no payload column '" + f
                                + "' (columns: " + String.join(", ", cols) + ")");
                    }
                    csvPayload.add(i);
                }
            }
            csvNames = cols;
        }

        /** One CSV record starting with line {@code first} (more lines while a quoted field is open). */
        private Object csvValue(String cell) {
            if (cell.matches("-?(0|[1-9][0-9]{0,17})")) {
                return Long.parseLong(cell);
            }
            if (cell.matches("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?")) {
                double d = Double.parseDouble(cell);
                if (Double.isFinite(d)) {
                    return d;
                }
            }
            return cell;
        }

        private Entry parseCsv(String first) throws IOException {
            long startLine = line;
            long startOffset = lineOffset;
            List<String> fields = csvFields(first);
            if (fields.size() != csvColumns) {
                throw new IOException(name + ":" + startLine + ": " + fields.size() + " field" + (fields.size() == 1 ? "" : "s")
                        + " where the header has " + csvColumns + " (a ragged row)");
            }
            String text = fields.get(csvText);
            if (Texts.isBlank(text)) {
                throw new IOException(name + ":" + startLine + ": empty text in column '" + textField + "'");
            }
            long p = position++;
            String id = csvId >= 0 ? fields.get(csvId) : Long.toString(p);
            checkId(id);
            Map<String, Object> payload = Map.of();
            if (!csvPayload.isEmpty()) {
                payload = new LinkedHashMap<>();
                for (int i : csvPayload) {
                    String cell = fields.get(i);
                    if (!cell.isEmpty()) {
                        payload.put(csvNames.get(i), csvValue(cell));
                    }
                }
            }
            return new Entry(p, id, text, startLine, startOffset, false, payload);
        }

        /**
         * The fields of a record beginning with {@code first}: RFC 4180, reading further lines while a quoted
         * field is open; an unclosed quote at the end of the file, or text after a closing quote, is an error.
         */
        private List<String> csvFields(String first) throws IOException {
            long startLine = line;
            List<String> out = new ArrayList<>();
            StringBuilder f = new StringBuilder();
            String s = first;
            int i = 0;
            boolean quoted = false;
            boolean wasQuoted = false;
            while (true) {
                if (i == s.length()) {
                    if (!quoted) {
                        out.add(f.toString());
                        return out;
                    }
                    int len = readLine();
                    if (len < 0) {
                        throw new IOException(name + ":" + startLine + ": a quoted field is not closed before the end of the file");
                    }
                    line++;
                    f.append('\n');
                    s = decode(len);
                    i = 0;
                    continue;
                }
                char c = s.charAt(i++);
                if (quoted) {
                    if (c == '"') {
                        if (i < s.length() && s.charAt(i) == '"') {
                            f.append('"');
                            i++;
                        } else {
                            quoted = false;
                        }
                    } else {
                        f.append(c);
                    }
                } else if (c == ',') {
                    out.add(f.toString());
                    f.setLength(0);
                    wasQuoted = false;
                } else if (c == '"' && f.length() == 0 && !wasQuoted) {
                    quoted = true;
                    wasQuoted = true;
                } else if (wasQuoted) {
                    throw new IOException(name + ":" + line + ": text after a closing quote in field " + (out.size() + 1));
                } else {
                    f.append(c);
                }
            }
        }

        /**
         * One JSONL record: an object with a "text" string and an optional "id": a string, or an integer written
         * as a JSON number within the signed 64-bit range.
         */
        private Entry parseJson(String s) throws IOException {
            String text = null;
            String id = null;
            boolean integer = false;
            boolean textSeen = false;
            Map<String, Object> payload = payloadFields.isEmpty() ? Map.of() : new LinkedHashMap<>();
            boolean allFields = payloadFields.contains(ALL_FIELDS);
            try (JsonParser p = JSON_FACTORY.createParser(s)) {
                if (p.nextToken() != JsonToken.START_OBJECT) {
                    throw new IOException(name + ":" + line + ": expected a JSON object with \"" + idField + "\" and \"" + textField + "\"");
                }
                JsonToken t;
                while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                    String field = p.currentName();
                    JsonToken v = p.nextToken();
                    if (textField.equals(field)) {
                        textSeen = true;
                        text = v == JsonToken.VALUE_STRING ? p.getText() : null;
                    } else if (idField.equals(field)) {
                        integer = false;
                        if (v == JsonToken.VALUE_STRING) {
                            id = p.getText();
                        } else if (v == JsonToken.VALUE_NUMBER_INT) {
                            if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                                throw new IOException(name + ":" + line + ": \"" + idField + "\" " + p.getText()
                                        + " is beyond the 64-bit integer range; write it as a string to keep it as a name");
                            }
                            id = Long.toString(p.getLongValue());
                            integer = true;
                        } else if (v == JsonToken.VALUE_NULL) {
                            id = null;
                        } else {
                            throw new IOException(name + ":" + line + ": \"" + idField + "\" must be a string or an integer");
                        }
                    } else if (allFields || payloadFields.contains(field)) {
                        Object value = payloadValue(p, v, field);
                        if (value != null) {
                            payload.put(field, value);
                        }
                    } else {
                        p.skipChildren();
                    }
                }
                if (t != JsonToken.END_OBJECT || p.nextToken() != null) {
                    throw new IOException(name + ":" + line + ": malformed JSON: one object per line expected");
                }
            } catch (JsonProcessingException e) {
                throw new IOException(name + ":" + line + ": malformed JSON: " + e.getOriginalMessage());
            }
            if (!textSeen || text == null) {
                throw new IOException(name + ":" + line + ": no \"" + textField + "\" string field");
            }
            if (Texts.isBlank(text)) {
                throw new IOException(name + ":" + line + ": empty text" + (text.isBlank() ? ""
                        : " (only invisible characters: no-break or zero-width spaces)"));
            }
            long p = position++;
            if (id == null) {
                id = Long.toString(p);
            } else {
                checkId(id);
            }
            return new Entry(p, id, text, line, lineOffset, integer, payload);
        }

        /**
         * A payload value at the parser's current token: a string, a number (Long when whole and in range, else
         * Double), a boolean, a list of strings, or null for a JSON null (left out).
         */
        private Object payloadValue(JsonParser p, JsonToken v, String field) throws IOException {
            switch (v) {
                case VALUE_STRING: return p.getText();
                case VALUE_TRUE: return Boolean.TRUE;
                case VALUE_FALSE: return Boolean.FALSE;
                case VALUE_NULL: return null;
                case VALUE_NUMBER_INT:
                    if (p.getNumberType() != JsonParser.NumberType.BIG_INTEGER) {
                        return p.getLongValue();
                    }
                    return p.getDoubleValue();
                case VALUE_NUMBER_FLOAT: {
                    double d = p.getDoubleValue();
                    if (!Double.isFinite(d)) {
                        throw new IOException(name + ":" + line + ": payload field '" + field + "' is not a finite number");
                    }
                    return d;
                }
                case START_ARRAY: {
                    List<String> list = new ArrayList<>();
                    JsonToken t;
                    while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                        if (t != JsonToken.VALUE_STRING) {
                            throw new IOException(name + ":" + line + ": payload field '" + field
                                    + "' is a list with a non-string element; lists hold strings only");
                        }
                        list.add(p.getText());
                    }
                    return List.copyOf(list);
                }
                default:
                    throw new IOException(name + ":" + line + ": payload field '" + field + "' is an object; a payload is "
                            + "flat: strings, numbers, booleans and lists of strings");
            }
        }

        /**
         * An id must fit on one line of an ids file and in one TSV field ({@link Texts#idProblem}), so an ids file
         * always has exactly one line per row.
         */
        private void checkId(String id) throws IOException {
            if (id.isEmpty()) {
                throw new IOException(name + ":" + line + ": empty \"" + idField + "\"; ids are written one per line");
            }
            String problem = Texts.idProblem(id);
            if (problem != null) {
                throw new IOException(name + ":" + line + ": \"" + idField + "\" cannot be an id: " + problem
                        + "; ids are written one per line (and as one TSV field), never escaped or altered");
            }
        }

        /** Up to {@code max} next records (empty at the end). */
        public List<Entry> nextBlock(int max) throws IOException {
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
