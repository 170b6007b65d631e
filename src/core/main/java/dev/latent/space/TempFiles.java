package dev.latent.space;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The temporary files of this process's outputs: their names, their cleanup on SIGINT and SIGTERM,
 * and the removal of stale ones left by a process that died (kill -9, power loss).
 *
 * <p><b>Names.</b> A temporary file for target {@code name} is {@code .<stem>.<token><suffix>}
 * ({@code .part} for data, {@code .bak} for the previous file kept during a multi-file commit) and a
 * commit journal is {@code .latent-commit.<token>.journal}, all in the target's directory. The stem is
 * the target's name, or for a name too long to take the token, its first bytes, {@code ~} and a hash of
 * the whole name. The token is {@code <host>-<pid>-<process start, ms since the epoch>-<random>}, where
 * {@code host} is a hash of the host name and the process-id namespace: a later run on the same host can
 * prove a file stale (no process with that pid exists, or the process with that pid started at another
 * time), and a run on another host sharing the directory (NFS, a container's bind mount) never judges it.
 *
 * <p><b>What is removed.</b> Only regular files owned by this user, whose names parse as this host's tokens
 * of dead processes. Files of live processes, of other hosts or users, and names that do not parse are
 * never touched. Journals of dead processes are handed to {@link CommitJournal#recover}, which checks
 * them before acting.
 *
 * <p><b>Signals.</b> A shutdown hook (which the JVM runs on SIGINT, SIGTERM and normal exit) deletes
 * every temporary file still registered. It first waits for a commit in progress ({@link #COMMIT_LOCK}),
 * so a commit is never cut in half by the cleanup.
 *
 * <p>Thread-safe.
 */
final class TempFiles {
    private static final Logger LOG = LoggerFactory.getLogger(TempFiles.class.getName());

    /** Held while outputs are renamed into place; the shutdown hook takes it before cleaning up. */
    static final ReentrantLock COMMIT_LOCK = new ReentrantLock();

    /**
     * Held (shared) from registering a temporary file until it exists; the shutdown hook takes it
     * exclusively, so it never deletes a registered name whose file is created just after.
     */
    static final java.util.concurrent.locks.ReentrantReadWriteLock CREATION = new java.util.concurrent.locks.ReentrantReadWriteLock();

    /** Set by the shutdown hook: from then on no temporary file is registered (it could not be cleaned). */
    private static volatile boolean shuttingDown;

    /** This host (host name and pid namespace), as eight hex digits. */
    static final String HOST = hostId();
    /** {@code <host>-<pid>-<start ms>} of this process: the part every token of this process starts with. */
    static final String PROCESS = HOST + "-" + ProcessHandle.current().pid() + "-" + startMillis(ProcessHandle.current());
    /** Longest token: host (8), pid (19), start (19), random (16) and three dashes. */
    private static final int TOKEN_MAX = 8 + 19 + 19 + 16 + 3;
    private static final int SUFFIX_MAX = ".journal".length();
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Set<Path> LIVE = ConcurrentHashMap.newKeySet();
    static final String JOURNAL_NAME = "latent-commit";

    static {
        Thread hook = new Thread(TempFiles::deleteAll, "latent-temp-cleanup");
        try {
            Runtime.getRuntime().addShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // The JVM is already exiting: nothing of ours can be left to clean.
        }
    }

    private TempFiles() {
    }

    private static long startMillis(ProcessHandle p) {
        Optional<Instant> start = p.info().startInstant();
        return start.map(Instant::toEpochMilli).orElse(0L);
    }

    /**
     * Eight hex digits of SHA-256 over the host name and the pid namespace: two machines, or two containers
     * with their own process ids, sharing a directory get different ids.
     */
    private static String hostId() {
        String host = read(Path.of("/proc/sys/kernel/hostname"));
        if (host.isEmpty()) {
            host = System.getenv().getOrDefault("HOSTNAME", "");
        }
        if (host.isEmpty()) {
            try {
                host = java.net.InetAddress.getLocalHost().getHostName();
            } catch (IOException e) {
                host = "unknown";
            }
        }
        String pidNamespace = "";
        try {
            pidNamespace = Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString();
        } catch (IOException | RuntimeException e) {
            // Not Linux, or /proc is hidden: the host name alone.
        }
        return hash(host + "\n" + pidNamespace).substring(0, 8);
    }

    private static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8).strip();
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    /** Hex SHA-256 of the UTF-8 bytes of {@code s}. */
    static String hash(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A fresh token of this process. */
    static String newToken() {
        return PROCESS + "-" + Long.toHexString(RANDOM.nextLong() & Long.MAX_VALUE);
    }

    /**
     * The part of a temporary name that stands for target {@code name}: the name itself, or when
     * {@code .<name>.<token>.journal} would pass the file system's 255 bytes, the name's first bytes (whole
     * characters), {@code ~} and eight hex digits of its hash.
     */
    static String stem(String name) {
        int budget = OutputPaths.NAME_MAX - 2 - TOKEN_MAX - SUFFIX_MAX;
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        if (bytes.length <= budget) {
            return name;
        }
        int keep = budget - 9;
        StringBuilder b = new StringBuilder();
        int used = 0;
        for (int i = 0; i < name.length(); ) {
            int cp = name.codePointAt(i);
            int n = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8).length;
            if (used + n > keep) {
                break;
            }
            b.appendCodePoint(cp);
            used += n;
            i += Character.charCount(cp);
        }
        return b.append('~').append(hash(name), 0, 8).toString();
    }

    /** The temporary name {@code .<stem>.<token><suffix>} for target {@code name} in {@code dir}. */
    static Path tempName(Path dir, String name, String token, String suffix) {
        return dir.resolve("." + stem(name) + "." + token + suffix);
    }

    /** A fresh, registered name {@code .<stem>.<token><suffix>} in {@code dir} (the file is not created). */
    static Path newTemp(Path dir, String name, String suffix) {
        return register(tempName(dir, name, newToken(), suffix));
    }

    /** Registers {@code p} for deletion by the shutdown hook. */
    static Path register(Path p) {
        if (shuttingDown) {
            throw new IllegalStateException("the process is shutting down: " + p.getParent() + " is not written");
        }
        LIVE.add(p);
        return p;
    }

    /** Stops tracking {@code p} (it was renamed into place or deleted). */
    static void forget(Path p) {
        LIVE.remove(p);
    }

    /** Deletes every registered temporary file (the shutdown hook). */
    static void deleteAll() {
        boolean locked = false;
        try {
            locked = COMMIT_LOCK.tryLock(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        boolean creation = false;
        try {
            creation = CREATION.writeLock().tryLock(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        shuttingDown = true;
        if (creation) {
            CREATION.writeLock().unlock();
        }
        try {
            for (Path p : LIVE) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException | RuntimeException ignored) {
                    // Best effort while the JVM exits; a later run removes what is provably stale.
                }
            }
            LIVE.clear();
        } finally {
            if (locked) {
                COMMIT_LOCK.unlock();
            }
        }
    }

    /**
     * Rolls back the interrupted commits of dead processes in {@code dir} (each journal checked first, see
     * {@link CommitJournal}), then deletes the stale {@code .part} and {@code .bak} files of target {@code name}.
     */
    static void cleanStale(Path dir, String name) {
        CommitJournal.recoverIn(dir);
        String prefix = "." + stem(name) + ".";
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, ".*")) {
            for (Path p : entries) {
                String file = p.getFileName().toString();
                if (!file.startsWith(prefix)) {
                    continue;
                }
                String rest = file.substring(prefix.length());
                String suffix = rest.endsWith(".part") ? ".part" : rest.endsWith(".bak") ? ".bak" : null;
                if (suffix != null && isStale(rest.substring(0, rest.length() - suffix.length())) && ownedRegularFile(p)) {
                    try {
                        Files.deleteIfExists(p);
                        LOG.atInfo().log(() -> "removed " + p + ", left by a process that no longer runs");
                    } catch (IOException e) {
                        LOG.atWarn().log(() -> "cannot remove stale " + p + ": " + e.getMessage());
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.atDebug().log(() -> "cannot scan " + dir + " for stale files: " + e);
        }
    }

    /**
     * Whether a token {@code <host>-<pid>-<start ms>-<random>} names a process of this host that no longer
     * runs. Tokens of other hosts, and names that do not parse as tokens, are never stale.
     */
    static boolean isStale(String token) {
        String[] parts = token.split("-", -1);
        if (parts.length != 4 || !parts[0].equals(HOST)) {
            return false;
        }
        long pid;
        long start;
        try {
            pid = Long.parseLong(parts[1]);
            start = Long.parseLong(parts[2]);
            Long.parseLong(parts[3], 16);
        } catch (NumberFormatException e) {
            return false;
        }
        if (pid <= 0 || start < 0) {
            return false;
        }
        Optional<ProcessHandle> p = ProcessHandle.of(pid);
        if (p.isEmpty()) {
            return true;
        }
        long actual = startMillis(p.get());
        // Same pid, another start time: the pid was reused by a later process.
        return start != 0 && actual != 0 && Math.abs(actual - start) > 1000;
    }

    /** Whether {@code token} was made by this process's {@link #newToken()} pattern for the same process. */
    static boolean sameProcess(String token, String other) {
        int a = token.lastIndexOf('-');
        int b = other.lastIndexOf('-');
        return a > 0 && b > 0 && token.substring(0, a).equals(other.substring(0, b));
    }

    /**
     * Whether {@code p} is a regular file (not a link) owned by the user this process runs as: only such files
     * can be this user's own temporary files, backups or journals.
     */
    static boolean ownedRegularFile(Path p) {
        try {
            if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                return false;
            }
            return Owner.isMine(p);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Best effort: makes renames in {@code dir} durable (not every file system lets a directory be opened). */
    static void syncDirectory(Path dir) {
        if (dir == null) {
            return;
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // The data files themselves are forced; only the directory entries' durability is unknown.
        }
    }

    /** The user this process runs as, compared with a file's owner. */
    static final class Owner {
        /** The effective uid (the owner of {@code /proc/self}), or -1 where /proc is not there. */
        private static final int UID = uid();

        private Owner() {
        }

        private static int uid() {
            try {
                return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            } catch (IOException | RuntimeException e) {
                return -1;
            }
        }

        /** The uid of the file itself (links not followed), or -1. */
        static int uidOf(Path p) throws IOException {
            return (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        }

        static boolean isMine(Path p) throws IOException {
            if (UID >= 0) {
                return uidOf(p) == UID;
            }
            return Files.getOwner(p, LinkOption.NOFOLLOW_LINKS).getName().equals(System.getProperty("user.name"));
        }
    }
}
