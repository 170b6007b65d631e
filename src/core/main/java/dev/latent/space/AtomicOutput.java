package dev.latent.space;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * A file written in place of {@code target} through a temporary file in the same directory:
 * {@link #commit()} forces the data to disk and renames the temporary file over the target in one
 * atomic step; {@link #close()} without a commit deletes the temporary file. A reader therefore sees
 * either the old file, or no file, or the complete new one, never a half-written file under the
 * target's name. Several outputs that must change together go through an {@link OutputSet} instead.
 *
 * <p>The temporary file is {@code .<target name>.<token>.part}, where the token names the writing
 * host and process (see {@link TempFiles}); it is created with the process's umask, like any new file (a
 * file it replaces passes on its mode, owner and group), and is deleted on SIGINT or SIGTERM. Write errors
 * (a full disk, say) name the target. Opening an output first removes the temporary files of earlier runs
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

    /**
     * Opens a temporary file beside {@code target} (which need not exist; its directory must). The target is
     * resolved once, as the OS resolves it ({@link OutputPaths#resolve}): links and {@code ..} after links lead
     * where the OS would write, and a target that is not a regular file is refused.
     */
    public static AtomicOutput open(Path target) throws IOException {
        Path abs = OutputPaths.resolve(target);
        Path dir = abs.getParent();
        TempFiles.cleanStale(dir, abs.getFileName().toString());
        // A replaced file's temporary copy is never readable by more users than the file itself.
        Set<PosixFilePermission> mode = null;
        if (Files.isRegularFile(abs, LinkOption.NOFOLLOW_LINKS)) {
            mode = Files.getPosixFilePermissions(abs, LinkOption.NOFOLLOW_LINKS);
        }
        // Registered and created under the creation lock, so the shutdown hook never runs between the two.
        TempFiles.CREATION.readLock().lock();
        try {
            Path temp = TempFiles.newTemp(dir, abs.getFileName().toString(), ".part");
            FileChannel ch;
            try {
                // CREATE_NEW: the permissions are those of the file replaced, else 0666, less the umask either way.
                Set<StandardOpenOption> options = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                        StandardOpenOption.READ);
                ch = mode == null ? FileChannel.open(temp, options)
                        : FileChannel.open(temp, options, PosixFilePermissions.asFileAttribute(mode));
            } catch (IOException | RuntimeException e) {
                TempFiles.forget(temp);
                throw e;
            }
            return new AtomicOutput(abs, temp, new NamedChannel(ch, abs));
        } finally {
            TempFiles.CREATION.readLock().unlock();
        }
    }

    /**
     * Gives the temporary file the mode of {@code previous} (the file it replaces; null: none), and its owner
     * and group where this user may set them (root, or a group this user belongs to).
     */
    void keepAttributesOf(Path previous) throws IOException {
        if (previous == null) {
            return;
        }
        PosixFileAttributes a;
        try {
            a = Files.readAttributes(previous, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException gone) {
            return;
        }
        PosixFileAttributeView view = Files.getFileAttributeView(temp, PosixFileAttributeView.class,
                LinkOption.NOFOLLOW_LINKS);
        try {
            view.setGroup(a.group());
        } catch (IOException | SecurityException notAllowed) {
            // Not a member of that group: the new file keeps this user's group, as any new file would.
        }
        try {
            view.setOwner(a.owner());
        } catch (IOException | SecurityException notAllowed) {
            // Only root gives files away: the new file is this user's, as any new file would be.
        }
        // After the owner: a change of owner may clear the set-id bits.
        view.setPermissions(a.permissions());
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

    /**
     * Checks that the disk holding the file has {@code bytes} free for it, before anything is written: a file that
     * cannot fit fails at once with a message giving both sizes, instead of after minutes of writing (the target is
     * untouched either way).
     *
     * @throws IOException naming the file, the bytes it needs and the bytes free
     */
    public void requireSpace(long bytes) throws IOException {
        long free = Files.getFileStore(temp).getUsableSpace();
        long have = free + channel.size();   // what this output holds already is rewritten in place
        if (bytes > have) {
            throw new IOException(target + ": needs " + bytes + " bytes, the disk holding it has " + free
                    + " free; nothing was written");
        }
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

    /**
     * Forces the data to disk and renames the temporary file onto the target, keeping the replaced file's mode.
     * A target that became a directory, link or device during the run is not replaced.
     */
    public void commit() throws IOException {
        finish();
        TempFiles.COMMIT_LOCK.lock();
        try {
            OutputPaths.checkReplaceable(target);
            keepAttributesOf(Files.exists(target, LinkOption.NOFOLLOW_LINKS) ? target : null);
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
