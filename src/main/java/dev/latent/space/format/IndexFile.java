package dev.latent.space.format;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.latent.core.FloatMatrix;
import dev.latent.space.AtomicOutput;
import dev.latent.space.VectorSet;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Reads and writes index files ({@code .lidx}, see docs/file-format.md): an {@link IndexHeader}, UTF-8
 * JSON metadata, the vectors of a {@link VectorSet} (64-byte aligned), its ids, and a CRC32C of
 * everything before it. Writes version 2; reads versions 1 and 2. Files over 2 GiB are read and written
 * in chunks.
 *
 * <p>Stateless and thread-safe.
 */
public final class IndexFile {
    private static final ObjectMapper JSON = new ObjectMapper();

    private IndexFile() {
    }

    /** What a file holds. The caller owns (closes) the vectors. */
    public record Contents(IndexHeader header, VectorSet vectors, Map<String, String> metadata) {
    }

    /**
     * Writes {@code vectors} with {@code metadata} as a flat float32 index of version 2 into {@code out}
     * (the caller commits it; {@link AtomicOutput#commit()} or an {@link dev.latent.space.OutputSet}).
     */
    public static void write(VectorSet vectors, Map<String, String> metadata, AtomicOutput out) throws IOException {
        try (VectorSet.Snapshot s = vectors.snapshot()) {
            write(s, metadata, out);
        }
    }

    /** As {@link #write(VectorSet, Map, AtomicOutput)}, from a snapshot (which stays open). */
    public static void write(VectorSet.Snapshot vectors, Map<String, String> metadata, AtomicOutput out) throws IOException {
        ObjectNode node = JSON.createObjectNode();
        metadata.forEach(node::put);
        byte[] meta = JSON.writeValueAsBytes(node);
        if (meta.length > IndexHeader.MAX_METADATA_BYTES) {
            throw new IllegalStateException("index metadata is " + meta.length + " bytes; at most "
                    + IndexHeader.MAX_METADATA_BYTES + " can be saved");
        }
        int size = vectors.size();
        IndexHeader header = IndexHeader.flat(vectors.dimension(), vectors.metric(), size, meta.length);
        long vectorsOffset = header.vectorsOffset();
        CRC32C crc = new CRC32C();
        FileChannel ch = out.channel();
        ch.position(0);
        ch.truncate(0);
        ByteBuffer head = ByteBuffer.allocate((int) vectorsOffset).order(ByteOrder.LITTLE_ENDIAN);
        head.put(header.encode()).put(meta);
        head.position(0);
        crc.update(head.duplicate());
        out.write(head);
        try (FloatMatrix rows = vectors.rows()) {
            OffHeap.writeFrom(ch, rows, 0, size, crc);
        }
        long[] ids = vectors.idsShared();
        int idChunk = 1 << 20;
        ByteBuffer idb = ByteBuffer.allocate(8 * Math.min(idChunk, Math.max(1, size))).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < size; i += idChunk) {
            int end = Math.min(size, i + idChunk);
            idb.clear();
            idb.asLongBuffer().put(ids, i, end - i);
            idb.limit(8 * (end - i));
            crc.update(idb.duplicate());
            out.write(idb);
        }
        ByteBuffer foot = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        foot.putInt((int) crc.getValue()).flip();
        out.write(foot);
    }

    /**
     * Reads an index file, checking in order: the magic, the version, the length the header implies
     * (shorter: "truncated"), the checksum ("corrupt ... checksum"), then the flags, the reserved field
     * (version 1) or the kind and encoding (version 2), the metric, every stored vector against the
     * vector rule (naming the file and the row), and that ids are unique.
     *
     * @throws IOException naming the file and the problem
     */
    public static Contents read(Path file) throws IOException {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file.toString(), null, "no such file");
        }
        try (ch) {
            long length = ch.size();
            if (length < IndexHeader.BYTES + 4) {
                throw new IOException(file + ": not a Latent index file (only " + length + " bytes)");
            }
            ByteBuffer head = ByteBuffer.allocate(IndexHeader.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            OffHeap.readFully(ch, head, 0);
            IndexHeader h = IndexHeader.decode(head, file);
            h.checkLength(length, file);
            long count = h.count();
            int dimension = h.dimension();
            long vectorsOffset = h.vectorsOffset();
            CRC32C crc = new CRC32C();
            ByteBuffer pre = ByteBuffer.allocate((int) vectorsOffset);
            OffHeap.readFully(ch, pre, 0);
            pre.flip();
            crc.update(pre.duplicate());
            byte[] meta = new byte[(int) h.metadataBytes()];
            pre.get(IndexHeader.BYTES, meta);

            FloatMatrix vectors = FloatMatrix.allocate(count, dimension);
            try {
                long pos = OffHeap.readInto(ch, vectorsOffset, vectors, crc);
                long[] ids = new long[(int) count];
                int idChunk = 1 << 20;
                ByteBuffer idb = ByteBuffer.allocate(8 * (int) Math.min(idChunk, Math.max(1, count)))
                        .order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < count; i += idChunk) {
                    int end = (int) Math.min(count, i + (long) idChunk);
                    idb.clear().limit(8 * (end - i));
                    pos = OffHeap.readFully(ch, idb, pos);
                    idb.flip();
                    crc.update(idb.duplicate());
                    idb.asLongBuffer().get(ids, i, end - i);
                }
                ByteBuffer foot = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
                OffHeap.readFully(ch, foot, pos);
                int stored = foot.getInt(0);
                if (stored != (int) crc.getValue()) {
                    throw new IOException(file + ": corrupt index file: checksum mismatch (stored CRC32C "
                            + Integer.toHexString(stored) + ", computed " + Long.toHexString(crc.getValue()) + ")");
                }
                h.checkContents(file, head.getInt(36));
                Map<String, String> metadata = readMetadata(meta, file);
                VectorSet set;
                try {
                    // Checked here, not at the first search: a file that cannot be searched is not loaded.
                    set = VectorSet.adopt(ids, vectors, h.metric(), file.toString());
                } catch (IllegalArgumentException e) {
                    throw new IOException(e.getMessage(), e);
                }
                return new Contents(h, set, metadata);
            } catch (IOException | RuntimeException e) {
                vectors.close();
                throw e;
            }
        }
    }

    private static Map<String, String> readMetadata(byte[] meta, Path file) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        if (meta.length == 0) {
            return out;
        }
        JsonNode node;
        try {
            node = JSON.readTree(meta);
        } catch (IOException e) {
            throw new IOException(file + ": index metadata is not valid JSON: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            throw new IOException(file + ": index metadata is not a JSON object");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            out.put(e.getKey(), e.getValue().isTextual() ? e.getValue().asText() : e.getValue().toString());
        }
        return Collections.unmodifiableMap(out);
    }
}
