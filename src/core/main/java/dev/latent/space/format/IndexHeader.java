package dev.latent.space.format;

import dev.latent.core.Metric;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The fixed 40-byte header of an index file ({@code .lidx}), little-endian (see docs/file-format.md):
 * magic {@code LATENTIX}, format version, flags, dimension, metric, row count, metadata length, and in
 * version 2 the index kind and the vector encoding (version 1 kept a reserved zero there, which reads as
 * a flat index of float32 vectors). An inverted-file (IVF) index adds a section after the ids whose length
 * depends on its list count, which that section holds, so the length a file must have is known once the
 * list count is read.
 *
 * <p>The metric codes here are the file format's own, decoupled from the kernels' codes
 * ({@link Metric#code()}): a future kernel renumbering cannot change what old files mean.
 *
 * <p>Immutable and thread-safe.
 */
public record IndexHeader(int version, int flags, int dimension, int metricCode, long count, long metadataBytes,
                          int kind, int encoding) {
    /** First eight bytes of an index file. */
    public static final byte[] MAGIC = "LATENTIX".getBytes(StandardCharsets.US_ASCII);
    public static final int BYTES = 40;
    /** The version this build writes for an index without records; it reads versions 1 to 3. */
    public static final int VERSION = 2;
    /** The version of an index file with a records section ({@link #FLAG_RECORDS}). */
    public static final int VERSION_RECORDS = 3;
    /** Flag (version 3): a records section follows the kind's sections (keys, texts, payloads). */
    public static final int FLAG_RECORDS = 1;
    /** Index kind: every vector stored as is, searched exhaustively. */
    public static final int KIND_FLAT = 0;
    /** Index kind: the flat rows plus coarse centroids and a list per row (an inverted-file index). */
    public static final int KIND_IVF = 1;
    /** The kinds this build reads, in words for its errors. */
    public static final String KINDS = "flat (0) and ivf (1)";
    /** Vector encoding: little-endian float32, row-major. */
    public static final int ENCODING_FLOAT32 = 0;
    /** Largest metadata block written or read (a larger header field means a corrupt file). */
    public static final int MAX_METADATA_BYTES = 16 << 20;

    /** The file's code for a metric. */
    public static int fileCode(Metric m) {
        switch (m) {
            case INNER_PRODUCT: return 0;
            case COSINE: return 1;
            case L2: return 2;
            default: throw new IllegalArgumentException("no file code for " + m);
        }
    }

    /** The metric of a file code, or null when unknown. */
    public static Metric metricOf(int fileCode) {
        switch (fileCode) {
            case 0: return Metric.INNER_PRODUCT;
            case 1: return Metric.COSINE;
            case 2: return Metric.L2;
            default: return null;
        }
    }

    /** This header as a version-3 header with a records section. */
    public IndexHeader withRecords() {
        return new IndexHeader(VERSION_RECORDS, flags | FLAG_RECORDS, dimension, metricCode, count, metadataBytes, kind, encoding);
    }

    /** Whether the file has a records section (version 3 with {@link #FLAG_RECORDS}). */
    public boolean hasRecords() {
        return version == VERSION_RECORDS && (flags & FLAG_RECORDS) != 0;
    }

    /** A version-2 header of a flat float32 index. */
    public static IndexHeader flat(int dimension, Metric metric, long count, long metadataBytes) {
        return new IndexHeader(VERSION, 0, dimension, fileCode(metric), count, metadataBytes, KIND_FLAT, ENCODING_FLOAT32);
    }

    /** A version-2 header of an inverted-file (IVF) index of float32 vectors. */
    public static IndexHeader ivf(int dimension, Metric metric, long count, long metadataBytes) {
        return new IndexHeader(VERSION, 0, dimension, fileCode(metric), count, metadataBytes, KIND_IVF, ENCODING_FLOAT32);
    }

    /** The name of an index kind in messages: {@code flat (0)}, {@code ivf (1)}, or {@code kind N}. */
    public static String kindName(int kind) {
        switch (kind) {
            case KIND_FLAT: return "flat (kind 0)";
            case KIND_IVF: return "ivf (kind 1)";
            default: return "kind " + kind;
        }
    }

    /**
     * The header of {@code file}, its magic and version checked, for choosing how to read the rest; the whole
     * file is checked by the reader of its kind.
     *
     * @throws IOException naming the file: missing, shorter than a header, not an index file, another version
     */
    public static IndexHeader peek(Path file) throws IOException {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.READ)) {
            if (ch.size() < BYTES + 4) {
                throw new IOException(file + ": not a Latent index file (only " + ch.size() + " bytes)");
            }
            ByteBuffer head = ByteBuffer.allocate(BYTES).order(ByteOrder.LITTLE_ENDIAN);
            OffHeap.readFully(ch, head, 0);
            return decode(head, file);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new java.nio.file.NoSuchFileException(file.toString(), null, "no such file");
        }
    }

    /** The metric, or null for a code this build does not know. */
    public Metric metric() {
        return metricOf(metricCode);
    }

    /** Metadata starts at byte 40; vectors start at the next multiple of 64 after it. */
    public long vectorsOffset() {
        return vectorsOffset(metadataBytes);
    }

    static long vectorsOffset(long metadataBytes) {
        return (BYTES + metadataBytes + 63) / 64 * 64;
    }

    /** The 40 bytes of this header. */
    ByteBuffer encode() {
        ByteBuffer b = ByteBuffer.allocate(BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putInt(version).putInt(flags).putInt(dimension).putInt(metricCode).putLong(count)
                .putInt((int) metadataBytes).putShort((short) kind).putShort((short) encoding);
        return b.flip();
    }

    /**
     * Reads and checks the header fields that do not need the rest of the file: magic, version, sizes.
     * The flags, kind, encoding and metric are checked by {@link #checkContents} after the checksum (a
     * corrupt byte is reported as corruption, not as an unknown feature).
     */
    static IndexHeader decode(ByteBuffer head, Path file) throws IOException {
        head.order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[8];
        head.get(0, magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new IOException(file + ": not a Latent index file (bad magic)");
        }
        int version = head.getInt(8);
        if (version < 1 || version > VERSION_RECORDS) {
            throw new IOException(file + ": index file version " + version + ", this build reads 1 to 3");
        }
        int flags = head.getInt(12);
        int dimension = head.getInt(16);
        int metricCode = head.getInt(20);
        long count = head.getLong(24);
        long metaLen = head.getInt(32) & 0xffffffffL;
        int kind = head.getShort(36) & 0xffff;
        int encoding = head.getShort(38) & 0xffff;
        if (dimension <= 0 || count < 0) {
            throw new IOException(file + ": corrupt index header (dimension " + dimension + ", count " + count + ")");
        }
        return new IndexHeader(version, flags, dimension, metricCode, count, metaLen, kind, encoding);
    }

    /**
     * Where the section after the ids starts (an IVF index's list count; the checksum of a flat one): header,
     * metadata, padding, vectors and ids; or -1 when it passes 2^63 bytes.
     */
    long idsEnd() {
        try {
            long vectors = Math.multiplyExact(Math.multiplyExact(count, (long) dimension), 4L);
            long ids = Math.multiplyExact(count, 8L);
            return Math.addExact(Math.addExact(vectorsOffset(), vectors), ids);
        } catch (ArithmeticException overflow) {
            return -1;
        }
    }

    /**
     * The file length this header implies: header, metadata, padding, vectors, ids, for an IVF index its
     * section (list count, {@code lists × d} float32 centroids, a 4-byte list per row), and the checksum; or -1
     * when it passes 2^63 bytes (a header that no file can match).
     *
     * @param lists an IVF index's list count (ignored for other kinds)
     */
    long impliedLength(long lists) {
        return impliedLength(lists, 0);
    }

    /**
     * Where the kind's sections end (the records section, or the checksum), given an IVF index's list count; -1
     * past 2^63.
     */
    long kindEnd(long lists) {
        long end = idsEnd();
        if (end < 0) {
            return -1;
        }
        try {
            if (kind == KIND_IVF) {
                long centroids = Math.multiplyExact(Math.multiplyExact(lists, (long) dimension), 4L);
                end = Math.addExact(Math.addExact(Math.addExact(end, 4L), centroids), Math.multiplyExact(count, 4L));
            }
            return end;
        } catch (ArithmeticException overflow) {
            return -1;
        }
    }

    /**
     * As {@link #impliedLength(long)}, with a records section of {@code recordBytes} bytes of records when the file
     * has one: its u64 length, {@code count + 1} u64 offsets, then the records.
     */
    long impliedLength(long lists, long recordBytes) {
        long end = kindEnd(lists);
        if (end < 0 || recordBytes < 0) {
            return -1;
        }
        try {
            if (hasRecords()) {
                end = Math.addExact(Math.addExact(Math.addExact(end, 8L), Math.multiplyExact(count + 1, 8L)), recordBytes);
            }
            return Math.addExact(end, 4L);
        } catch (ArithmeticException overflow) {
            return -1;
        }
    }

    /**
     * Checks the header against the file's length, lengths before contents: a file shorter than its metadata or
     * than the data the header describes is "truncated", one longer is "corrupt"; only then are the sizes this
     * build can load checked.
     *
     * @param lists an IVF index's list count as its file holds it (0 when the file ends before it; ignored for
     *     other kinds)
     */
    void checkLength(long fileLength, Path file, long lists) throws IOException {
        checkLength(fileLength, file, lists, 0);
    }

    /** As {@link #checkLength(long, Path, long)}, with the records section's length as the file holds it. */
    void checkLength(long fileLength, Path file, long lists, long recordBytes) throws IOException {
        if (BYTES + metadataBytes > fileLength) {
            throw new IOException(file + ": truncated index file: it ends inside its " + metadataBytes
                    + "-byte metadata (the file has " + fileLength + " bytes)");
        }
        long expected = impliedLength(lists, recordBytes);
        if (expected < 0 || fileLength < expected) {
            throw new IOException(file + ": truncated index file: the header describes " + count + " vectors of dimension "
                    + dimension + (kind == KIND_IVF ? " in " + lists + " lists" : "")
                    + (hasRecords() ? " with " + recordBytes + " bytes of records" : "") + " ("
                    + (expected < 0 ? "more than 2^63" : Long.toString(expected)) + " bytes), the file has "
                    + fileLength + " bytes");
        }
        if (fileLength > expected) {
            throw new IOException(file + ": corrupt index file: " + fileLength + " bytes, the header implies " + expected);
        }
        if (count > (1L << 29)) {
            throw new IOException(file + ": the index holds " + count + " vectors, more than this build loads (2^29)");
        }
        if (metadataBytes > MAX_METADATA_BYTES) {
            throw new IOException(file + ": corrupt index header: " + metadataBytes + " bytes of metadata, more than the "
                    + MAX_METADATA_BYTES + " any writer makes");
        }
    }

    /** Checks what a reader must understand: flags, kind and encoding of its version, and the metric. */
    void checkContents(Path file, int rawReserved) throws IOException {
        if ((version == VERSION_RECORDS ? flags & ~FLAG_RECORDS : flags) != 0) {
            throw new IOException(file + ": index file uses flags 0x" + Integer.toHexString(flags)
                    + " that this build does not know");
        }
        if (version == 1 && rawReserved != 0) {
            throw new IOException(file + ": corrupt index header: the reserved field at byte 36 is " + rawReserved
                    + ", it must be 0");
        }
        if (kind != KIND_FLAT && kind != KIND_IVF) {
            throw new IOException(file + ": index kind " + kind + " is not supported by this build (it reads " + KINDS + ")");
        }
        if (encoding != ENCODING_FLOAT32) {
            throw new IOException(file + ": vector encoding " + encoding
                    + " is not supported by this build (it reads float32)");
        }
        if (metric() == null) {
            throw new IOException(file + ": index file has unknown metric code " + metricCode);
        }
    }
}
