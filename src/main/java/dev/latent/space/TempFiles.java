package dev.latent.space;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Logger;

/**
 * The temporary files of this process's outputs: their names, their cleanup on SIGINT and SIGTERM,
 * and the removal of stale ones left by a process that died (kill -9, power loss).
 *
 * <p><b>Names.</b> A temporary file for target {@code name} is {@code .<name>.<token><suffix>}
 * ({@code .part} for data, {@code .bak} for the previous file kept during a multi-file commit) and a
 * commit journal is {@code .latent-commit.<token>.journal}, all in the target's directory. The token
 * is {@code <pid>-<process start, ms since the epoch>-<random>}, so a later run can prove a file
 * stale: no process with that pid exists, or the process with that pid started at another time.
 * Files whose process is alive, or whose names do not parse, are never touched.
 *
 * <p><b>Signals.</b> A shutdown hook (which the JVM runs on SIGINT, SIGTERM and normal exit) deletes
 * every temporary file still registered. It first waits for a commit in progress ({@link #COMMIT_LOCK}),
 * so a commit is never cut in half by the cleanup.
 *
 * <p>Thread-safe.
 */
final class TempFiles {
    private static final Logger LOG = Logger.getLogger(TempFiles.class.getName());

    /** Held while outputs are renamed into place; the shutdown hook takes it before cleaning up. */
    static final ReentrantLock COMMIT_LOCK = new ReentrantLock();

    /**
     * Held (shared) from registering a temporary file until it exists; the shutdown hook takes it
     * exclusively, so it never deletes a registered name whose file is created just after.
     */
    static final java.util.concurrent.locks.ReentrantReadWriteLock CREATION = new java.util.concurrent.locks.ReentrantReadWriteLock();

    /** Set by the shutdown hook: from then on no temporary file is registered (it could not be cleaned). */
    private static volatile boolean shuttingDown;

    /** {@code <pid>-<start ms>} of this process. */
    private static final String PROCESS = ProcessHandle.current().pid() + "-" + startMillis(ProcessHandle.current());
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

    /** A fresh, registered name {@code .<name>.<token><suffix>} in {@code dir} (the file is not created). */
    static Path newTemp(Path dir, String name, String suffix) {
        if (shuttingDown) {
            throw new IllegalStateException("the process is shutting down: " + dir.resolve(name) + " is not written");
        }
        String token = PROCESS + "-" + Long.toHexString(RANDOM.nextLong() & Long.MAX_VALUE);
        Path p = dir.resolve("." + name + "." + token + suffix);
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
     * Rolls back the interrupted commits of dead processes in {@code dir}, then deletes the stale
     * {@code .part} and {@code .bak} files of target {@code name}.
     */
    static void cleanStale(Path dir, String name) {
        String journalPrefix = "." + JOURNAL_NAME + ".";
        String prefix = "." + name + ".";
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, ".*")) {
            for (Path p : entries) {
                String file = p.getFileName().toString();
                if (file.startsWith(journalPrefix) && file.endsWith(".journal")) {
                    String token = file.substring(journalPrefix.length(), file.length() - ".journal".length());
                    if (isStale(token)) {
                        OutputSet.recover(p);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.fine(() -> "cannot scan " + dir + " for stale files: " + e);
            return;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, ".*")) {
            for (Path p : entries) {
                String file = p.getFileName().toString();
                if (!file.startsWith(prefix)) {
                    continue;
                }
                String rest = file.substring(prefix.length());
                String suffix = rest.endsWith(".part") ? ".part" : rest.endsWith(".bak") ? ".bak" : null;
                if (suffix != null && isStale(rest.substring(0, rest.length() - suffix.length()))) {
                    try {
                        Files.deleteIfExists(p);
                        LOG.info(() -> "removed " + p + ", left by a process that no longer runs");
                    } catch (IOException e) {
                        LOG.warning(() -> "cannot remove stale " + p + ": " + e.getMessage());
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.fine(() -> "cannot scan " + dir + " for stale files: " + e);
        }
    }

    /** Whether a token {@code <pid>-<start ms>-<random>} names a process that no longer runs. */
    static boolean isStale(String token) {
        String[] parts = token.split("-");
        if (parts.length != 3) {
            return false;
        }
        long pid;
        long start;
        try {
            pid = Long.parseLong(parts[0]);
            start = Long.parseLong(parts[1]);
            Long.parseLong(parts[2], 16);
        } catch (NumberFormatException e) {
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
}
