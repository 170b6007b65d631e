package dev.latent.space.format;

import dev.latent.core.FloatMatrix;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.util.zip.Checksum;

/** Chunked transfers between files and off-heap matrices, so that no single buffer exceeds 2 GiB. */
final class OffHeap {
    /** Bytes moved per read or write call. */
    static final int CHUNK_BYTES = 8 << 20;

    static {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            // Files are little-endian and copied to and from native memory byte for byte.
            throw new ExceptionInInitializerError("Latent's file formats need a little-endian host");
        }
    }

    private OffHeap() {
    }

    /** Rows per chunk for a matrix with {@code cols} columns (at least one). */
    static long rowsPerChunk(int cols) {
        return Math.max(1, CHUNK_BYTES / (4L * cols));
    }

    /** A little-endian byte buffer over rows {@code [from, to)} of {@code m} (at most 2 GiB). */
    static ByteBuffer bytes(FloatMatrix m, long from, long to) {
        return m.bytes(from, to);
    }

    /**
     * Fills rows {@code [0, m.rows())} of {@code m} with raw little-endian float32 data read from
     * {@code ch} starting at {@code position}; updates {@code checksum} when not null.
     * Returns the position after the data.
     */
    static long readInto(FileChannel ch, long position, FloatMatrix m, Checksum checksum) throws IOException {
        long step = rowsPerChunk(m.cols());
        long pos = position;
        for (long r = 0; r < m.rows(); r += step) {
            long end = Math.min(m.rows(), r + step);
            ByteBuffer bb = bytes(m, r, end);
            pos = readFully(ch, bb, pos);
            if (checksum != null) {
                bb.flip();
                checksum.update(bb);
            }
        }
        return pos;
    }

    /**
     * Updates {@code checksum} with every row of {@code m} (already in memory, a mapped file for example) as
     * the file holds them from {@code position}; returns the position after them.
     */
    static long checksum(FloatMatrix m, long position, Checksum checksum) {
        long step = rowsPerChunk(m.cols());
        for (long r = 0; r < m.rows(); r += step) {
            checksum.update(bytes(m, r, Math.min(m.rows(), r + step)));
        }
        return position + m.rows() * m.cols() * 4L;
    }

    /** Writes rows {@code [from, to)} of {@code m} to {@code ch} at its position; updates {@code checksum}. */
    static void writeFrom(FileChannel ch, FloatMatrix m, long from, long to, Checksum checksum) throws IOException {
        long step = rowsPerChunk(m.cols());
        for (long r = from; r < to; r += step) {
            long end = Math.min(to, r + step);
            ByteBuffer bb = bytes(m, r, end);
            if (checksum != null) {
                checksum.update(bb.duplicate());
            }
            while (bb.hasRemaining()) {
                ch.write(bb);
            }
        }
    }

    /** Reads until {@code bb} is full; a short file is an {@link EOFException}. */
    static long readFully(FileChannel ch, ByteBuffer bb, long position) throws IOException {
        long pos = position;
        while (bb.hasRemaining()) {
            int n = ch.read(bb, pos);
            if (n < 0) {
                throw new EOFException("unexpected end of file at byte " + pos);
            }
            pos += n;
        }
        return pos;
    }
}
