package dev.latent.space;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nothing another user can write steers what recovery deletes or replaces, and outputs land only where the OS
 * would put them, on regular files: forged journals (old layout, paths outside their directory, foreign
 * directory, loose mode, another owner, a link, a key that is not the commit's) are left alone and reported;
 * a commit across two directories is rolled back from either; a directory, device, FIFO or
 * {@code /proc/self/fd/1} at an output is never replaced; {@code ..} after a linked folder goes where the OS
 * goes; replaced files keep their mode; long names work; write errors name the output.
 */
class OutputTrustTest {
    @TempDir
    Path dir;

    @TempDir
    Path elsewhere;

    private final List<LogRecord> warnings = new ArrayList<>();
    private final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord r) {
            synchronized (warnings) {
                warnings.add(r);
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };
    private final Logger log = Logger.getLogger("dev.latent.space");

    @BeforeEach
    void listen() {
        log.addHandler(handler);
    }

    @AfterEach
    void stopListening() {
        log.removeHandler(handler);
    }

    private String warningsText() {
        synchronized (warnings) {
            return warnings.stream().map(LogRecord::getMessage).collect(Collectors.joining("\n"));
        }
    }

    private static void write(AtomicOutput o, String text) throws IOException {
        o.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
    }

    private Set<String> names(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
    }

    private static long deadPid() {
        for (long pid = 4_000_000; pid > 1000; pid -= 7919) {
            if (ProcessHandle.of(pid).isEmpty()) {
                return pid;
            }
        }
        throw new IllegalStateException("no free pid found");
    }

    /** A token of this host naming a process that does not run: what a crashed run of this user leaves. */
    private static String deadToken() {
        return TempFiles.HOST + "-" + deadPid() + "-1700000000000-1f";
    }

    private Path journal(Path in, String token, String json, boolean ownerOnly) throws IOException {
        Path j = in.resolve(CommitJournal.fileName(token));
        Files.writeString(j, json);
        if (ownerOnly) {
            Files.setPosixFilePermissions(j, PosixFilePermissions.fromString("rw-------"));
        }
        return j;
    }

    private void openAnOutputIn(Path d) throws IOException {
        try (AtomicOutput o = AtomicOutput.open(d.resolve("out.npy"))) {
            write(o, "x");
            o.commit();
        }
    }

    @Test
    void aForgedJournalNeverDeletesOrReplacesAFile() throws Exception {
        Path victim = Files.writeString(elsewhere.resolve(".bashrc"), "the user's own");
        Path bait = Files.writeString(elsewhere.resolve("bait"), "someone else's");
        Path local = Files.writeString(dir.resolve("notes.txt"), "the user's notes");
        String dead = deadToken();
        String legacy = deadPid() + "-1700000000000-2f";

        // The old layout, with absolute paths anywhere: what the earlier recovery obeyed.
        journal(dir, legacy, "[{\"target\": \"" + victim + "\", \"temp\": \"" + dir.resolve("none") + "\", \"backup\": null},"
                + "{\"target\": \"" + local + "\", \"temp\": \"" + bait + "\", \"backup\": \"" + bait + "\"}]", true);
        // This layout, but group- and world-readable (not as Latent writes journals).
        String t1 = TempFiles.HOST + "-" + deadPid() + "-1700000000000-3f";
        journal(dir, t1, v2(t1, dir.toRealPath(), "notes.txt", ".notes.txt." + t1 + ".part", false, "(dev=1,ino=1)"), false);
        // Owner-only, but naming another directory.
        String t2 = TempFiles.HOST + "-" + deadPid() + "-1700000000000-4f";
        journal(dir, t2, v2(t2, elsewhere.toRealPath(), ".bashrc", ".bashrc." + t2 + ".part", false, null), true);
        // Owner-only, its own directory, but a target outside it.
        String t3 = TempFiles.HOST + "-" + deadPid() + "-1700000000000-5f";
        journal(dir, t3, v2(t3, dir.toRealPath(), "../" + elsewhere.getFileName() + "/.bashrc", ".x." + t3 + ".part", false, null), true);
        // Owner-only and well formed, but the file at the target is not the commit's new file.
        journal(dir, dead, v2(dead, dir.toRealPath(), "notes.txt", ".notes.txt." + dead + ".part", false, "(dev=1,ino=1)"), true);
        // A link to a journal is not a journal.
        String t4 = TempFiles.HOST + "-" + deadPid() + "-1700000000000-6f";
        Path real = journal(elsewhere, t4, v2(t4, dir.toRealPath(), "notes.txt", ".notes.txt." + t4 + ".part", false, null), true);
        Files.createSymbolicLink(dir.resolve(CommitJournal.fileName(t4)), real);

        openAnOutputIn(dir);

        assertEquals("the user's own", Files.readString(victim));
        assertEquals("someone else's", Files.readString(bait));
        assertEquals("the user's notes", Files.readString(local));
        String w = warningsText();
        assertTrue(w.contains("others may write or read it"), w);
        assertTrue(w.contains("names another directory"), w);
        assertTrue(w.contains("is not a file name in the journal's directory"), w);
        assertTrue(w.contains("is not a regular file"), w);
        // Everything refused stays for the user to look at.
        assertTrue(names(dir).containsAll(Set.of(CommitJournal.fileName(legacy), CommitJournal.fileName(t1),
                CommitJournal.fileName(t2), CommitJournal.fileName(t3), CommitJournal.fileName(t4))), names(dir).toString());
    }

    private static String v2(String token, Path directory, String target, String temp, boolean backup, String key) {
        return "{\"format\":\"latent-commit\",\"version\":2,\"token\":\"" + token + "\",\"directory\":\"" + directory
                + "\",\"primary\":\"" + directory + "\",\"others\":[],\"entries\":[{\"target\":\"" + target
                + "\",\"temp\":\"" + temp + "\",\"backup\":" + backup + ",\"newKey\":" + (key == null ? "null" : "\"" + key + "\"")
                + "}]}";
    }

    @Test
    void aJournalOfAnotherUserIsLeftAlone() throws Exception {
        Assumptions.assumeTrue(TempFiles.Owner.isMine(Files.createFile(dir.resolve("probe")))
                && "0".equals(String.valueOf(TempFiles.Owner.uidOf(dir.resolve("probe")))),
                "needs root to give a file to another user");
        Path target = Files.writeString(dir.resolve("data.npy"), "new");
        String key = CommitJournal.key(target);
        String dead = deadToken();
        // Everything right but the owner: a journal nobody but that user could have written.
        Path j = journal(dir, dead, v2(dead, dir.toRealPath(), "data.npy", ".data.npy." + dead + ".part", false, key), true);
        Files.setAttribute(j, "unix:uid", 65534, LinkOption.NOFOLLOW_LINKS);
        openAnOutputIn(dir);
        assertEquals("new", Files.readString(target));
        assertTrue(Files.exists(j));
        assertTrue(warningsText().contains("belongs to another user"), warningsText());
    }

    @Test
    void aCommitOfThisUserIsStillRolledBackWhenItsJournalChecksOut() throws Exception {
        // The trusted case, built by hand: the new file at the target is the commit's, the old one is the backup.
        Path target = Files.writeString(dir.resolve("data.npy"), "new");
        String dead = deadToken();
        Path backup = Files.writeString(dir.resolve(CommitJournal.backupName("data.npy", dead)), "old");
        CommitJournal.write(dir.toRealPath(), dead, dir.toRealPath(), List.of(),
                List.of(new CommitJournal.Entry("data.npy", ".data.npy." + dead + ".part", true, CommitJournal.key(target))));
        openAnOutputIn(dir);
        assertEquals("old", Files.readString(target));
        assertFalse(Files.exists(backup));
        assertEquals(Set.of("data.npy", "out.npy"), names(dir));
    }

    @Test
    void aCommitAcrossTwoDirectoriesIsRolledBackFromEither() throws Exception {
        Path a = Files.createDirectory(dir.resolve("a"));
        Path b = Files.createDirectory(dir.resolve("b"));
        Files.writeString(b.resolve("v.npy"), "old v");
        Files.writeString(a.resolve("ids"), "old ids");
        // Commit order: a/n (new), b/v.npy, a/ids; the child dies at the second rename.
        OutputSetCrashProbe.crashAfterFirstRename(a.resolve("n"), b.resolve("v.npy"), a.resolve("ids"));
        assertTrue(names(a).stream().anyMatch(f -> f.endsWith(".journal")) && names(b).stream().anyMatch(f -> f.endsWith(".journal")),
                "a journal in each directory: " + names(a) + " " + names(b));
        for (Path d : List.of(a, b)) {
            try (Stream<Path> s = Files.list(d)) {
                for (Path f : s.filter(f -> f.toString().endsWith(".journal")).toList()) {
                    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
                }
            }
        }
        // The next run writes into b only: b's journal leads to a's, and the whole commit goes back.
        openAnOutputIn(b);
        assertEquals("old v", Files.readString(b.resolve("v.npy")));
        assertEquals("old ids", Files.readString(a.resolve("ids")));
        assertEquals(Set.of("ids"), names(a));
        assertEquals(Set.of("v.npy", "out.npy"), names(b));
    }

    @Test
    void aSecondaryJournalWithoutItsPrimaryMeansTheCommitStands() throws Exception {
        Path a = Files.createDirectory(dir.resolve("a"));
        Path b = Files.createDirectory(dir.resolve("b"));
        Path target = Files.writeString(b.resolve("v.npy"), "new v");
        String dead = deadToken();
        Path backup = Files.writeString(b.resolve(CommitJournal.backupName("v.npy", dead)), "old v");
        CommitJournal.write(b.toRealPath(), dead, a.toRealPath(), null,
                List.of(new CommitJournal.Entry("v.npy", ".v.npy." + dead + ".part", true, CommitJournal.key(target))));
        openAnOutputIn(b);
        assertEquals("new v", Files.readString(target));
        assertFalse(Files.exists(backup));
        assertEquals(Set.of("v.npy", "out.npy"), names(b));
    }

    @Test
    void aDirectoryThatAppearsAtAnOutputIsNeverMoved() throws Exception {
        Files.writeString(dir.resolve("a"), "old a");
        try (OutputSet set = new OutputSet()) {
            write(set.open(dir.resolve("a")), "new a");
            write(set.open(dir.resolve("b")), "new b");
            Path appeared = Files.createDirectory(dir.resolve("b"));
            Files.writeString(appeared.resolve("precious"), "mine");
            IOException e = assertThrows(IOException.class, set::commit);
            assertTrue(e.getMessage().contains("became a directory"), e.getMessage());
        }
        assertEquals("old a", Files.readString(dir.resolve("a")));
        assertEquals("mine", Files.readString(dir.resolve("b").resolve("precious")));
        assertEquals(Set.of("a", "b"), names(dir));

        try (AtomicOutput o = AtomicOutput.open(dir.resolve("c"))) {
            write(o, "new c");
            Files.createDirectory(dir.resolve("c"));
            Files.writeString(dir.resolve("c").resolve("precious"), "mine");
            IOException e = assertThrows(IOException.class, o::commit);
            assertTrue(e.getMessage().contains("became a directory"), e.getMessage());
        }
        assertEquals("mine", Files.readString(dir.resolve("c").resolve("precious")));
        assertEquals(Set.of("a", "b", "c"), names(dir));
    }

    @Test
    void devicesPipesAndDescriptorLinksAreNeverReplaced() throws Exception {
        IOException e = assertThrows(IOException.class, () -> AtomicOutput.open(Path.of("/dev/null")));
        assertTrue(e.getMessage().contains("character device"), e.getMessage());
        assertTrue(Files.exists(Path.of("/dev/null")) && !Files.isRegularFile(Path.of("/dev/null")));

        Path fifo = dir.resolve("fifo");
        Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
        Assumptions.assumeTrue(mk.waitFor() == 0, "mkfifo is not available");
        e = assertThrows(IOException.class, () -> AtomicOutput.open(fifo));
        assertTrue(e.getMessage().contains("FIFO"), e.getMessage());
        Path link = Files.createSymbolicLink(dir.resolve("stdout"), Path.of("/proc/self/fd/1"));
        e = assertThrows(IOException.class, () -> AtomicOutput.open(link));
        assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
        assertTrue(Files.isSymbolicLink(link));
        // A descriptor open on a regular file is still a descriptor: its file is not replaced through it.
        Path regular = Files.writeString(dir.resolve("regular"), "kept");
        try (FileChannel open = FileChannel.open(regular, StandardOpenOption.READ); Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            Path fd = fds.filter(f -> {
                try {
                    return Files.isSameFile(f, regular);
                } catch (IOException gone) {
                    return false;
                }
            }).findFirst().orElseThrow();
            Path fdLink = Files.createSymbolicLink(dir.resolve("fd"), Path.of("/proc/self/fd").resolve(fd.getFileName()));
            e = assertThrows(IOException.class, () -> AtomicOutput.open(fdLink));
            assertTrue(e.getMessage().contains("/proc"), e.getMessage());
            assertTrue(open.isOpen());
        }
        assertEquals("kept", Files.readString(regular));
        assertThrows(IOException.class, () -> AtomicOutput.open(Path.of("/dev/stdout")));
        assertEquals(Set.of("fifo", "stdout", "regular", "fd"), names(dir));
    }

    @Test
    void dotDotAfterALinkedFolderLeadsWhereTheOsGoes() throws Exception {
        Path sub = Files.createDirectories(elsewhere.resolve("deep").resolve("sub"));
        Files.createSymbolicLink(dir.resolve("sub"), sub);
        Path input = Files.writeString(dir.resolve("v.npy"), "the input");
        Path asked = dir.resolve("sub").resolve("..").resolve("v.npy");
        Path where = OutputPaths.resolve(asked);
        assertEquals(elsewhere.toRealPath().resolve("deep").resolve("v.npy"), where);
        try (AtomicOutput o = AtomicOutput.open(asked)) {
            write(o, "the output");
            o.commit();
        }
        assertEquals("the input", Files.readString(input));
        assertEquals("the output", Files.readString(elsewhere.resolve("deep").resolve("v.npy")));
        // A link at the file name leads to its target, which is written, and the link stays a link.
        Path t = Files.writeString(elsewhere.resolve("target.npy"), "old");
        Path l = Files.createSymbolicLink(dir.resolve("l.npy"), t);
        try (AtomicOutput o = AtomicOutput.open(l)) {
            write(o, "new");
            o.commit();
        }
        assertTrue(Files.isSymbolicLink(l));
        assertEquals("new", Files.readString(t));
    }

    @Test
    void aReplacedFileKeepsItsMode() throws Exception {
        Path secret = Files.writeString(dir.resolve("secret.npy"), "old");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        try (AtomicOutput o = AtomicOutput.open(secret)) {
            write(o, "new");
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(o.temp())),
                    "the temporary copy is no more readable than the file");
            o.commit();
        }
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(secret)));
        Path shared = Files.writeString(dir.resolve("shared.ids"), "old");
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rw-rw-r--"));
        try (OutputSet set = new OutputSet()) {
            write(set.open(secret), "newer");
            write(set.open(shared), "newer");
            set.commit();
        }
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(secret)));
        assertEquals("rw-rw-r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(shared)));
        assertEquals("newer", Files.readString(shared));
    }

    @Test
    void longNamesWorkAndTooLongNamesAreNamed() throws Exception {
        String name = "v".repeat(240) + ".npy";
        try (OutputSet set = new OutputSet()) {
            write(set.open(dir.resolve(name)), "a");
            write(set.open(dir.resolve("é".repeat(120) + ".ids")), "b");
            set.commit();
        }
        assertEquals("a", Files.readString(dir.resolve(name)));
        long dead = deadPid();
        String stale = "." + TempFiles.stem(name) + "." + TempFiles.HOST + "-" + dead + "-1700000000000-1.part";
        assertTrue(stale.length() <= 255, stale);
        Files.writeString(dir.resolve(stale), "left by a crash");
        try (AtomicOutput o = AtomicOutput.open(dir.resolve(name))) {
            write(o, "c");
            o.commit();
        }
        assertFalse(Files.exists(dir.resolve(stale)), "a long name's stale temporary file is found by its stem");
        IOException e = assertThrows(IOException.class, () -> AtomicOutput.open(dir.resolve("x".repeat(256))));
        assertTrue(e.getMessage().contains("longer than 255 bytes"), e.getMessage());
    }

    @Test
    void writeErrorsNameTheOutput() throws Exception {
        Path full = Path.of("/dev/full");
        Assumptions.assumeTrue(Files.exists(full), "no /dev/full here");
        try (FileChannel ch = new NamedChannel(FileChannel.open(full, StandardOpenOption.WRITE), dir.resolve("out.npy"))) {
            IOException e = assertThrows(IOException.class, () -> {
                ByteBuffer b = ByteBuffer.allocate(1 << 16);
                while (true) {
                    b.clear();
                    ch.write(b);
                    ch.force(true);
                }
            });
            assertTrue(e.getMessage().contains("cannot write " + dir.resolve("out.npy")) && e.getMessage().contains("space"),
                    e.getMessage());
        }
    }
}
