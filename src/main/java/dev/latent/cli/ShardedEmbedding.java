package dev.latent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.latent.core.FloatMatrix;
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
 * vectors are bit-identical. Not thread-safe.
 */
final class ShardedEmbedding {
    static final String MANIFEST = "manifest.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Rows, tokens, time and shards of one run (this run's part when resuming). */
    record Stats(long texts, long tokens, Duration elapsed, int shards, int resumedShards) {}

    private ShardedEmbedding() {}

    static String shardName(int index) {
        return String.format("shard-%05d", index);
    }

    /**
     * Runs the job.
     *
     * @param shardRows rows per shard, a multiple of {@code block}
     */
    static Stats run(Corpus corpus, TextEncoder enc, Path dir, int shardRows, int block, boolean resume,
            dev.latent.core.Metric metric, Progress progress) throws IOException {
        if (shardRows < 1 || block < 1 || shardRows % block != 0) {
            throw new IllegalArgumentException("--shard-size must be a positive multiple of --block (" + block + "), got "
                    + shardRows);
        }
        Files.createDirectories(dir);
        Path manifestFile = dir.resolve(MANIFEST);
        ObjectNode manifest;
        long offset = 0;
        long line = 0;
        long position = 0;
        int resumed = 0;
        if (Files.exists(manifestFile)) {
            if (!resume) {
                throw new IllegalArgumentException(dir + " already holds a sharded run (" + MANIFEST
                        + "): continue it with --resume, or write into another folder");
            }
            manifest = (ObjectNode) JSON.readTree(manifestFile.toFile());
            check(manifest, corpus, enc, shardRows, block, dir);
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
        } else {
            manifest = JSON.createObjectNode();
            manifest.put("format", "latent-shards");
            manifest.put("version", 1);
            manifest.put("model", enc.modelName());
            manifest.put("dimension", enc.dimension());
            manifest.put("metric", metric.name().toLowerCase(java.util.Locale.ROOT));
            ObjectNode c = manifest.putObject("corpus");
            c.put("path", corpus.path().toAbsolutePath().toString());
            c.put("bytes", Files.size(corpus.path()));
            c.put("format", corpus.format().name().toLowerCase(java.util.Locale.ROOT));
            c.put("textColumn", corpus.textField());
            c.put("idColumn", corpus.idField());
            manifest.put("shardRows", shardRows);
            manifest.put("block", block);
            manifest.putArray("shards");
            manifest.put("complete", false);
            writeManifest(manifestFile, manifest);
        }
        ArrayNode shards = (ArrayNode) manifest.get("shards");
        long start = System.nanoTime();
        long tokensBefore = enc.tokensProcessed();
        long done = 0;
        int written = 0;
        long firstRow = position;
        progress.done(position);
        try (Corpus.Reader r = corpus.openAt(offset, line, position)) {
            while (true) {
                int shard = shards.size();
                List<FloatMatrix> vectors = new ArrayList<>();
                StringBuilder ids = new StringBuilder();
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
                        }
                        long base = position + done + rows;
                        try {
                            vectors.add(enc.encode(texts, (t, k) -> progress.done(base + t)));
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
                    try (OutputSet out = new OutputSet()) {
                        Npy.Writer w = Npy.writer(out.open(npy), enc.dimension());
                        for (FloatMatrix v : vectors) {
                            w.append(v);
                        }
                        w.finish();
                        AtomicOutput o = out.open(idsFile);
                        o.channel().write(ByteBuffer.wrap(ids.toString().getBytes(StandardCharsets.UTF_8)));
                        out.commit();
                    }
                    ObjectNode s = shards.addObject();
                    s.put("name", name);
                    s.put("firstRow", firstRow);
                    s.put("rows", rows);
                    s.put("npySha256", sha256(npy));
                    s.put("idsSha256", sha256(idsFile));
                    s.put("endOffset", r.nextOffset());
                    s.put("endLine", r.line());
                    s.put("endPosition", r.position());
                    writeManifest(manifestFile, manifest);
                } finally {
                    for (FloatMatrix v : vectors) {
                        v.close();
                    }
                }
                firstRow += rows;
                done += rows;
                written++;
                progress.done(position + done);
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

    /** Refuses a resume whose model, corpus or shard layout differs from the manifest's, or a damaged shard. */
    private static void check(JsonNode m, Corpus corpus, TextEncoder enc, int shardRows, int block, Path dir)
            throws IOException {
        if (!"latent-shards".equals(m.path("format").asText())) {
            throw new IllegalArgumentException(dir.resolve(MANIFEST) + " is not a shard manifest");
        }
        if (!enc.modelName().equals(m.path("model").asText())) {
            throw new IllegalArgumentException("cannot resume: the shards were embedded with model "
                    + m.path("model").asText() + ", this run uses " + enc.modelName());
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
        if (shardRows != m.path("shardRows").asInt() || block != m.path("block").asInt()) {
            throw new IllegalArgumentException("cannot resume: the shards hold " + m.path("shardRows").asInt()
                    + " rows in blocks of " + m.path("block").asInt() + "; give the same --shard-size and --block");
        }
        for (JsonNode s : m.path("shards")) {
            String name = s.path("name").asText();
            for (String[] f : new String[][] {{".npy", "npySha256"}, {".ids", "idsSha256"}}) {
                Path file = dir.resolve(name + f[0]);
                if (!Files.isRegularFile(file) || !sha256(file).equals(s.path(f[1]).asText())) {
                    throw new IllegalArgumentException("cannot resume: shard " + name + " (" + file.getFileName()
                            + ") is missing or does not match its checksum in the manifest");
                }
            }
        }
    }

    private static void writeManifest(Path file, JsonNode manifest) throws IOException {
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

    /** One committed shard: its vectors file, first row and row count. */
    record Shard(Path npy, long firstRow, long rows) {}

    /** Whether {@code file} is a shard manifest (by name; its content is checked by {@link #shards}). */
    static boolean isManifest(Path file) {
        return file.getFileName().toString().equals(MANIFEST);
    }

    /**
     * The shards of a complete run, in order, each checked against its manifest checksums.
     *
     * @throws IllegalArgumentException naming the problem: not a manifest, an unfinished run, a damaged shard
     */
    static List<Shard> shards(Path manifestFile) throws IOException {
        JsonNode m = JSON.readTree(manifestFile.toFile());
        if (!"latent-shards".equals(m.path("format").asText())) {
            throw new IllegalArgumentException(manifestFile + " is not a shard manifest");
        }
        if (!m.path("complete").asBoolean(false)) {
            throw new IllegalArgumentException(manifestFile + ": the run is not complete; finish it with 'latent embed ... "
                    + "--shards " + manifestFile.getParent() + " --resume'");
        }
        Path dir = manifestFile.toAbsolutePath().getParent();
        List<Shard> out = new ArrayList<>();
        for (JsonNode s : m.path("shards")) {
            Path npy = dir.resolve(s.path("name").asText() + ".npy");
            if (!Files.isRegularFile(npy) || !sha256(npy).equals(s.path("npySha256").asText())) {
                throw new IllegalArgumentException("shard " + npy.getFileName() + " is missing or does not match its checksum in "
                        + manifestFile);
            }
            out.add(new Shard(npy, s.path("firstRow").asLong(), s.path("rows").asLong()));
        }
        return out;
    }


    /**
     * The vectors of a finished run as one in-memory index, rows numbered in run order, one shard read at a time
     * (each checked first); the metric is {@code metric} when given, else the one the run recorded (cosine for
     * runs that recorded none).
     */
    static dev.latent.index.FlatIndex toIndex(Path manifestFile, dev.latent.core.Metric metric) throws IOException {
        List<Shard> shards = shards(manifestFile);
        if (shards.isEmpty()) {
            throw new IllegalArgumentException(manifestFile + " lists no shards");
        }
        JsonNode m = JSON.readTree(manifestFile.toFile());
        dev.latent.core.Metric use = metric != null ? metric : dev.latent.core.Metric.parse(m.path("metric").asText("cosine"));
        int dim = Npy.readHeader(shards.get(0).npy()).cols();
        dev.latent.index.FlatIndex index = new dev.latent.index.FlatIndex(dim, use);
        try {
            long total = 0;
            for (Shard s : shards) {
                total += s.rows();
            }
            index.reserve(total);
            for (Shard s : shards) {
                try (FloatMatrix v = Npy.read(s.npy())) {
                    long[] rowIds = new long[Math.toIntExact(v.rows())];
                    for (int i = 0; i < rowIds.length; i++) {
                        rowIds[i] = s.firstRow() + i;
                    }
                    index.add(rowIds, v);
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

    /** An index file, or a finished run's shards in the metric asked (null: the run's own). */
    static dev.latent.index.FlatIndex toIndexOrLoad(Path file, dev.latent.core.Metric metric) throws IOException {
        return isManifest(file) ? toIndex(file, metric) : dev.latent.index.FlatIndex.load(file);
    }

    /** An index file, or the shards of a finished run given by their manifest.json (merged in memory). */
    static dev.latent.index.FlatIndex openIndex(Path file) throws IOException {
        return isManifest(file) ? toIndex(file, null) : dev.latent.index.FlatIndex.load(file);
    }
}
