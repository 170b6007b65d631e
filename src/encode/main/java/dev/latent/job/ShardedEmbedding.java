package dev.latent.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.latent.core.FloatMatrix;
import dev.latent.corpus.Corpus;
import dev.latent.corpus.RowIds;
import dev.latent.encode.text.TextEncoder;
import dev.latent.space.AtomicOutput;
import dev.latent.space.OutputSet;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * Embeds a corpus in one streaming pass into numbered shards ({@code shard-00000.npy} + {@code .ids}) of a fixed
 * number of rows, with a manifest ({@code manifest.json}: model, dimension, corpus, shard size, and per shard its
 * rows, SHA-256 checksums and where in the corpus it ends). Memory holds one block of texts and one shard's
 * vectors at most, whatever the corpus size.
 *
 * <p><b>Commit and resume.</b> A shard's two files commit together ({@link OutputSet}); the shard counts only once
 * the manifest, rewritten atomically after it, lists it. A run killed at any point leaves committed shards and at
 * most files of a shard the manifest does not list. {@code resume} checks the manifest's model and corpus and
 * every listed shard's checksums (refusing, with the shard named, on any difference), then reads on from where
 * the last shard ended and overwrites anything unlisted. Shards hold whole encoder blocks and a resumed run
 * starts on a shard boundary, so it forms the same batches as an uninterrupted run: with a float32 model its
 * vectors are bit-identical.
 *
 * <p><b>What resume trusts.</b> The manifest carries its own SHA-256 ({@code manifestSha256}, over its compact
 * JSON without that field) and is refused when it does not match; shard names must be {@code shard-NNNNN}, in the
 * run's folder. Each shard records the SHA-256 of the corpus bytes from the start to where the shard ends,
 * computed as the run streams; a resume hashes the corpus up to the last shard's end and refuses a corpus edited
 * in place (even to the same size). A run holds {@code DIR/.latent-shards.lock} while it writes, so a second run
 * (a resume started while the first still writes) is refused. A {@code --metric} given on a resume must be the
 * run's.
 *
 * <p><b>Ids.</b> The shards' ids files hold the corpus's ids; each shard records whether all of its ids were JSON
 * integers, and a merge applies the one rule of {@link RowIds}, so a sharded run and a direct {@code embed
 * --index} give the same index ids.
 *
 * <p><b>Threads and ownership.</b> Stateless: the methods are static, and a run uses its encoder from the calling
 * thread (the encoder may run workers of its own). Two runs into one folder exclude each other through the lock
 * file, across processes too. What a run writes belongs to the folder; an index it returns belongs to the caller,
 * who closes it.
 *
 * <p><b>Errors.</b> A problem the caller can fix (a resume that does not match the run, a damaged manifest or
 * shard, an unfinished run, another run writing) is an {@link IllegalArgumentException} whose message names the
 * file and what differs; an unreadable corpus or a failed write is an {@link IOException} naming the file.
 */
public final class ShardedEmbedding {
    /** The manifest's file name in a run's folder. */
    public static final String MANIFEST = "manifest.json";
    /** Held by the run writing into the folder. */
    static final String LOCK = ".latent-shards.lock";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int VERSION = 2;
    /** A shard's records: one JSON object a line, {@code {"text": ..., "payload": {...}}}, in row order. */
    static final String RECORDS = ".records.jsonl";
    private static final java.util.regex.Pattern SHARD_NAME = java.util.regex.Pattern.compile("shard-[0-9]{5,9}");

    /**
     * Rows, tokens, time and shards of one run (this run's part when resuming).
     *
     * @param texts         records embedded by this run
     * @param tokens        tokens the encoder processed for them
     * @param elapsed       wall time of this run
     * @param shards        shards this run wrote
     * @param resumedShards shards an earlier run had already committed
     */
    public record Stats(long texts, long tokens, Duration elapsed, int shards, int resumedShards) {}

    private ShardedEmbedding() {}

    static String shardName(int index) {
        return String.format("shard-%05d", index);
    }

    /**
     * Embeds {@code corpus} into shards in {@code dir} (created when missing), or continues the run there.
     *
     * @param shardRows rows per shard, a multiple of {@code block}
     * @param block     texts per encoder call
     * @param resume    continue the run {@code dir} holds (a folder with a manifest is refused without it)
     * @param metric    the metric asked, or null (a new run: cosine; a resume: the run's)
     * @param progress  told the number of corpus records embedded so far (resumed ones included), from encoder
     *                  threads too; may be null
     * @throws IllegalArgumentException naming the problem: a shard size that is no positive multiple of the block,
     *                                  another run writing the folder, a finished or started run without
     *                                  {@code resume}, a resume whose model, metric, corpus, layout or shards
     *                                  differ from the manifest's
     * @throws IOException              naming the corpus file and line of a bad record, or a file that cannot be
     *                                  written
     */
    public static Stats run(Corpus corpus, TextEncoder enc, Path dir, int shardRows, int block, boolean resume,
            dev.latent.core.Metric metric, LongConsumer progress) throws IOException {
        if (shardRows < 1 || block < 1 || shardRows % block != 0) {
            throw new IllegalArgumentException("--shard-size must be a positive multiple of --block (" + block + "), got "
                    + shardRows);
        }
        Files.createDirectories(dir);
        try (java.nio.channels.FileChannel lockFile = java.nio.channels.FileChannel.open(dir.resolve(LOCK),
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE,
                java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            java.nio.channels.FileLock lock;
            try {
                lock = lockFile.tryLock();
            } catch (java.nio.channels.OverlappingFileLockException held) {
                lock = null;
            }
            if (lock == null) {
                throw new IllegalArgumentException("another run is writing " + dir + " (it holds " + dir.resolve(LOCK)
                        + "); wait for it to end before resuming");
            }
            try (java.nio.channels.FileLock held = lock) {
                return runLocked(corpus, enc, dir, shardRows, block, resume, metric,
                        progress != null ? progress : n -> { });
            }
        }
    }

    private static Stats runLocked(Corpus corpus, TextEncoder enc, Path dir, int shardRows, int block, boolean resume,
            dev.latent.core.Metric metric, LongConsumer progress) throws IOException {
        Path manifestFile = dir.resolve(MANIFEST);
        ObjectNode manifest;
        long offset = 0;
        long line = 0;
        long position = 0;
        int resumed = 0;
        java.security.MessageDigest prefix;
        if (Files.exists(manifestFile)) {
            if (!resume) {
                throw new IllegalArgumentException(dir + " already holds a sharded run (" + MANIFEST
                        + "): continue it with --resume, or write into another folder");
            }
            manifest = readManifest(manifestFile);
            check(manifest, corpus, enc, shardRows, block, dir, metric);
            ArrayNode shards = (ArrayNode) manifest.get("shards");
            resumed = shards.size();
            if (resumed > 0) {
                JsonNode last = shards.get(resumed - 1);
                offset = last.get("endOffset").asLong();
                line = last.get("endLine").asLong();
                position = last.get("endPosition").asLong();
            }
            if (manifest.path("complete").asBoolean(false)) {
                return new Stats(0, 0, Duration.ZERO, 0, resumed);
            }
            prefix = corpus.digestOfPrefix(offset);
            if (resumed > 0) {
                String consumed = shards.get(resumed - 1).path("corpusSha256").asText();
                String now = HexFormat.of().formatHex(clone(prefix).digest());
                if (!now.equals(consumed)) {
                    throw new IllegalArgumentException("cannot resume: the first " + offset + " bytes of " + corpus.name()
                            + " are not those the shards were embedded from (the corpus was edited); start a new run "
                            + "in another folder");
                }
            }
        } else {
            manifest = JSON.createObjectNode();
            manifest.put("format", "latent-shards");
            manifest.put("version", VERSION);
            manifest.put("model", enc.modelName());
            manifest.put("dimension", enc.dimension());
            manifest.put("metric", (metric == null ? dev.latent.core.Metric.COSINE : metric).name().toLowerCase(java.util.Locale.ROOT));
            ObjectNode c = manifest.putObject("corpus");
            c.put("path", corpus.path().toAbsolutePath().toString());
            c.put("bytes", Files.size(corpus.path()));
            c.put("format", corpus.format().name().toLowerCase(java.util.Locale.ROOT));
            c.put("textColumn", corpus.textField());
            c.put("idColumn", corpus.idField());
            ArrayNode fields = c.putArray("payload");
            corpus.payloadFields().forEach(fields::add);
            manifest.put("shardRows", shardRows);
            manifest.put("block", block);
            manifest.putArray("shards");
            manifest.put("complete", false);
            writeManifest(manifestFile, manifest);
            prefix = Corpus.sha256();
        }
        ArrayNode shards = (ArrayNode) manifest.get("shards");
        long start = System.nanoTime();
        long tokensBefore = enc.tokensProcessed();
        long done = 0;
        int written = 0;
        long firstRow = position;
        progress.accept(position);
        try (Corpus.Reader r = corpus.openAt(offset, line, position, prefix)) {
            while (true) {
                int shard = shards.size();
                List<FloatMatrix> vectors = new ArrayList<>();
                StringBuilder ids = new StringBuilder();
                StringBuilder records = new StringBuilder();
                boolean integerIds = true;
                long rows = 0;
                try {
                    while (rows < shardRows) {
                        List<Corpus.Entry> entries = r.nextBlock(block);
                        if (entries.isEmpty()) {
                            break;
                        }
                        List<String> texts = new ArrayList<>(entries.size());
                        for (Corpus.Entry e : entries) {
                            texts.add(e.text());
                            ids.append(e.id()).append('\n');
                            integerIds &= e.integerId();
                            records.append(recordLine(e, corpus)).append('\n');
                        }
                        long base = position + done + rows;
                        try {
                            vectors.add(enc.encode(texts, (t, k) -> progress.accept(base + t)));
                        } catch (IllegalArgumentException ex) {
                            throw new IOException(corpus.name() + " (lines " + entries.get(0).line() + "-"
                                    + entries.get(entries.size() - 1).line() + "): " + ex.getMessage(), ex);
                        }
                        rows += entries.size();
                    }
                    if (rows == 0) {
                        break;
                    }
                    String name = shardName(shard);
                    Path npy = dir.resolve(name + ".npy");
                    Path idsFile = dir.resolve(name + ".ids");
                    Path recordsFile = dir.resolve(name + RECORDS);
                    try (OutputSet out = new OutputSet()) {
                        Npy.Writer w = Npy.writer(out.open(npy), enc.dimension());
                        for (FloatMatrix v : vectors) {
                            w.append(v);
                        }
                        w.finish();
                        AtomicOutput o = out.open(idsFile);
                        o.write(ByteBuffer.wrap(ids.toString().getBytes(StandardCharsets.UTF_8)));
                        AtomicOutput rec = out.open(recordsFile);
                        rec.write(ByteBuffer.wrap(records.toString().getBytes(StandardCharsets.UTF_8)));
                        out.commit();
                    }
                    ObjectNode s = shards.addObject();
                    s.put("name", name);
                    s.put("firstRow", firstRow);
                    s.put("rows", rows);
                    s.put("npySha256", sha256(npy));
                    s.put("idsSha256", sha256(idsFile));
                    s.put("recordsSha256", sha256(recordsFile));
                    s.put("integerIds", integerIds);
                    s.put("endOffset", r.nextOffset());
                    s.put("endLine", r.line());
                    s.put("endPosition", r.position());
                    s.put("corpusSha256", r.fingerprint());
                    writeManifest(manifestFile, manifest);
                } finally {
                    for (FloatMatrix v : vectors) {
                        v.close();
                    }
                }
                firstRow += rows;
                done += rows;
                written++;
                progress.accept(position + done);
                if (rows < shardRows) {
                    break;
                }
            }
        }
        manifest.put("complete", true);
        manifest.put("rows", firstRow);
        writeManifest(manifestFile, manifest);
        return new Stats(done, enc.tokensProcessed() - tokensBefore, Duration.ofNanos(System.nanoTime() - start),
                written, resumed);
    }

    /** The record line of a corpus entry (its key is the ids file's line). */
    private static String recordLine(Corpus.Entry e, Corpus corpus) throws IOException {
        try {
            new dev.latent.space.Record(e.id(), e.text(), e.payload());   // checked now, named by its line
        } catch (IllegalArgumentException ex) {
            throw new IOException(corpus.name() + ":" + e.line() + ": " + ex.getMessage(), ex);
        }
        ObjectNode o = JSON.createObjectNode();
        o.put("text", e.text());
        if (!e.payload().isEmpty()) {
            o.set("payload", JSON.valueToTree(e.payload()));
        }
        return JSON.writeValueAsString(o);
    }

    private static java.security.MessageDigest clone(java.security.MessageDigest d) {
        try {
            return (java.security.MessageDigest) d.clone();
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Refuses a resume whose model, corpus, shard layout or metric differs from the manifest's, or a damaged shard. */
    private static void check(JsonNode m, Corpus corpus, TextEncoder enc, int shardRows, int block, Path dir,
            dev.latent.core.Metric metric) throws IOException {
        if (m.path("version").asInt() < VERSION) {
            throw new IllegalArgumentException("cannot resume: " + dir.resolve(MANIFEST) + " was written by an earlier "
                    + "version that did not fingerprint the corpus; start a new run in another folder");
        }
        if (!enc.modelName().equals(m.path("model").asText())) {
            throw new IllegalArgumentException("cannot resume: the shards were embedded with model "
                    + m.path("model").asText() + ", this run uses " + enc.modelName());
        }
        String runMetric = m.path("metric").asText("cosine");
        if (metric != null && !metric.name().toLowerCase(java.util.Locale.ROOT).equals(runMetric)) {
            throw new IllegalArgumentException("cannot resume: the run records --metric " + runMetric + ", this run asks "
                    + metric.name().toLowerCase(java.util.Locale.ROOT) + "; give the run's metric or none");
        }
        String path = corpus.path().toAbsolutePath().toString();
        long bytes = Files.size(corpus.path());
        JsonNode c = m.path("corpus");
        if (!path.equals(c.path("path").asText()) || bytes != c.path("bytes").asLong()) {
            throw new IllegalArgumentException("cannot resume: the shards come from " + c.path("path").asText() + " ("
                    + c.path("bytes").asLong() + " bytes), this run reads " + path + " (" + bytes + " bytes)");
        }
        String fmt = corpus.format().name().toLowerCase(java.util.Locale.ROOT);
        if (!fmt.equals(c.path("format").asText(fmt)) || !corpus.textField().equals(c.path("textColumn").asText(corpus.textField()))
                || !corpus.idField().equals(c.path("idColumn").asText(corpus.idField()))) {
            throw new IllegalArgumentException("cannot resume: the shards were read as " + c.path("format").asText()
                    + " with text '" + c.path("textColumn").asText("text") + "' and id '" + c.path("idColumn").asText("id")
                    + "', this run reads " + fmt + " with text '" + corpus.textField() + "' and id '" + corpus.idField()
                    + "'; give the same --format, --text-column and --id-column");
        }
        List<String> runPayload = new ArrayList<>();
        c.path("payload").forEach(f -> runPayload.add(f.asText()));
        if (!runPayload.equals(corpus.payloadFields())) {
            throw new IllegalArgumentException("cannot resume: the shards keep the payload fields " + runPayload
                    + ", this run asks " + corpus.payloadFields() + "; give the same --payload");
        }
        if (shardRows != m.path("shardRows").asInt() || block != m.path("block").asInt()) {
            throw new IllegalArgumentException("cannot resume: the shards hold " + m.path("shardRows").asInt()
                    + " rows in blocks of " + m.path("block").asInt() + "; give the same --shard-size and --block");
        }
        for (JsonNode s : m.path("shards")) {
            String name = shardName(s, dir.resolve(MANIFEST));
            for (String[] f : new String[][] {{".npy", "npySha256"}, {".ids", "idsSha256"}, {RECORDS, "recordsSha256"}}) {
                if (!s.has(f[1])) {
                    continue;   // a shard written before records were kept
                }
                Path file = dir.resolve(name + f[0]);
                if (!Files.isRegularFile(file) || !sha256(file).equals(s.path(f[1]).asText())) {
                    throw new IllegalArgumentException("cannot resume: shard " + name + " (" + file.getFileName()
                            + ") is missing or does not match its checksum in the manifest");
                }
            }
        }
    }

    /** A listed shard's name, which must be {@code shard-NNNNN}: a file of the run's own folder. */
    private static String shardName(JsonNode shard, Path manifestFile) {
        String name = shard.path("name").asText();
        if (!SHARD_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(manifestFile + " lists a shard named '" + name
                    + "'; shards are shard-NNNNN files of the run's own folder");
        }
        return name;
    }

    /** The manifest's checksum: SHA-256 of its compact JSON without the checksum field. */
    private static String checksum(JsonNode manifest) throws IOException {
        ObjectNode copy = (ObjectNode) manifest.deepCopy();
        copy.remove("manifestSha256");
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(JSON.writeValueAsBytes(copy)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Reads a manifest, checking that it is one and, from version 2 on, its own checksum.
     *
     * @throws IllegalArgumentException naming the file when it is not a manifest or was damaged
     */
    static ObjectNode readManifest(Path file) throws IOException {
        JsonNode m;
        try {
            m = JSON.readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(file + " is not a shard manifest (not JSON: " + e.getOriginalMessage() + ")");
        }
        if (m == null || !m.isObject() || !"latent-shards".equals(m.path("format").asText())) {
            throw new IllegalArgumentException(file + " is not a shard manifest");
        }
        if (m.path("version").asInt() >= VERSION && !checksum(m).equals(m.path("manifestSha256").asText())) {
            throw new IllegalArgumentException(file + " does not match its own checksum (manifestSha256): it was edited "
                    + "or damaged");
        }
        return (ObjectNode) m;
    }

    private static void writeManifest(Path file, ObjectNode manifest) throws IOException {
        manifest.remove("manifestSha256");
        manifest.put("manifestSha256", checksum(manifest));
        try (AtomicOutput out = AtomicOutput.open(file)) {
            out.write(ByteBuffer.wrap(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(manifest)));
            out.commit();
        }
    }

    static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** One committed shard: its vectors and ids files, first row, row count and whether its ids are JSON integers. */
    /** @param records the shard's records file, or null for a shard written before records were kept */
    record Shard(Path npy, Path ids, Path records, long firstRow, long rows, boolean integerIds) {}

    /** Whether {@code file} is a shard manifest (by name; its content is checked by {@link #toIndex}). */
    public static boolean isManifest(Path file) {
        Path name = file.getFileName();
        return name != null && name.toString().equals(MANIFEST);
    }

    /**
     * The files a manifest lists (every shard's {@code .npy} and {@code .ids}), for the collision check; empty
     * when the manifest cannot be read (loading it then names the problem).
     */
    public static List<Path> listedFiles(Path manifestFile) {
        List<Path> out = new ArrayList<>();
        try {
            JsonNode m = readManifest(manifestFile);
            Path dir = manifestFile.toAbsolutePath().getParent();
            for (JsonNode s : m.path("shards")) {
                String name = shardName(s, manifestFile);
                out.add(dir.resolve(name + ".npy"));
                out.add(dir.resolve(name + ".ids"));
                out.add(dir.resolve(name + RECORDS));
            }
        } catch (IOException | RuntimeException unreadable) {
            return List.of();
        }
        return out;
    }

    /**
     * The shards of a complete run (manifest {@code m}, read from {@code manifestFile}), in order, each checked against
     * its manifest checksums.
     *
     * @throws IllegalArgumentException naming the problem: not a manifest, a damaged manifest, an unfinished run,
     *                                  a shard name outside the run's folder, a damaged shard
     */
    private static List<Shard> shards(JsonNode m, Path manifestFile) throws IOException {
        if (!m.path("complete").asBoolean(false)) {
            throw new IllegalArgumentException(manifestFile + ": the run is not complete; finish it with 'latent embed ... "
                    + "--shards " + manifestFile.getParent() + " --resume'");
        }
        Path dir = manifestFile.toAbsolutePath().getParent();
        List<Shard> out = new ArrayList<>();
        for (JsonNode s : m.path("shards")) {
            String name = shardName(s, manifestFile);
            Path npy = dir.resolve(name + ".npy");
            Path ids = dir.resolve(name + ".ids");
            for (Path f : List.of(npy, ids)) {
                String sum = s.path(f == npy ? "npySha256" : "idsSha256").asText();
                if (!Files.isRegularFile(f) || !sha256(f).equals(sum)) {
                    throw new IllegalArgumentException("shard " + f.getFileName() + " is missing or does not match its "
                            + "checksum in " + manifestFile);
                }
            }
            Path records = null;
            if (s.has("recordsSha256")) {
                records = dir.resolve(name + RECORDS);
                if (!Files.isRegularFile(records) || !sha256(records).equals(s.path("recordsSha256").asText())) {
                    throw new IllegalArgumentException("shard " + records.getFileName() + " is missing or does not match "
                            + "its checksum in " + manifestFile);
                }
            }
            out.add(new Shard(npy, ids, records, s.path("firstRow").asLong(), s.path("rows").asLong(),
                    s.path("integerIds").asBoolean(false)));
        }
        return out;
    }


    /**
     * The vectors of a finished run as one in-memory index, one shard read at a time (each checked first), with
     * the index ids a direct {@code embed --index} of the corpus gives ({@link RowIds}: the JSON integer ids when
     * every record had one, else the row numbers in run order); the metric is {@code metric} when given, else the
     * one the run recorded (cosine for runs that recorded none). The caller owns the index and closes it.
     *
     * @throws IllegalArgumentException naming the problem: not a manifest, a damaged manifest, an unfinished run,
     *                                  a shard name outside the run's folder, a damaged shard, no shards
     */
    public static dev.latent.index.FlatIndex toIndex(Path manifestFile, dev.latent.core.Metric metric) throws IOException {
        JsonNode m = readManifest(manifestFile);
        List<Shard> shards = shards(m, manifestFile);
        if (shards.isEmpty()) {
            throw new IllegalArgumentException(manifestFile + " lists no shards");
        }
        dev.latent.core.Metric use = metric != null ? metric : dev.latent.core.Metric.parse(m.path("metric").asText("cosine"));
        long[] indexIds = indexIds(shards, manifestFile);
        int dim = Npy.readHeader(shards.get(0).npy()).cols();
        dev.latent.index.FlatIndex index = new dev.latent.index.FlatIndex(dim, use);
        try {
            index.reserve(indexIds.length);
            int row = 0;
            for (Shard s : shards) {
                try (FloatMatrix v = Npy.read(s.npy())) {
                    if (v.rows() != s.rows()) {
                        throw new IllegalArgumentException(s.npy() + " holds " + v.rows() + " rows, the manifest says "
                                + s.rows());
                    }
                    long[] ids = java.util.Arrays.copyOfRange(indexIds, row, row + (int) v.rows());
                    try {
                        index.add(ids, v, s.records() == null ? null : readRecords(s));
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException(s.npy().getFileName() + ": " + e.getMessage(), e);
                    }
                    row += (int) v.rows();
                }
            }
            String model = m.path("model").asText(null);
            if (model != null) {
                index.putMetadata("model", model);
            }
            index.putMetadata("created_by", "latent (" + shards.size() + " shards of " + manifestFile.toAbsolutePath().getParent() + ")");
            return index;
        } catch (IOException | RuntimeException e) {
            index.close();
            throw e;
        }
    }

    /** A shard's records: keys from its ids file, texts and payloads from its records file. */
    private static List<dev.latent.space.Record> readRecords(Shard s) throws IOException {
        List<String> keys = Files.readAllLines(s.ids(), StandardCharsets.UTF_8);
        List<String> lines = Files.readAllLines(s.records(), StandardCharsets.UTF_8);
        if (keys.size() != s.rows() || lines.size() != s.rows()) {
            throw new IllegalArgumentException(s.records() + " holds " + lines.size() + " records for the " + s.rows()
                    + " rows the manifest lists");
        }
        List<dev.latent.space.Record> out = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++) {
            JsonNode o = JSON.readTree(lines.get(i));
            JsonNode text = o.path("text");
            java.util.Map<String, Object> payload = o.has("payload")
                    ? dev.latent.space.Record.fromJson(o.get("payload"), s.records() + ":" + (i + 1)) : java.util.Map.of();
            out.add(new dev.latent.space.Record(keys.get(i), text.isTextual() ? text.asText() : null, payload));
        }
        return out;
    }

    /** The index id of every row of the run, by the rule of {@link RowIds}, from the shards' ids files. */
    private static long[] indexIds(List<Shard> shards, Path manifestFile) throws IOException {
        RowIds rowIds = new RowIds();
        for (Shard s : shards) {
            long lines = 0;
            try (java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(
                    Files.newInputStream(s.ids()), StandardCharsets.UTF_8.newDecoder()))) {
                String id;
                while ((id = r.readLine()) != null) {
                    rowIds.add(s.integerIds(), id);
                    lines++;
                }
            }
            if (lines != s.rows()) {
                throw new IllegalArgumentException(s.ids() + " holds " + lines + " ids for the " + s.rows()
                        + " rows the manifest lists");
            }
        }
        return rowIds.indexIds(manifestFile.toString());
    }

    /**
     * An index file, or a finished run's shards in the metric asked (null: the run's own); see {@link #toIndex}.
     * The caller owns the index.
     */
    public static dev.latent.index.VectorIndex toIndexOrLoad(Path file, dev.latent.core.Metric metric) throws IOException {
        return isManifest(file) ? toIndex(file, metric) : dev.latent.index.VectorIndex.load(file);
    }

    /**
     * An index file, or the shards of a finished run given by their manifest.json (merged in memory, in the run's
     * metric). The caller owns the index.
     */
    public static dev.latent.index.VectorIndex openIndex(Path file) throws IOException {
        return isManifest(file) ? toIndex(file, null) : dev.latent.index.VectorIndex.load(file);
    }
}
