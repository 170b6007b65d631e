package dev.latent.cli;

import dev.latent.job.ShardedEmbedding;
import dev.latent.space.OutputPaths;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import picocli.CommandLine;

/**
 * Every file a command reads or writes, by role ("input corpus", "--ids output", ...), checked before
 * anything is read or written: an output must not be an input, nor another output of the same
 * command, nor lie inside an output folder. That holds however an input was reached: named on the command
 * line, found in an input folder, named by a list file or an ids file, or listed by a shard manifest (its
 * shards are registered with it). Commands that find inputs only after reading a listing register them and
 * check again before any output is opened.
 *
 * <p>Files are compared by identity: the same file (same device and inode, links followed) when it exists,
 * else the same path as the OS resolves it. An output's path is resolved once, by
 * {@link OutputPaths#resolve}, exactly as the write will resolve it ({@code ..} after a linked folder
 * included), and an output that is not a regular file (a device, a FIFO, a descriptor link) is refused.
 * Replacing a previous output of the same command stays allowed. Inputs must be files: a directory is
 * named as such.
 *
 * <p>Not thread-safe; one per command run.
 */
final class FileRoles {
    private record Role(String name, Path path, boolean output, boolean folder) {
    }

    private final List<Role> roles = new ArrayList<>();
    private final List<Role> outputFolders = new ArrayList<>();
    /** Identities of the inputs already registered, and those of outputs, with their roles. */
    private final Map<Object, Role> inputIds = new HashMap<>();
    private int checkedInputs;

    /** Registers a file the command reads ({@code path} may be null: not given). */
    FileRoles input(String role, Path path) {
        if (path != null) {
            roles.add(new Role(role, path, false, false));
            if (ShardedEmbedding.isManifest(path) && Files.isRegularFile(path)) {
                for (Path shard : ShardedEmbedding.listedFiles(path)) {
                    roles.add(new Role("shard " + shard.getFileName() + " of " + path, shard, false, false));
                }
            }
        }
        return this;
    }

    /** Registers files the command reads, found through a listing (a folder, a list file, an ids file). */
    FileRoles inputs(String role, Collection<Path> paths) {
        for (Path p : paths) {
            roles.add(new Role(role + " " + p, p, false, false));
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

    /** Registers a folder the command writes files into: no input may lie inside it. */
    FileRoles outputFolder(String role, Path folder) {
        if (folder != null) {
            outputFolders.add(new Role(role, folder, true, true));
        }
        return this;
    }

    /**
     * Throws a usage error (exit code 2) naming both roles when an output is an input or another output, when
     * an input lies in an output folder, when an input is a directory, or when an output cannot be a file
     * (a directory, a device or pipe, a folder that does not exist). May be called again after more inputs
     * were registered.
     */
    void check(CommandLine cl) {
        Map<Object, Role> outputs = new HashMap<>();
        for (Role r : roles) {
            if (!r.output) {
                continue;
            }
            Object id;
            try {
                id = identity(OutputPaths.resolve(r.path));
            } catch (IOException e) {
                throw new CommandLine.ParameterException(cl, "the " + r.name + ": " + e.getMessage());
            }
            Role other = outputs.putIfAbsent(id, r);
            if (other != null) {
                throw collision(cl, r, other, true);
            }
        }
        for (int i = checkedInputs; i < roles.size(); i++) {
            Role r = roles.get(i);
            if (r.output) {
                continue;
            }
            if (!r.folder && Files.isDirectory(r.path)) {
                throw new CommandLine.ParameterException(cl, r.name + " " + r.path + " is a directory, not a file");
            }
            inputIds.putIfAbsent(identity(r.path), r);
            Path real = realOrNull(r.path);
            for (Role f : outputFolders) {
                Path folder = folderPath(f.path);
                if (real != null && folder != null && real.startsWith(folder)) {
                    throw new CommandLine.ParameterException(cl, "the " + r.name + " " + r.path + " lies inside the "
                            + f.name + " " + f.path + "; an output never replaces an input");
                }
            }
        }
        checkedInputs = roles.size();
        for (Map.Entry<Object, Role> e : outputs.entrySet()) {
            Role in = inputIds.get(e.getKey());
            if (in != null) {
                throw collision(cl, e.getValue(), in, false);
            }
        }
    }

    private static CommandLine.ParameterException collision(CommandLine cl, Role a, Role b, boolean bothOutputs) {
        String what = bothOutputs ? "is also the " + b.name : "is the " + b.name;
        String how = bothOutputs ? "; give each output its own file" : "; an output never replaces an input";
        return new CommandLine.ParameterException(cl, "the " + a.name + " " + a.path + " " + what
                + (a.path.equals(b.path) ? "" : " (" + b.path + ")") + how);
    }

    /**
     * What a path is: the file key (device and inode, links followed) of an existing file, else the path the
     * OS would create (its folder's links resolved, then the links of the name, as far as they lead).
     */
    private static Object identity(Path p) {
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            if (a.fileKey() != null) {
                return a.fileKey();
            }
            return p.toRealPath();
        } catch (IOException | RuntimeException absent) {
            try {
                return OutputPaths.resolve(p).toString();
            } catch (IOException | RuntimeException unresolvable) {
                return p.toAbsolutePath().normalize().toString();
            }
        }
    }

    /** The real path of an existing file, else null. */
    private static Path realOrNull(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            return null;
        }
    }

    /** An output folder as the OS will reach it: its real path, or its parent's real path and its name. */
    private static Path folderPath(Path folder) {
        Path real = realOrNull(folder);
        if (real != null) {
            return real;
        }
        Path abs = folder.toAbsolutePath();
        Path parent = abs.getParent() == null ? null : realOrNull(abs.getParent());
        return parent == null ? abs.normalize() : parent.resolve(Objects.requireNonNull(abs.getFileName()));
    }
}
