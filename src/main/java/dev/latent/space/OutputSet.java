package dev.latent.space;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.logging.Logger;

/**
 * The outputs of one command, committed together: after {@link #commit()} every target holds its new
 * content; after a failed commit (or none) every target holds exactly what it held before.
 *
 * <p><b>How.</b> Each output is first written completely to its own temporary file and forced to disk.
 * The commit then writes a journal ({@code .latent-commit.<token>.journal} in the first target's
 * directory) naming every target, temporary file and backup, forces it, and for each target in the
 * order they were opened: keeps the previous file as a backup ({@code .<name>.<token>.bak}, a hard link,
 * so the target never disappears; a rename where the file system has no hard links) and renames the
 * temporary file onto the target. If any step fails, the targets already replaced get their backups
 * back, targets that did not exist before are removed, and the error says nothing changed. Deleting
 * the journal is the commit point; the backups are deleted after it.
 *
 * <p><b>Crashes.</b> A process killed in the middle of a commit leaves its journal. The next output
 * opened in that directory (see {@link AtomicOutput#open}) finds it, proves the process gone, and
 * rolls the commit back from it: the previous files return, the new ones go. So even a kill -9 leaves
 * either every old file or every new one.
 *
 * <p>Not thread-safe; one command owns one set. Commits of all sets in the process are serialised
 * with the SIGINT/SIGTERM cleanup.
 */
public final class OutputSet implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(OutputSet.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();

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
        Path abs = target.toAbsolutePath().normalize();
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
        List<Entry> entries = new ArrayList<>();
        for (AtomicOutput o : outputs) {
            Path t = o.target();
            entries.add(new Entry(o, Files.exists(t) ? TempFiles.newTemp(t.getParent(), t.getFileName().toString(), ".bak")
                    : null));
        }
        Path journalDir = entries.get(0).target.getParent();
        Path journal = TempFiles.newTemp(journalDir, TempFiles.JOURNAL_NAME, ".journal");
        try {
            writeJournal(journal, entries);
            for (Entry e : entries) {
                if (e.backup != null) {
                    keep(e.target, e.backup);
                    e.backedUp = true;
                }
                mover.move(e.temp, e.target);
                e.replaced = true;
            }
            for (Path dir : directories(entries)) {
                TempFiles.syncDirectory(dir);
            }
        } catch (IOException | RuntimeException | Error failure) {
            List<String> problems = rollBack(entries);
            deleteQuietly(journal);
            String detail = problems.isEmpty() ? "nothing was changed (the previous files are in place)"
                    : "and rolling back failed too: " + String.join("; ", problems);
            IOException e = new IOException("could not replace the outputs together: " + failure.getMessage() + "; "
                    + detail, failure);
            throw e;
        }
        // The commit point: without the journal, a crash from here on keeps the new files.
        Files.deleteIfExists(journal);
        TempFiles.forget(journal);
        TempFiles.syncDirectory(journalDir);
        for (Entry e : entries) {
            e.output.markCommitted();
            if (e.backup != null) {
                deleteQuietly(e.backup);
            }
        }
    }

    private static Set<Path> directories(List<Entry> entries) {
        Set<Path> dirs = new LinkedHashSet<>();
        for (Entry e : entries) {
            dirs.add(e.target.getParent());
        }
        return dirs;
    }

    /** Keeps the current target as {@code backup}: a hard link (the target stays), else a rename. */
    private static void keep(Path target, Path backup) throws IOException {
        try {
            Files.createLink(backup, target);
        } catch (UnsupportedOperationException | FileSystemException noLinks) {
            move(target, backup);
        }
    }

    private static void writeJournal(Path journal, List<Entry> entries) throws IOException {
        ArrayNode list = JSON.createArrayNode();
        for (Entry e : entries) {
            ObjectNode o = list.addObject();
            o.put("target", e.target.toString());
            o.put("temp", e.temp.toString());
            o.put("backup", e.backup == null ? null : e.backup.toString());
        }
        byte[] bytes = JSON.writeValueAsBytes(list);
        try (FileChannel ch = FileChannel.open(journal, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
        TempFiles.syncDirectory(journal.getParent());
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
     * Rolls back the interrupted commit of a process that no longer runs, from its journal: backups
     * return to their targets, targets that did not exist before the commit are removed, temporary
     * files are deleted, then the journal. Called by {@link TempFiles#cleanStale}.
     */
    static void recover(Path journal) {
        JsonNode list;
        try {
            list = JSON.readTree(Files.readAllBytes(journal));
        } catch (IOException | RuntimeException e) {
            // A journal cut short by the crash was written before any rename: nothing to undo.
            LOG.warning(() -> "unreadable commit journal " + journal + " (" + e.getMessage() + "); removing it");
            deleteQuietly(journal);
            return;
        }
        List<String> problems = new ArrayList<>();
        if (list != null && list.isArray()) {
            for (int i = list.size() - 1; i >= 0; i--) {
                JsonNode e = list.get(i);
                Path target = Path.of(e.path("target").asText());
                Path temp = Path.of(e.path("temp").asText());
                JsonNode b = e.get("backup");
                try {
                    if (b != null && !b.isNull()) {
                        Path backup = Path.of(b.asText());
                        if (Files.exists(backup)) {
                            restore(backup, target);
                        }
                    } else if (!Files.exists(temp) && Files.exists(target)) {
                        Files.delete(target);   // created by the interrupted commit
                    }
                    Files.deleteIfExists(temp);
                } catch (IOException | RuntimeException x) {
                    problems.add(target + ": " + x.getMessage());
                }
            }
        }
        if (problems.isEmpty()) {
            deleteQuietly(journal);
            LOG.warning(() -> "rolled back an interrupted commit of a process that no longer runs (journal "
                    + journal + "): the previous files are back");
        } else {
            LOG.warning(() -> "could not fully roll back the interrupted commit in " + journal + ": " + problems
                    + "; the journal is kept");
        }
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
