package dev.latent.space;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The journal of a multi-file commit ({@link OutputSet}), and the recovery that rolls back the commit of a
 * process killed in the middle of it.
 *
 * <p><b>What a journal says.</b> A commit writes one journal, {@code .latent-commit.<token>.journal}, in every
 * directory it replaces files in: the file names of that directory's targets (never paths), whether each had a
 * previous file (kept as the backup {@code .<stem>.<token>.bak}), the name of its temporary file and the file
 * key (device and inode) of its new content. The journal of the first directory is the primary one and lists
 * the other directories; the others name the primary's directory. They are written before any rename (the
 * primary last) and deleted after every rename (the primary first: that deletion is the commit point).
 *
 * <p><b>What recovery trusts.</b> A journal is acted on only when everything about it could only have been
 * made by this user's Latent on this host: its token names a dead process of this host; it is a regular file
 * (not a link) with one name, owned by this user, readable and writable by the owner alone (mode 0600, as
 * written); it names the directory it lies in (its real path) and the token of its own name; every name in
 * it is a plain file name, every temporary name is Latent's for that target and a token of the same process,
 * and every backup is Latent's backup name for that target and the journal's token. Anything else is left in
 * place and reported. Recovery then changes only files in the journal's own directory (other directories only
 * through their own journals, checked the same way): a backup goes back only where the target still holds the
 * commit's new file (same file key) or is gone; a new file is removed only when it is the commit's (same file
 * key); backups and temporary files are removed only when they are regular files owned by this user.
 *
 * <p>Thread-safety: the writing side is used under {@link TempFiles#COMMIT_LOCK}; recovery is stateless.
 */
final class CommitJournal {
    private static final Logger LOG = LoggerFactory.getLogger(CommitJournal.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PREFIX = "." + TempFiles.JOURNAL_NAME + ".";
    private static final String SUFFIX = ".journal";
    private static final int FORMAT_VERSION = 2;
    /** A journal lists a command's outputs: far below this. */
    private static final long MAX_BYTES = 1 << 20;
    static final Set<PosixFilePermission> OWNER_ONLY = EnumSet.of(PosixFilePermission.OWNER_READ,
            PosixFilePermission.OWNER_WRITE);

    /** One target of a journal's directory. */
    record Entry(String target, String temp, boolean backup, String newKey) {
    }

    /** A parsed and checked journal. */
    private record Journal(Path file, String token, Path directory, Path primary, List<Path> others,
                           List<Entry> entries) {
        boolean isPrimary() {
            return primary.equals(directory);
        }
    }

    private CommitJournal() {
    }

    /** The journal's name for {@code token}. */
    static String fileName(String token) {
        return PREFIX + token + SUFFIX;
    }

    /** The backup name of target {@code name} in a commit with {@code token}. */
    static String backupName(String name, String token) {
        return "." + TempFiles.stem(name) + "." + token + ".bak";
    }

    /**
     * Writes (owner-only, forced to disk) the journal of {@code directory} for a commit with {@code token}.
     *
     * @param others for the primary journal, the other directories of the commit; null for the others
     */
    static Path write(Path directory, String token, Path primary, List<Path> others, List<Entry> entries)
            throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("format", TempFiles.JOURNAL_NAME);
        o.put("version", FORMAT_VERSION);
        o.put("token", token);
        o.put("directory", directory.toString());
        o.put("primary", primary.toString());
        if (others != null) {
            ArrayNode a = o.putArray("others");
            for (Path p : others) {
                a.add(p.toString());
            }
        }
        ArrayNode list = o.putArray("entries");
        for (Entry e : entries) {
            ObjectNode n = list.addObject();
            n.put("target", e.target());
            n.put("temp", e.temp());
            n.put("backup", e.backup());
            n.put("newKey", e.newKey());
        }
        Path journal = TempFiles.register(directory.resolve(fileName(token)));
        try (SeekableByteChannel ch = Files.newByteChannel(journal, Set.of(StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(OWNER_ONLY))) {
            ByteBuffer b = ByteBuffer.wrap(JSON.writeValueAsBytes(o));
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ((java.nio.channels.FileChannel) ch).force(true);
        }
        TempFiles.syncDirectory(directory);
        return journal;
    }

    /** The file key of {@code p} itself (links not followed), or null where the file system has none. */
    static String key(Path p) throws IOException {
        Object k = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
        return k == null ? null : k.toString();
    }

    /** Rolls back the interrupted commits of dead processes of this host whose journals lie in {@code dir}. */
    static void recoverIn(Path dir) {
        List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, PREFIX + "*" + SUFFIX)) {
            for (Path p : entries) {
                found.add(p);
            }
        } catch (IOException | RuntimeException e) {
            LOG.atDebug().log(() -> "cannot scan " + dir + " for commit journals: " + e);
            return;
        }
        for (Path p : found) {
            String name = p.getFileName().toString();
            String token = name.substring(PREFIX.length(), name.length() - SUFFIX.length());
            if (TempFiles.isStale(token) && Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                recover(p, token);
            }
        }
    }

    /** Recovers from {@code journal} (its token's process is dead), or reports why it is left alone. */
    static void recover(Path journal, String token) {
        Journal j = read(journal, token);
        if (j == null) {
            return;
        }
        if (!j.isPrimary()) {
            Path primary = j.primary().resolve(fileName(token));
            if (Files.exists(primary, LinkOption.NOFOLLOW_LINKS)) {
                Journal p = read(primary, token);
                if (p != null && !p.others().contains(j.directory())) {
                    refuse(primary, "it does not list " + j.directory() + ", whose journal names it");
                    return;
                }
                if (p != null) {
                    rollBack(p);
                }
                return;
            }
            // No primary: the commit point passed (or no rename had started), so this directory's files stand.
            List<String> problems = new ArrayList<>();
            for (Entry e : j.entries()) {
                removeOwn(j.directory().resolve(backupName(e.target(), token)), problems);
                removeOwn(j.directory().resolve(e.temp()), problems);
            }
            finish(j, problems, "finished the cleanup of a completed commit");
            return;
        }
        rollBack(j);
    }

    /** Rolls back every directory of the commit whose primary journal is {@code j}, then deletes it. */
    private static void rollBack(Journal j) {
        List<String> problems = new ArrayList<>();
        for (Path other : j.others()) {
            Path f = other.resolve(fileName(j.token()));
            if (!Files.exists(f, LinkOption.NOFOLLOW_LINKS)) {
                continue;   // rolled back by an earlier recovery that stopped before the primary
            }
            Journal o = read(f, j.token());
            if (o == null || !o.primary().equals(j.directory())) {
                problems.add(f + " cannot be trusted");
                continue;
            }
            List<String> own = new ArrayList<>();
            rollBackEntries(o, own);
            finish(o, own, "rolled back");
            problems.addAll(own);
        }
        rollBackEntries(j, problems);
        finish(j, problems, "rolled back an interrupted commit of a process that no longer runs; the previous files are back");
    }

    private static void finish(Journal j, List<String> problems, String done) {
        if (problems.isEmpty()) {
            try {
                Files.deleteIfExists(j.file());
            } catch (IOException e) {
                problems.add(j.file() + ": " + e.getMessage());
            }
            TempFiles.syncDirectory(j.directory());
        }
        if (problems.isEmpty()) {
            LOG.atWarn().log(() -> done + " (journal " + j.file() + ")");
        } else {
            LOG.atWarn().log(() -> "could not fully recover the interrupted commit of " + j.file() + ": " + problems
                    + "; the journal is kept");
        }
    }

    /** Puts back the previous files of one directory's journal, newest first. */
    private static void rollBackEntries(Journal j, List<String> problems) {
        List<Entry> entries = j.entries();
        for (int i = entries.size() - 1; i >= 0; i--) {
            Entry e = entries.get(i);
            Path target = j.directory().resolve(e.target());
            Path temp = j.directory().resolve(e.temp());
            Path backup = j.directory().resolve(backupName(e.target(), j.token()));
            try {
                boolean targetThere = Files.exists(target, LinkOption.NOFOLLOW_LINKS);
                boolean isNew = targetThere && (e.newKey() != null ? e.newKey().equals(key(target))
                        : !Files.exists(temp, LinkOption.NOFOLLOW_LINKS));
                if (e.backup()) {
                    if (Files.exists(backup, LinkOption.NOFOLLOW_LINKS)) {
                        if (!TempFiles.ownedRegularFile(backup)) {
                            problems.add(backup + " is not this user's backup");
                        } else if (targetThere && Files.isSameFile(backup, target)) {
                            Files.delete(backup);   // the target was never replaced
                        } else if (!targetThere || isNew) {
                            OutputSet.move(backup, target);
                        } else {
                            problems.add(target + " changed after the interrupted commit; its previous content is kept in "
                                    + backup);
                        }
                    }
                } else if (isNew) {
                    Files.delete(target);   // created by the interrupted commit
                }
                removeOwn(temp, problems);
            } catch (IOException | RuntimeException x) {
                problems.add(target + ": " + x.getMessage());
            }
        }
        TempFiles.syncDirectory(j.directory());
    }

    private static void removeOwn(Path p, List<String> problems) {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!TempFiles.ownedRegularFile(p)) {
            problems.add(p + " is not this user's file");
            return;
        }
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            problems.add(p + ": " + e.getMessage());
        }
    }

    /**
     * Reads and checks a journal (see the class comment); null, with a warning naming the journal and the
     * reason, when it cannot be trusted. A journal of this user cut short by the crash (written before any
     * rename) is removed.
     */
    private static Journal read(Path file, String token) {
        Path dir;
        try {
            dir = file.getParent().toRealPath();
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (!a.isRegularFile()) {
                return refuse(file, "it is not a regular file");
            }
            if (!TempFiles.Owner.isMine(file)) {
                return refuse(file, "it belongs to another user (uid " + TempFiles.Owner.uidOf(file) + ")");
            }
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
            if (!OWNER_ONLY.containsAll(mode)) {
                return refuse(file, "others may write or read it (mode " + PosixFilePermissions.toString(mode) + ")");
            }
            Object links = Files.getAttribute(file, "unix:nlink", LinkOption.NOFOLLOW_LINKS);
            if (!Integer.valueOf(1).equals(links)) {
                return refuse(file, "it has " + links + " names");
            }
            if (a.size() > MAX_BYTES) {
                return refuse(file, "it is " + a.size() + " bytes long");
            }
        } catch (NoSuchFileException gone) {
            return null;
        } catch (IOException | RuntimeException e) {
            return refuse(file, e.toString());
        }
        JsonNode o;
        try {
            o = JSON.readTree(Files.readAllBytes(file));
        } catch (IOException | RuntimeException e) {
            // This user's journal, cut short while it was written: no rename had started.
            LOG.atWarn().log(() -> "removing " + file + ", a commit journal cut short before its commit began ("
                    + e.getMessage() + ")");
            try {
                Files.deleteIfExists(file);
            } catch (IOException x) {
                LOG.atWarn().log(() -> "cannot remove " + file + ": " + x.getMessage());
            }
            return null;
        }
        try {
            if (o == null || !TempFiles.JOURNAL_NAME.equals(o.path("format").asText())
                    || o.path("version").asInt() != FORMAT_VERSION) {
                return refuse(file, "it is not a journal of this version");
            }
            if (!token.equals(o.path("token").asText())) {
                return refuse(file, "its token is not the one of its name");
            }
            if (!dir.toString().equals(o.path("directory").asText())) {
                return refuse(file, "it names another directory (" + o.path("directory").asText() + ")");
            }
            Path primary = absolute(o.path("primary"));
            List<Path> others = new ArrayList<>();
            for (JsonNode n : o.path("others")) {
                others.add(absolute(n));
            }
            List<Entry> entries = new ArrayList<>();
            for (JsonNode n : o.path("entries")) {
                String target = plainName(n.path("target"));
                String temp = plainName(n.path("temp"));
                String tempPrefix = "." + TempFiles.stem(target) + ".";
                if (!temp.startsWith(tempPrefix) || !temp.endsWith(".part")
                        || !TempFiles.sameProcess(temp.substring(tempPrefix.length(), temp.length() - 5), token)) {
                    return refuse(file, "'" + temp + "' is not a temporary name of '" + target + "' for this commit");
                }
                if (!n.path("backup").isBoolean()) {
                    throw new IllegalArgumentException("backup is not true or false");
                }
                JsonNode k = n.get("newKey");
                entries.add(new Entry(target, temp, n.path("backup").asBoolean(),
                        k == null || k.isNull() ? null : k.asText()));
            }
            if (entries.isEmpty()) {
                return refuse(file, "it lists no files");
            }
            return new Journal(file, token, dir, primary, others, entries);
        } catch (IllegalArgumentException e) {
            return refuse(file, e.getMessage());
        }
    }

    private static Path absolute(JsonNode n) {
        if (!n.isTextual() || !Path.of(n.asText()).isAbsolute() || !Path.of(n.asText()).normalize().toString().equals(n.asText())) {
            throw new IllegalArgumentException("'" + n + "' is not an absolute directory");
        }
        return Path.of(n.asText());
    }

    /** A file name without a folder: no '/', not '.' or '..', not empty, no NUL. */
    private static String plainName(JsonNode n) {
        String s = n.isTextual() ? n.asText() : "";
        if (s.isEmpty() || s.equals(".") || s.equals("..") || s.indexOf('/') >= 0 || s.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("'" + n.asText() + "' is not a file name in the journal's directory");
        }
        return s;
    }

    private static Journal refuse(Path file, String why) {
        LOG.atWarn().log(() -> "left alone the commit journal " + file + ": " + why
                + "; Latent acts only on journals it can prove are this user's own (remove it if it is not yours)");
        return null;
    }
}
