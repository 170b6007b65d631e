package dev.latent.space.format;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.latent.core.FloatMatrix;
import dev.latent.space.AtomicOutput;
import dev.latent.space.Record;
import dev.latent.space.RecordStore;
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
import java.util.function.Predicate;
import dev.latent.compute.cpu.MappedRows;
import java.util.zip.CRC32C;

/**
 * Reads and writes index files ({@code .lidx}, see docs/file-format.md): an {@link IndexHeader}, UTF-8
 * JSON metadata, the vectors of a {@link VectorSet} (64-byte aligned), its ids, for an inverted-file (IVF)
 * index an {@link IvfSection} (list count, centroids, each row's list), for an index with {@link Record}s a
 * records section (version 3), and a CRC32C of everything before it. Writes version 2 without records and 3 with
 * them; reads versions 1 to 3. The records are mapped from the file, not read into the heap ({@link RecordStore}). Files over 2 GiB are read and written in chunks.
 *
 * <p>Stateless and thread-safe.
 */
public final class IndexFile {
    private static final ObjectMapper JSON = new ObjectMapper();

    private IndexFile() {
    }

    /** Elements of an id, centroid or label array moved per read or write call. */
    private static final int ARRAY_CHUNK = 1 << 20;

    /**
     * What a file holds. The caller owns (closes) the vectors.
     *
     * @param ivf the inverted-file section of an IVF index, null for a flat one
     */
    public record Contents(IndexHeader header, VectorSet vectors, Map<String, String> metadata, IvfSection ivf) {
    }

    /**
     * The section an inverted-file (IVF) index adds after the ids: {@code lists} centroids of the index's
     * dimension, row-major, and the list of each row in row order. When written, the first {@code count} labels
     * are used (the array may be longer); when read, it holds exactly one per row, each in {@code [0, lists)}.
     * The arrays are shared, not copied.
     */
    public record IvfSection(int lists, float[] centroids, int[] labels) {
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
        write(vectors, metadata, null, out);
    }

    /**
     * Writes the snapshot's rows and ids with {@code metadata} as a version-2 index: a flat index when
     * {@code ivf} is null, else an IVF index with that section (its centroids of the snapshot's dimension, a
     * label for each of the snapshot's rows).
     */
    public static void write(VectorSet.Snapshot vectors, Map<String, String> metadata, IvfSection ivf, AtomicOutput out)
            throws IOException {
        ObjectNode node = JSON.createObjectNode();
        metadata.forEach(node::put);
        byte[] meta = JSON.writeValueAsBytes(node);
        if (meta.length > IndexHeader.MAX_METADATA_BYTES) {
            throw new IllegalStateException("index metadata is " + meta.length + " bytes; at most "
                    + IndexHeader.MAX_METADATA_BYTES + " can be saved");
        }
        int size = vectors.size();
        if (ivf != null && (ivf.lists() < 1 || ivf.centroids().length != (long) ivf.lists() * vectors.dimension()
                || ivf.labels().length < size)) {
            throw new IllegalArgumentException("IVF section of " + ivf.lists() + " lists with " + ivf.centroids().length
                    + " centroid values and " + ivf.labels().length + " labels does not fit " + size
                    + " rows of dimension " + vectors.dimension());
        }
        IndexHeader header = ivf == null
                ? IndexHeader.flat(vectors.dimension(), vectors.metric(), size, meta.length)
                : IndexHeader.ivf(vectors.dimension(), vectors.metric(), size, meta.length);
        RecordStore records = vectors.records();
        long[] ids = vectors.idsShared();
        long[] recordOffsets = null;
        if (records.hasRecords()) {
            header = header.withRecords();
            recordOffsets = recordOffsets(records, ids, size);
        }
        out.requireSpace(header.impliedLength(ivf == null ? 0 : ivf.lists(), recordOffsets == null ? 0 : recordOffsets[size]));
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
        writeArray(out, crc, size, 8, (b, from, to) -> b.asLongBuffer().put(ids, from, to - from));
        if (ivf != null) {
            ByteBuffer count = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(ivf.lists()).flip();
            crc.update(count.duplicate());
            out.write(count);
            float[] centroids = ivf.centroids();
            writeArray(out, crc, centroids.length, 4, (b, from, to) -> b.asFloatBuffer().put(centroids, from, to - from));
            int[] labels = ivf.labels();
            writeArray(out, crc, size, 4, (b, from, to) -> b.asIntBuffer().put(labels, from, to - from));
        }
        if (header.hasRecords()) {
            writeRecords(out, crc, records, ids, recordOffsets, size);
        }
        ByteBuffer foot = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        foot.putInt((int) crc.getValue()).flip();
        out.write(foot);
    }

    /**
     * The records section: u64 length of the records, {@code size + 1} u64 offsets into them (a row without a record
     * has an empty range), then each row's encoded record ({@link Record#encode()}) in row order.
     */
    private static long[] recordOffsets(RecordStore records, long[] ids, int size) {
        long[] offsets = new long[size + 1];
        for (int i = 0; i < size; i++) {
            byte[] r = records.encoded(ids[i]);
            offsets[i + 1] = offsets[i] + (r == null ? 0 : r.length);
        }
        return offsets;
    }

    private static void writeRecords(AtomicOutput out, CRC32C crc, RecordStore records, long[] ids, long[] offsets,
                                     int size) throws IOException {
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(offsets[size]).flip();
        crc.update(len.duplicate());
        out.write(len);
        writeArray(out, crc, size + 1, 8, (b, from, to) -> b.asLongBuffer().put(offsets, from, to - from));
        ByteBuffer b = ByteBuffer.allocate(1 << 20);
        for (int i = 0; i < size; i++) {
            byte[] r = records.encoded(ids[i]);
            if (r == null) {
                continue;
            }
            if (r.length > b.remaining()) {
                flush(out, crc, b);
            }
            if (r.length > b.capacity()) {
                ByteBuffer big = ByteBuffer.wrap(r);
                crc.update(big.duplicate());
                out.write(big);
            } else {
                b.put(r);
            }
        }
        flush(out, crc, b);
    }

    private static void flush(AtomicOutput out, CRC32C crc, ByteBuffer b) throws IOException {
        b.flip();
        crc.update(b.duplicate());
        out.write(b);
        b.clear();
    }

    /** Adds {@code bytes} bytes of the file from {@code pos} to the checksum; the end. */
    private static long checksumRange(FileChannel ch, long pos, long bytes, CRC32C crc) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) Math.min(1 << 20, Math.max(1, bytes)));
        long end = pos + bytes;
        while (pos < end) {
            b.clear().limit((int) Math.min(b.capacity(), end - pos));
            pos = OffHeap.readFully(ch, b, pos);
            b.flip();
            crc.update(b);
        }
        return pos;
    }

    /** Moves one chunk of an array between a buffer and elements {@code [from, to)}. */
    private interface Chunk {
        void move(ByteBuffer b, int from, int to);
    }

    /** Writes {@code count} elements of {@code width} bytes in chunks, filled by {@code fill}, into the checksum. */
    private static void writeArray(AtomicOutput out, CRC32C crc, int count, int width, Chunk fill) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(width * Math.min(ARRAY_CHUNK, Math.max(1, count))).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count; i += ARRAY_CHUNK) {
            int end = Math.min(count, i + ARRAY_CHUNK);
            b.clear();
            fill.move(b, i, end);
            b.limit(width * (end - i));
            crc.update(b.duplicate());
            out.write(b);
        }
    }

    /** Reads {@code count} elements of {@code width} bytes at {@code pos} in chunks into the checksum; the end. */
    private static long readArray(FileChannel ch, long pos, CRC32C crc, int count, int width, Chunk drain)
            throws IOException {
        ByteBuffer b = ByteBuffer.allocate(width * Math.min(ARRAY_CHUNK, Math.max(1, count))).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count; i += ARRAY_CHUNK) {
            int end = Math.min(count, i + ARRAY_CHUNK);
            b.clear().limit(width * (end - i));
            pos = OffHeap.readFully(ch, b, pos);
            b.flip();
            crc.update(b.duplicate());
            drain.move(b, i, end);
        }
        return pos;
    }

    /**
     * Reads an index file of any kind this build knows; see {@link #read(Path, int)}.
     *
     * @throws IOException naming the file and the problem
     */
    public static Contents read(Path file) throws IOException {
        return read(file, -1);
    }

    /**
     * Reads an index file, checking in order: the magic, the version, the length the header implies with the
     * list count of an IVF file (shorter: "truncated"), the kind against {@code kind} (another kind this build
     * knows: an error naming both), the checksum ("corrupt ... checksum"), then the flags, the reserved field
     * (version 1) or the kind and encoding (version 2), the metric, every stored vector and centroid against
     * the vector rule (naming the file and the row), that every row's list is one of the file's lists, and
     * that ids are unique.
     *
     * @param kind the kind the caller reads ({@link IndexHeader#KIND_FLAT}, {@link IndexHeader#KIND_IVF}), or
     *     -1 for any
     * @throws IOException naming the file and the problem
     */
    public static Contents read(Path file, int kind) throws IOException {
        return read(file, kind, meta -> false);
    }

    /**
     * As {@link #read(Path, int)}; when {@code mapRows} holds for the file's metadata, the float32 rows are
     * mapped from the file ({@link MappedRows}: read through the page cache, not copied into memory) where this
     * platform can, and still checked in full (checksum and vector rule) before the index is used.
     */
    public static Contents read(Path file, int kind, Predicate<Map<String, String>> mapRows) throws IOException {
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
            long lists = 0;
            long listsAt = h.kind() == IndexHeader.KIND_IVF ? h.idsEnd() : -1;
            if (listsAt >= 0 && listsAt + 4 <= length) {
                ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
                OffHeap.readFully(ch, b, listsAt);
                lists = b.getInt(0) & 0xffffffffL;
            }
            long recordBytes = 0;
            long recordsAt = h.hasRecords() ? h.kindEnd(lists) : -1;
            if (recordsAt >= 0 && recordsAt + 8 <= length) {
                ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
                OffHeap.readFully(ch, b, recordsAt);
                recordBytes = b.getLong(0);
                if (recordBytes < 0 || recordBytes > length) {
                    throw new IOException(file + ": corrupt index file: a records section of " + recordBytes
                            + " bytes in a file of " + length);
                }
            }
            h.checkLength(length, file, lists, recordBytes);
            if (kind >= 0 && h.kind() != kind && (h.kind() == IndexHeader.KIND_FLAT || h.kind() == IndexHeader.KIND_IVF)) {
                throw new IOException(file + ": an index file of " + IndexHeader.kindName(h.kind()) + ", not "
                        + IndexHeader.kindName(kind) + "; open it as its kind (VectorIndex.load opens any kind)");
            }
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

            FloatMatrix mapped = wantsMapping(meta, mapRows) ? MappedRows.map(file, vectorsOffset, count, dimension) : null;
            FloatMatrix vectors = mapped != null ? mapped : FloatMatrix.allocate(count, dimension);
            try {
                long pos = mapped != null ? OffHeap.checksum(mapped, vectorsOffset, crc)
                        : OffHeap.readInto(ch, vectorsOffset, vectors, crc);
                long[] ids = new long[(int) count];
                pos = readArray(ch, pos, crc, (int) count, 8, (b, from, to) -> b.asLongBuffer().get(ids, from, to - from));
                IvfSection ivf = null;
                if (h.kind() == IndexHeader.KIND_IVF) {
                    if (lists < 1 || lists * dimension > Integer.MAX_VALUE - 8) {
                        throw new IOException(file + ": corrupt index file: " + lists + " inverted lists of dimension "
                                + dimension);
                    }
                    ByteBuffer listCount = ByteBuffer.allocate(4);
                    pos = OffHeap.readFully(ch, listCount, pos);
                    crc.update(listCount.flip());
                    float[] centroids = new float[(int) (lists * dimension)];
                    pos = readArray(ch, pos, crc, centroids.length, 4,
                            (b, from, to) -> b.asFloatBuffer().get(centroids, from, to - from));
                    int[] labels = new int[(int) count];
                    pos = readArray(ch, pos, crc, labels.length, 4, (b, from, to) -> b.asIntBuffer().get(labels, from, to - from));
                    ivf = new IvfSection((int) lists, centroids, labels);
                }
                if (h.hasRecords()) {
                    pos = checksumRange(ch, pos, 8 + 8 * (count + 1) + recordBytes, crc);
                }
                ByteBuffer foot = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
                OffHeap.readFully(ch, foot, pos);
                int stored = foot.getInt(0);
                if (stored != (int) crc.getValue()) {
                    throw new IOException(file + ": corrupt index file: checksum mismatch (stored CRC32C "
                            + Integer.toHexString(stored) + ", computed " + Long.toHexString(crc.getValue()) + ")");
                }
                h.checkContents(file, head.getInt(36));
                if (ivf != null) {
                    checkIvf(ivf, h, file);
                }
                Map<String, String> metadata = readMetadata(meta, file);
                VectorSet set;
                try {
                    // Checked here, not at the first search: a file that cannot be searched is not loaded.
                    RecordStore records = h.hasRecords()
                            ? RecordStore.mapped(file, recordsAt + 8, recordsAt + 8 + 8 * (count + 1), recordBytes, ids,
                                    file.toString())
                            : RecordStore.empty();
                    set = VectorSet.adopt(ids, vectors, h.metric(), records, file.toString());
                } catch (IllegalArgumentException e) {
                    throw new IOException(e.getMessage(), e);
                }
                return new Contents(h, set, metadata, ivf);
            } catch (IOException | RuntimeException e) {
                vectors.close();
                throw e;
            }
        }
    }

    /** Every centroid meets the vector rule of the metric, and every row's list is one of the lists. */
    private static void checkIvf(IvfSection ivf, IndexHeader h, Path file) throws IOException {
        try (FloatMatrix c = FloatMatrix.of(ivf.centroids(), h.dimension())) {
            dev.latent.core.Vectors.check(c, h.metric(), null, 0);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": centroid " + e.getMessage(), e);
        }
        int[] labels = ivf.labels();
        for (int row = 0; row < labels.length; row++) {
            if (labels[row] < 0 || labels[row] >= ivf.lists()) {
                throw new IOException(file + ": row " + row + " is in list " + labels[row] + ", the file has "
                        + ivf.lists() + " lists");
            }
        }
    }

    /** Whether {@code mapRows} holds for the metadata; metadata that does not parse is reported later, in order. */
    private static boolean wantsMapping(byte[] meta, Predicate<Map<String, String>> mapRows) {
        try {
            return mapRows.test(readMetadata(meta, null));
        } catch (IOException | RuntimeException e) {
            return false;
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
