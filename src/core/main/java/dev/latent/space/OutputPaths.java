package dev.latent.space;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Where an output path leads, resolved once the way the operating system resolves it when the file is
 * opened: the folder through {@code realpath} (so {@code sub/../v.npy}, where {@code sub} is a link,
 * leads to the link target's parent, not to {@code ./v.npy} as a lexical normalisation would say), then
 * the file name through its links. The collision check and the write both use this one path.
 *
 * <p>Outputs are regular files replaced through a temporary file and a rename. A target that exists
 * and is not a regular file (a directory, a character or block device such as {@code /dev/null}, a FIFO,
 * a socket, or a link to one) is refused: renaming onto it would replace the device or pipe itself. So is
 * anything that leads into {@code /proc} ({@code /proc/self/fd/1}, {@code /dev/stdout}): a process's
 * descriptor, even one open on a regular file, is not a file to replace.
 *
 * <p>Stateless and thread-safe.
 */
public final class OutputPaths {
    /** Longest file name (bytes of UTF-8) most Linux file systems take. */
    static final int NAME_MAX = 255;
    private static final int MAX_LINKS = 40;
    private static final Path PROC = Path.of("/proc");

    private OutputPaths() {
    }

    /**
     * The file {@code target} names, with its folder's links, {@code ..} after links and the links of the file
     * name itself resolved; the result's folder exists and the result is a regular file or does not exist.
     *
     * @throws IOException naming the path: its folder does not exist, it names a folder or a file that is not
     *                     regular (device, FIFO, socket), its name is longer than the file system takes, or its
     *                     links loop
     */
    public static Path resolve(Path target) throws IOException {
        Path p = target.toAbsolutePath();
        refuseNonRegular(target, p);
        for (int hops = 0; hops <= MAX_LINKS; hops++) {
            Path name = p.getFileName();
            Path parent = p.getParent();
            if (name == null || parent == null || name.toString().equals(".") || name.toString().equals("..")) {
                throw new IOException(target + " names a directory; give a file name");
            }
            if (name.toString().getBytes(StandardCharsets.UTF_8).length > NAME_MAX) {
                throw new IOException("cannot write " + target + ": the file name is longer than " + NAME_MAX
                        + " bytes, the most a file system takes");
            }
            Path dir;
            try {
                dir = parent.toRealPath();
            } catch (NoSuchFileException e) {
                throw new IOException("cannot write " + target + ": directory " + parent + " does not exist");
            }
            if (!Files.isDirectory(dir)) {
                throw new IOException("cannot write " + target + ": " + parent + " is not a directory");
            }
            if (dir.startsWith(PROC)) {
                // /proc/self/fd/1, /dev/stdout and the like name a process's descriptor, not a file to replace.
                throw new IOException(target + " leads into " + PROC + " (a process's descriptor such as "
                        + "/proc/self/fd/1 or /dev/stdout), not to a regular file; outputs are written to a temporary "
                        + "file and renamed into place, so give a regular file");
            }
            Path candidate = dir.resolve(name.toString());
            if (!Files.isSymbolicLink(candidate)) {
                refuseNonRegular(target, candidate);
                return candidate;
            }
            // A link: the file the OS would open is the link's target, resolved against the link's folder.
            p = dir.resolve(Files.readSymbolicLink(candidate));
        }
        throw new IOException("cannot write " + target + ": too many levels of symbolic links");
    }

    /** Refuses a path that exists (its links followed) and is not a regular file. */
    private static void refuseNonRegular(Path shown, Path p) throws IOException {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(p, BasicFileAttributes.class);
        } catch (IOException absentOrDangling) {
            return;
        }
        if (a.isDirectory()) {
            throw new IOException(shown + " is a directory; give a file name");
        }
        if (!a.isRegularFile()) {
            throw new IOException(shown + " is " + kind(p)
                    + ", not a regular file; outputs are written to a temporary file and renamed into place, which "
                    + "would replace it, so give a regular file");
        }
    }

    /** What kind of non-regular file {@code p} is, in words. */
    static String kind(Path p) {
        try {
            Object mode = Files.getAttribute(p, "unix:mode");
            int type = ((Integer) mode) & 0170000;
            switch (type) {
                case 0020000: return "a character device";
                case 0060000: return "a block device";
                case 0010000: return "a FIFO (named pipe)";
                case 0140000: return "a socket";
                case 0040000: return "a directory";
                case 0120000: return "a symbolic link";
                default: return "a special file";
            }
        } catch (IOException | RuntimeException e) {
            return "a special file";
        }
    }

    /**
     * Refuses to replace {@code target} at commit time unless it is absent or a regular file (its own entry, links
     * not followed): a directory, link or device that appeared at an output path during a run is left alone.
     */
    static void checkReplaceable(Path target) throws IOException {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(target, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException absent) {
            return;
        }
        if (!a.isRegularFile()) {
            throw new IOException("cannot replace " + target + ": it became " + kind(target)
                    + " while the run wrote its output; nothing was changed");
        }
    }
}
