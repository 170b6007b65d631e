package dev.latent.space;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The outputs of one command, committed together: after {@link #commit()} every target holds its new
 * content; after a failed commit (or none) every target holds exactly what it held before.
 *
 * <p><b>How.</b> Each output is first written completely to its own temporary file and forced to disk.
 * The commit then checks that every target is still absent or a regular file (a directory, link or device
 * that appeared there during the run is never moved or replaced), writes a journal in each directory it
 * changes ({@link CommitJournal}: the targets' names, backups and the file keys of the new files; owner-only),
 * and for each target in the order they were opened: keeps the previous file as a backup
 * ({@code .<name>.<token>.bak}, a hard link, so the target never disappears; a rename where the file system
 * has no hard links) and renames the temporary file onto the target. A replaced file keeps its mode (and its
 * owner and group where this user may set them). If any step fails, the targets already replaced get their
 * backups back, targets that did not exist before are removed, and the error says nothing changed. Deleting
 * the first directory's journal is the commit point; the backups are deleted after it.
 *
 * <p><b>Crashes.</b> A process killed in the middle of a commit leaves its journals. The next output
 * opened in one of those directories (see {@link AtomicOutput#open}) finds them, proves the process gone
 * and the journals this user's own, and rolls the commit back: the previous files return, the new ones go.
 * So even a kill -9 leaves either every old file or every new one.
 *
 * <p>Not thread-safe; one command owns one set. Commits of all sets in the process are serialised
 * with the SIGINT/SIGTERM cleanup.
 */
public final class OutputSet implements AutoCloseable {

    /** Renames a complete temporary file onto its target (replaceable in tests to inject failures). */
    interface Mover {
        void move(Path from, Path to) throws IOException;
    }

    private final List<AtomicOutput> outputs = new ArrayList<>();
    private final Set<Path> targets = new LinkedHashSet<>();
    private final Mover mover;
    private boolean committed;

    /** An empty set of outputs. */
    public OutputSet() {
        this(OutputSet::move);
    }

    OutputSet(Mover mover) {
        this.mover = mover;
    }

    /**
     * Opens an output that will replace {@code target} when the set commits.
     *
     * @throws IllegalArgumentException when {@code target} is already an output of this set
     */
    public AtomicOutput open(Path target) throws IOException {
        if (committed) {
            throw new IllegalStateException("OutputSet already committed");
        }
        Path abs = OutputPaths.resolve(target);
        if (!targets.add(abs)) {
            throw new IllegalArgumentException(target + " is already an output of this command");
        }
        AtomicOutput o;
        try {
            o = AtomicOutput.open(abs);
        } catch (IOException | RuntimeException e) {
            targets.remove(abs);
            throw e;
        }
        outputs.add(o);
        return o;
    }

    /** Atomic rename where the file system allows it, else a plain replacing rename. */
    static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** One target of a commit. */
    private static final class Entry {
        final AtomicOutput output;
        final Path target;
        final Path temp;
        final Path backup;      // null: the target did not exist
        boolean backedUp;
        boolean replaced;

        Entry(AtomicOutput output, Path backup) {
            this.output = output;
            this.target = output.target();
            this.temp = output.temp();
            this.backup = backup;
        }
    }

    /**
     * Replaces every target with its new content, all or nothing (see the class comment). Every output
     * must be complete (its writer done); their data is forced to disk here first.
     *
     * @throws IOException when the commit failed; every target then holds its previous content
     */
    public void commit() throws IOException {
        if (committed) {
            throw new IllegalStateException("OutputSet already committed");
        }
        for (AtomicOutput o : outputs) {
            o.finish();
        }
        if (outputs.size() == 1) {
            outputs.get(0).commit();
            committed = true;
            return;
        }
        TempFiles.COMMIT_LOCK.lock();
        try {
            commitAll();
        } finally {
            TempFiles.COMMIT_LOCK.unlock();
        }
        committed = true;
    }

    private void commitAll() throws IOException {
        if (outputs.isEmpty()) {
            return;
        }
        String token = TempFiles.newToken();
        List<Entry> entries = new ArrayList<>();
        Map<Path, List<CommitJournal.Entry>> byDirectory = new LinkedHashMap<>();
        for (AtomicOutput o : outputs) {
            Path t = o.target();
            // A directory, link or device that appeared at the target during the run is never replaced.
            OutputPaths.checkReplaceable(t);
            boolean exists = Files.exists(t, LinkOption.NOFOLLOW_LINKS);
            o.keepAttributesOf(exists ? t : null);
            Path backup = exists ? TempFiles.register(t.resolveSibling(CommitJournal.backupName(
                    t.getFileName().toString(), token))) : null;
            entries.add(new Entry(o, backup));
            byDirectory.computeIfAbsent(t.getParent(), d -> new ArrayList<>()).add(new CommitJournal.Entry(
                    t.getFileName().toString(), o.temp().getFileName().toString(), exists, CommitJournal.key(o.temp())));
        }
        List<Path> dirs = new ArrayList<>(byDirectory.keySet());
        Path primary = dirs.get(0);
        List<Path> journals = new ArrayList<>();
        try {
            // The other directories' journals first, the primary last: a primary on disk means every journal is.
            for (int i = dirs.size() - 1; i >= 0; i--) {
                Path d = dirs.get(i);
                journals.add(0, CommitJournal.write(d, token, primary, i == 0 ? dirs.subList(1, dirs.size()) : null,
                        byDirectory.get(d)));
            }
            for (Entry e : entries) {
                if (e.backup != null) {
                    keep(e.target, e.backup);
                    e.backedUp = true;
                }
                mover.move(e.temp, e.target);
                e.replaced = true;
            }
            for (Path dir : dirs) {
                TempFiles.syncDirectory(dir);
            }
        } catch (IOException | RuntimeException | Error failure) {
            List<String> problems = rollBack(entries);
            for (Path j : journals) {
                deleteQuietly(j);
            }
            String detail = problems.isEmpty() ? "nothing was changed (the previous files are in place)"
                    : "and rolling back failed too: " + String.join("; ", problems);
            throw new IOException("could not replace the outputs together: " + failure.getMessage() + "; " + detail,
                    failure);
        }
        // The commit point: without the primary journal, a crash from here on keeps the new files.
        Files.deleteIfExists(journals.get(0));
        TempFiles.forget(journals.get(0));
        TempFiles.syncDirectory(primary);
        for (int i = 1; i < journals.size(); i++) {
            deleteQuietly(journals.get(i));
        }
        for (Entry e : entries) {
            e.output.markCommitted();
            if (e.backup != null) {
                deleteQuietly(e.backup);
            }
        }
    }

    /** Keeps the current target as {@code backup}: a hard link (the target stays), else a rename. */
    private static void keep(Path target, Path backup) throws IOException {
        try {
            Files.createLink(backup, target);
        } catch (UnsupportedOperationException | FileSystemException noLinks) {
            move(target, backup);
        }
    }

    /** Restores every target touched so far, newest first; returns what could not be restored. */
    private static List<String> rollBack(List<Entry> entries) {
        List<String> problems = new ArrayList<>();
        for (int i = entries.size() - 1; i >= 0; i--) {
            Entry e = entries.get(i);
            try {
                if (e.backedUp && Files.exists(e.backup)) {
                    restore(e.backup, e.target);
                } else if (e.backup == null && e.replaced) {
                    Files.deleteIfExists(e.target);
                }
            } catch (IOException | RuntimeException x) {
                problems.add(e.target + ": " + x.getMessage());
            }
            deleteQuietly(e.temp);
            if (e.backup != null) {
                TempFiles.forget(e.backup);
            }
        }
        for (Entry e : entries) {
            TempFiles.syncDirectory(e.target.getParent());
        }
        return problems;
    }

    /**
     * Puts the previous file back. When the backup is still a hard link of the target (the target was
     * not replaced yet), a rename would do nothing at all (POSIX: renaming a link onto another link of
     * the same file is a no-op), so the backup is simply removed.
     */
    private static void restore(Path backup, Path target) throws IOException {
        if (Files.exists(target) && Files.isSameFile(backup, target)) {
            Files.delete(backup);
        } else {
            move(backup, target);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // Left for the next run's stale-file cleanup.
        }
        TempFiles.forget(p);
    }

    /** Deletes the temporary files of outputs not committed. Idempotent. */
    @Override
    public void close() throws IOException {
        IOException first = null;
        for (AtomicOutput o : outputs) {
            try {
                o.close();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
