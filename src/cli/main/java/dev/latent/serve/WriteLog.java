package dev.latent.serve;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.zip.CRC32C;

/**
 * The write-ahead log of a served index ({@code INDEX.lidx.wal}): every write is appended and forced to disk before
 * it is applied and acknowledged, so a {@code kill -9} after an acknowledged write loses nothing; the next
 * {@code serve} replays what the index file does not hold yet.
 *
 * <p><b>Format</b> (little-endian): magic {@code LATENTWL}, u32 version 1, the log's id (16 bytes), the length (u64)
 * and stored CRC32C (u32) of the index file the log starts from; then entries: u64 sequence number, u32 length,
 * u32 CRC32C of the sequence number and the payload, the payload (UTF-8 JSON). A save records the log's id and the
 * last sequence number it holds in the index's metadata ({@code wal.log}, {@code wal.sequence}) and then starts the
 * log again from the saved file.
 *
 * <p><b>Whose log.</b> A log is replayed only when it proves to belong to the index: a regular file (not a link)
 * whose magic is right and whose id is the one the index's metadata names, or whose recorded length and CRC are the
 * index file's own. Anything else is refused with a message and left as it is, never deleted or overwritten. A
 * last entry cut short (a write interrupted by a crash, never acknowledged) is cut off; a complete entry whose
 * checksum fails is corruption, and the log is refused.
 *
 * <p>Not thread-safe: the caller serialises appends (one writer).
 */
final class WriteLog implements AutoCloseable {
    static final String SUFFIX = ".wal";
    private static final byte[] MAGIC = "LATENTWL".getBytes(StandardCharsets.US_ASCII);
    private static final int HEADER = 8 + 4 + 16 + 8 + 4;

    /** One logged write. */
    record Entry(long sequence, String json) {
    }

    private final Path file;
    private final UUID id;
    private FileChannel channel;
    private long sequence;

    private WriteLog(Path file, UUID id, FileChannel channel, long sequence) {
        this.file = file;
        this.id = id;
        this.channel = channel;
        this.sequence = sequence;
    }

    /** The log beside {@code index}. */
    static Path beside(Path index) {
        return index.resolveSibling(index.getFileName() + SUFFIX);
    }

    /**
     * What a log holds for an index: its id and the entries after {@code savedSequence}, read and checked; null when
     * there is no log.
     *
     * @param logId the id the index's metadata names (null: none)
     * @throws IOException naming the log and why it is not the index's, or corrupt
     */
    static Recovered read(Path index, String logId, long savedSequence) throws IOException {
        Path file = beside(index);
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            return null;
        }
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(file + " is not a regular file; a write log is one (move it away to serve)");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            long size = ch.size();
            ByteBuffer h = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
            if (size < HEADER || readFully(ch, h, 0) < HEADER || !startsWithMagic(h)) {
                throw new IOException(file + " is not a Latent write log (bad header); it is left as it is");
            }
            if (h.getInt(8) != 1) {
                throw new IOException(file + ": write log version " + h.getInt(8) + ", this build reads 1");
            }
            UUID id = new UUID(h.getLong(12), h.getLong(20));
            long baseLength = h.getLong(28);
            int baseCrc = h.getInt(36);
            boolean named = id.toString().equals(logId);
            boolean fromThisFile = Files.size(index) == baseLength && storedCrc(index) == baseCrc;
            if (!named && !fromThisFile) {
                throw new IOException(file + " belongs to another index (its id and base do not match " + index
                        + "); it is left as it is: move it away to serve, or restore the index it belongs to");
            }
            List<Entry> entries = new ArrayList<>();
            long pos = HEADER;
            long last = 0;
            while (pos < size) {
                ByteBuffer eh = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
                if (size - pos < 16) {
                    break;   // a header cut short: the last write never completed
                }
                readFully(ch, eh, pos);
                long seq = eh.getLong(0);
                long len = eh.getInt(8) & 0xffffffffL;
                int crc = eh.getInt(12);
                if (size - pos - 16 < len) {
                    break;   // a payload cut short: the last write never completed
                }
                ByteBuffer payload = ByteBuffer.allocate((int) len);
                readFully(ch, payload, pos + 16);
                CRC32C c = new CRC32C();
                c.update(eh.array(), 0, 8);
                c.update(payload.array());
                if ((int) c.getValue() != crc || seq <= last) {
                    throw new IOException(file + ": corrupt write log entry at byte " + pos + " (sequence " + seq
                            + "); it is left as it is");
                }
                last = seq;
                if (seq > savedSequence) {
                    entries.add(new Entry(seq, new String(payload.array(), StandardCharsets.UTF_8)));
                }
                pos += 16 + len;
            }
            return new Recovered(id, entries, Math.max(last, savedSequence), pos);
        }
    }

    /** A log's id, the entries to replay, the last sequence number, and where its good entries end. */
    record Recovered(UUID id, List<Entry> entries, long lastSequence, long end) {
    }

    /**
     * Opens the log of {@code index} for appending: the recovered one (cut after its last good entry), or a new one
     * from the index file as it is (created only where no file is).
     */
    static WriteLog open(Path index, Recovered recovered) throws IOException {
        Path file = beside(index);
        if (recovered != null) {
            FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
            if (ch.size() > recovered.end()) {
                ch.truncate(recovered.end());   // only the tail of an interrupted write, in a log proven ours
                ch.force(true);
            }
            ch.position(recovered.end());
            return new WriteLog(file, recovered.id(), ch, recovered.lastSequence());
        }
        UUID id = UUID.randomUUID();
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS);
        ch.write(header(id, index));
        ch.force(true);
        return new WriteLog(file, id, ch, 0);
    }

    /** The log's id, which a save records in the index's metadata. */
    UUID id() {
        return id;
    }

    /** The sequence number of the last entry appended. */
    long sequence() {
        return sequence;
    }

    /** Appends one entry and forces it to disk; returns its sequence number. */
    long append(String json) throws IOException {
        byte[] payload = json.getBytes(StandardCharsets.UTF_8);
        long seq = sequence + 1;
        ByteBuffer b = ByteBuffer.allocate(16 + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(seq).putInt(payload.length);
        CRC32C c = new CRC32C();
        c.update(b.duplicate().flip().limit(8));
        c.update(payload);
        b.putInt((int) c.getValue()).put(payload).flip();
        long at = channel.position();
        try {
            while (b.hasRemaining()) {
                channel.write(b);
            }
            channel.force(false);
        } catch (IOException e) {
            channel.truncate(at);   // not acknowledged: leave no part of it
            channel.position(at);
            throw e;
        }
        sequence = seq;
        return seq;
    }

    /**
     * Starts the log again after a save of {@code index} that holds every entry so far: a new log (same id, the
     * sequence numbers going on) replaces this one by rename, so a crash leaves the old log or the new one.
     */
    void restartFrom(Path index) throws IOException {
        try (dev.latent.space.AtomicOutput out = dev.latent.space.AtomicOutput.open(file)) {
            out.write(header(id, index));
            out.commit();
        }
        channel.close();
        channel = FileChannel.open(file, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        channel.position(channel.size());
    }

    private static ByteBuffer header(UUID id, Path index) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
        h.put(MAGIC).putInt(1).putLong(id.getMostSignificantBits()).putLong(id.getLeastSignificantBits())
                .putLong(Files.size(index)).putInt(storedCrc(index));
        return h.flip();
    }

    /** The CRC32C an index file stores in its last four bytes. */
    private static int storedCrc(Path index) throws IOException {
        try (FileChannel ch = FileChannel.open(index, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, b, ch.size() - 4);
            return b.getInt(0);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(index.toString(), null, "no such file");
        }
    }

    private static boolean startsWithMagic(ByteBuffer h) {
        for (int i = 0; i < MAGIC.length; i++) {
            if (h.get(i) != MAGIC[i]) {
                return false;
            }
        }
        return true;
    }

    private static int readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        int n = 0;
        while (b.hasRemaining()) {
            int r = ch.read(b, pos + n);
            if (r < 0) {
                break;
            }
            n += r;
        }
        return n;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
