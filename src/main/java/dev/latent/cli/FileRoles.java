package dev.latent.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import picocli.CommandLine;

/**
 * Every file a command reads or writes, by role ("input corpus", "--ids output", ...), checked before
 * anything is read or written: an output must not be an input, nor another output of the same
 * command. Files are compared by identity: the same file after resolving links (same device and
 * inode) when it exists, else the same absolute path after resolving the links of its directory.
 * Replacing a previous output of the same command stays allowed. Inputs must be files: a directory is
 * named as such.
 *
 * <p>Not thread-safe; one per command run.
 */
final class FileRoles {
    private record Role(String name, Path path, boolean output, boolean folder) {
    }

    private final List<Role> roles = new ArrayList<>();

    /** Registers a file the command reads ({@code path} may be null: not given). */
    FileRoles input(String role, Path path) {
        if (path != null) {
            roles.add(new Role(role, path, false, false));
        }
        return this;
    }

    /** Registers an input that may be a folder (of images) as well as a file. */
    FileRoles inputOrFolder(String role, Path path) {
        if (path != null) {
            roles.add(new Role(role, path, false, true));
        }
        return this;
    }

    /** Registers a file the command writes ({@code path} may be null: not given). */
    FileRoles output(String role, Path path) {
        if (path != null) {
            roles.add(new Role(role, path, true, false));
        }
        return this;
    }

    /**
     * Throws a usage error (exit code 2) naming both roles when an output is an input or another output,
     * or when an input is a directory.
     */
    void check(CommandLine cl) {
        for (Role r : roles) {
            if (!r.output && !r.folder && Files.isDirectory(r.path)) {
                throw new CommandLine.ParameterException(cl, r.name + " " + r.path + " is a directory, not a file");
            }
            if (r.output && Files.isDirectory(r.path)) {
                throw new CommandLine.ParameterException(cl, r.name + " " + r.path + " is a directory; give a file name");
            }
        }
        for (int i = 0; i < roles.size(); i++) {
            Role a = roles.get(i);
            if (!a.output) {
                continue;
            }
            for (int j = 0; j < roles.size(); j++) {
                Role b = roles.get(j);
                if (i == j || (b.output && j > i)) {
                    continue;   // each pair of outputs once
                }
                if (sameFile(a.path, b.path)) {
                    String what = b.output ? "is also the " + b.name : "is the " + b.name;
                    String how = b.output ? "; give each output its own file" : "; an output never replaces an input";
                    throw new CommandLine.ParameterException(cl, "the " + a.name + " " + a.path + " " + what
                            + (a.path.equals(b.path) ? "" : " (" + b.path + ")") + how);
                }
            }
        }
    }

    /** Same file: same device and inode when both exist, else the same resolved path. */
    static boolean sameFile(Path a, Path b) {
        boolean ea = Files.exists(a);
        boolean eb = Files.exists(b);
        if (ea && eb) {
            try {
                Object ka = Files.readAttributes(a, BasicFileAttributes.class).fileKey();
                Object kb = Files.readAttributes(b, BasicFileAttributes.class).fileKey();
                if (ka != null && kb != null) {
                    return ka.equals(kb);
                }
                return Files.isSameFile(a, b);
            } catch (IOException e) {
                return resolved(a, 0).equals(resolved(b, 0));
            }
        }
        // At most one exists (or a dangling link): compare where the paths lead.
        return resolved(a, 0).equals(resolved(b, 0));
    }

    /** The absolute path with the links of the file (if it is one) and of its directory resolved. */
    private static Path resolved(Path p, int depth) {
        Path abs = p.toAbsolutePath().normalize();
        try {
            if (Files.exists(abs, LinkOption.NOFOLLOW_LINKS)) {
                if (Files.isSymbolicLink(abs) && depth < 40) {
                    Path link = Files.readSymbolicLink(abs);
                    return resolved(abs.resolveSibling(link), depth + 1);
                }
                return Files.exists(abs) ? abs.toRealPath() : abs;
            }
            Path dir = abs.getParent();
            if (dir != null && Files.exists(dir)) {
                return dir.toRealPath().resolve(Objects.requireNonNull(abs.getFileName()));
            }
        } catch (IOException | RuntimeException ignored) {
            // fall back to the plain absolute path
        }
        return abs;
    }
}
