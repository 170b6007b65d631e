package dev.latent.space;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;

/**
 * A file channel of an output whose I/O errors name the output: the operating system's "No space left on
 * device" becomes "cannot write out.npy: No space left on device". Everything else is the wrapped channel's.
 * Thread-safety as {@link FileChannel}.
 */
final class NamedChannel extends FileChannel {
    private final FileChannel ch;
    private final Path target;

    NamedChannel(FileChannel ch, Path target) {
        this.ch = ch;
        this.target = target;
    }

    private IOException named(IOException e) {
        if (e instanceof ClosedChannelException) {
            return e;   // interrupts and closes keep their type: callers tell them apart
        }
        return new IOException("cannot write " + target + ": " + e.getMessage(), e);
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        try {
            return ch.read(dst);
        } catch (IOException e) {
            throw named(e);
        }
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        try {
            return ch.read(dsts, offset, length);
        } catch (IOException e) {
            throw named(e);
        }
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        try {
            return ch.write(src);
        } catch (IOException e) {
            throw named(e);
        }
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        try {
            return ch.write(srcs, offset, length);
        } catch (IOException e) {
            throw named(e);
        }
    }

    @Override
    public long position() throws IOException {
        return ch.position();
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
        ch.position(newPosition);
        return this;
    }

    @Override
    public long size() throws IOException {
        return ch.size();
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
        try {
            ch.truncate(size);
        } catch (IOException e) {
            throw named(e);
        }
        return this;
    }

    @Override
    public void force(boolean metaData) throws IOException {
        try {
            ch.force(metaData);
        } catch (IOException e) {
            throw named(e);
        }
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
        try {
            return ch.transferTo(position, count, target);
        } catch (IOException e) {
            throw named(e);
        }
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
        try {
            return ch.transferFrom(src, position, count);
        } catch (IOException e) {
            throw named(e);
        }
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
        try {
            return ch.read(dst, position);
        } catch (IOException e) {
            throw named(e);
        }
    }

    @Override
    public int write(ByteBuffer src, long position) throws IOException {
        try {
            return ch.write(src, position);
        } catch (IOException e) {
            throw named(e);
        }
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
        try {
            return ch.map(mode, position, size);
        } catch (IOException e) {
            throw named(e);
        }
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) throws IOException {
        return ch.lock(position, size, shared);
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
        return ch.tryLock(position, size, shared);
    }

    @Override
    protected void implCloseChannel() throws IOException {
        try {
            ch.close();
        } catch (IOException e) {
            throw named(e);
        }
    }
}
