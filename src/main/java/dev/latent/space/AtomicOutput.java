package dev.latent.space;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * A file written in place of {@code target} through a temporary file in the same directory:
 * {@link #commit()} forces the data to disk and renames the temporary file over the target in one
 * atomic step; {@link #close()} without a commit deletes the temporary file. A reader therefore sees
 * either the old file, or no file, or the complete new one, never a half-written file under the
 * target's name.
 *
 * <p>Not thread-safe: one writer at a time.
 */
public final class AtomicOutput implements AutoCloseable {
    private final Path target;
    private final Path temp;
    private final FileChannel channel;
    private boolean committed;
    private boolean closed;

    private AtomicOutput(Path target, Path temp, FileChannel channel) {
        this.target = target;
        this.temp = temp;
        this.channel = channel;
    }

    /** Opens a temporary file beside {@code target} (which need not exist; its directory must). */
    public static AtomicOutput open(Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new IOException("cannot write " + target + ": directory " + dir + " does not exist");
        }
        if (Files.isDirectory(abs)) {
            throw new IOException("cannot write " + target + ": it is a directory");
        }
        Path temp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".part");
        FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.READ);
        return new AtomicOutput(abs, temp, ch);
    }

    /** The channel to write through (positioned writes allowed). */
    public FileChannel channel() {
        return channel;
    }

    /** Writes the whole buffer at the channel's current position. */
    public void write(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    /** Writes the whole buffer at {@code position} (the channel's position is not changed). */
    public void write(ByteBuffer buffer, long position) throws IOException {
        long p = position;
        while (buffer.hasRemaining()) {
            p += channel.write(buffer, p);
        }
    }

    /** Forces the data to disk and renames the temporary file onto the target. */
    public void commit() throws IOException {
        if (closed) {
            throw new IllegalStateException("AtomicOutput for " + target + " is closed");
        }
        channel.force(true);
        channel.close();
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
        }
        committed = true;
        closed = true;
        syncDirectory(target.getParent());
    }

    /** Best effort: makes the rename itself durable (not every file system allows opening a directory). */
    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // The data file itself is already forced; only the directory entry's durability is unknown.
        }
    }

    /** Deletes the temporary file unless {@link #commit()} succeeded. Idempotent. */
    @Override
    public void close() throws IOException {
        if (committed) {
            return;
        }
        closed = true;
        try {
            channel.close();
        } finally {
            Files.deleteIfExists(temp);
        }
    }
}
