package dev.latent.space;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A file written in place of {@code target} through a temporary file in the same directory:
 * {@link #commit()} forces the data to disk and renames the temporary file over the target in one
 * atomic step; {@link #close()} without a commit deletes the temporary file. A reader therefore sees
 * either the old file, or no file, or the complete new one, never a half-written file under the
 * target's name. Several outputs that must change together go through an {@link OutputSet} instead.
 *
 * <p>The temporary file is {@code .<target name>.<token>.part}, where the token names the writing
 * process (see {@link TempFiles}); it is created with the process's umask, like any new file, and is
 * deleted on SIGINT or SIGTERM. Opening an output first removes the temporary files of earlier runs
 * for the same target that it can prove are stale (their process is gone), and rolls back any
 * interrupted multi-file commit in the directory.
 *
 * <p>Not thread-safe: one writer at a time.
 */
public final class AtomicOutput implements AutoCloseable {
    private final Path target;
    private final Path temp;
    private final FileChannel channel;
    private boolean finished;
    private boolean committed;
    private boolean closed;

    private AtomicOutput(Path target, Path temp, FileChannel channel) {
        this.target = target;
        this.temp = temp;
        this.channel = channel;
    }

    /** Opens a temporary file beside {@code target} (which need not exist; its directory must). */
    public static AtomicOutput open(Path target) throws IOException {
        Path abs = target.toAbsolutePath().normalize();
        Path dir = abs.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new IOException("cannot write " + target + ": directory " + dir + " does not exist");
        }
        if (Files.isDirectory(abs)) {
            throw new IOException("cannot write " + target + ": it is a directory");
        }
        TempFiles.cleanStale(dir, abs.getFileName().toString());
        // Registered and created under the creation lock, so the shutdown hook never runs between the two.
        TempFiles.CREATION.readLock().lock();
        try {
            Path temp = TempFiles.newTemp(dir, abs.getFileName().toString(), ".part");
            FileChannel ch;
            try {
                // CREATE_NEW without attributes: the permissions are 0666 less the umask, as for any new file.
                ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                        StandardOpenOption.READ);
            } catch (IOException | RuntimeException e) {
                TempFiles.forget(temp);
                throw e;
            }
            return new AtomicOutput(abs, temp, ch);
        } finally {
            TempFiles.CREATION.readLock().unlock();
        }
    }

    /** The file this output replaces when committed (absolute). */
    public Path target() {
        return target;
    }

    Path temp() {
        return temp;
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

    /** Forces the data to disk and closes the channel: the temporary file is complete. Idempotent. */
    void finish() throws IOException {
        if (closed) {
            throw new IllegalStateException("AtomicOutput for " + target + " is closed");
        }
        if (!finished) {
            channel.force(true);
            channel.close();
            finished = true;
        }
    }

    /** Marks the temporary file as renamed onto the target by an {@link OutputSet}. */
    void markCommitted() {
        committed = true;
        closed = true;
        TempFiles.forget(temp);
    }

    /** Forces the data to disk and renames the temporary file onto the target. */
    public void commit() throws IOException {
        finish();
        TempFiles.COMMIT_LOCK.lock();
        try {
            OutputSet.move(temp, target);
            markCommitted();
        } finally {
            TempFiles.COMMIT_LOCK.unlock();
        }
        TempFiles.syncDirectory(target.getParent());
    }

    /** Deletes the temporary file unless the output was committed. Idempotent. */
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
            TempFiles.forget(temp);
        }
    }
}
