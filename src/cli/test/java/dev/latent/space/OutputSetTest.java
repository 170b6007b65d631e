package dev.latent.space;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Outputs commit together: all new or all old, after a failure between two renames, after a process
 * killed mid-commit (rolled back by the next run), with no temporary file left, with the umask's
 * permissions; stale temporary files of dead processes are removed, live ones are not.
 */
class OutputSetTest {
    @TempDir
    Path dir;

    private void put(String name, String text) throws IOException {
        Files.writeString(dir.resolve(name), text);
    }

    private String get(String name) throws IOException {
        return Files.readString(dir.resolve(name));
    }

    private Set<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
    }

    private static void write(AtomicOutput o, String text) throws IOException {
        o.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void allOutputsAppearTogether() throws Exception {
        put("a", "old a");
        put("b", "old b");
        try (OutputSet set = new OutputSet()) {
            write(set.open(dir.resolve("a")), "new a");
            write(set.open(dir.resolve("b")), "new b");
            write(set.open(dir.resolve("c")), "new c");
            assertEquals("old a", get("a"), "nothing is replaced before the commit");
            set.commit();
        }
        assertEquals("new a", get("a"));
        assertEquals("new b", get("b"));
        assertEquals("new c", get("c"));
        assertEquals(Set.of("a", "b", "c"), names(), "no temporary file, backup or journal left");
    }

    @Test
    void aFailureBetweenTwoRenamesRestoresEveryOldFile() throws Exception {
        put("a", "old a");
        put("c", "old c");
        AtomicInteger moves = new AtomicInteger();
        OutputSet set = new OutputSet((from, to) -> {
            if (moves.incrementAndGet() == 3) {
                throw new IOException("disk full (injected)");
            }
            OutputSet.move(from, to);
        });
        try (set) {
            write(set.open(dir.resolve("a")), "new a");
            write(set.open(dir.resolve("b")), "new b");   // did not exist before
            write(set.open(dir.resolve("c")), "new c");
            IOException e = assertThrows(IOException.class, set::commit);
            assertTrue(e.getMessage().contains("disk full (injected)") && e.getMessage().contains("nothing was changed"),
                    e.getMessage());
        }
        assertEquals("old a", get("a"));
        assertEquals("old c", get("c"));
        assertEquals(Set.of("a", "c"), names(), "the new b is gone and no temporary file is left");
    }

    @Test
    void anUncommittedSetLeavesNothing() throws Exception {
        put("a", "old a");
        try (OutputSet set = new OutputSet()) {
            write(set.open(dir.resolve("a")), "new a");
            write(set.open(dir.resolve("b")), "new b");
            assertThrows(IllegalArgumentException.class, () -> set.open(dir.resolve("b")));
        }
        assertEquals("old a", get("a"));
        assertEquals(Set.of("a"), names());
    }

    @Test
    void aProcessKilledMidCommitIsRolledBackByTheNextRun() throws Exception {
        put("a", "old a");
        put("b", "old b");
        // Targets in commit order: n (new, no previous file), a, b. The child dies after the first rename.
        OutputSetCrashProbe.crashAfterFirstRename(dir.resolve("n"), dir.resolve("a"), dir.resolve("b"));
        Set<String> left = names();
        assertTrue(left.contains("n") && left.stream().anyMatch(f -> f.endsWith(".journal")),
                "the crash left the half-done commit: " + left);
        assertEquals("new n", get("n"));

        // The next run writing into the directory proves the writer gone and rolls the commit back.
        try (AtomicOutput next = AtomicOutput.open(dir.resolve("other"))) {
            assertEquals("old a", get("a"));
            assertEquals("old b", get("b"));
            assertFalse(Files.exists(dir.resolve("n")), "a file the interrupted commit created is removed");
        }
        assertEquals(Set.of("a", "b"), names(), "journal, backups and temporary files are gone");
    }

    @Test
    void staleTemporaryFilesOfDeadProcessesAreRemovedLiveOnesKept() throws Exception {
        long dead = deadPid();
        String host = TempFiles.HOST;
        String stale = ".x.npy." + host + "-" + dead + "-1700000000000-abc.part";
        String staleBackup = ".x.npy." + host + "-" + dead + "-1700000000000-abd.bak";
        long self = ProcessHandle.current().pid();
        long start = ProcessHandle.current().info().startInstant().orElseThrow().toEpochMilli();
        String live = ".x.npy." + host + "-" + self + "-" + start + "-abe.part";
        String foreign = ".x.npy.not-a-token.part";
        // Another host's file: its pid means nothing here, so it is never judged stale.
        String otherHost = ".x.npy." + (host.equals("00000000") ? "00000001" : "00000000") + "-" + dead + "-1700000000000-abf.part";
        // A token without a host (an older writer): cannot be proved this host's.
        String noHost = ".x.npy." + dead + "-1700000000000-ab0.part";
        for (String f : List.of(stale, staleBackup, live, foreign, otherHost, noHost)) {
            put(f, "partial");
        }
        try (AtomicOutput o = AtomicOutput.open(dir.resolve("x.npy"))) {
            write(o, "data");
            o.commit();
        }
        assertEquals(Set.of("x.npy", live, foreign, otherHost, noHost), names());
        assertTrue(TempFiles.isStale(host + "-" + dead + "-1700000000000-0"));
        assertFalse(TempFiles.isStale(host + "-" + self + "-" + start + "-0"));
        assertTrue(TempFiles.isStale(host + "-" + self + "-" + (start - 86_400_000L) + "-0"), "a reused pid with another start time");
    }

    @Test
    void outputsGetTheUmaskPermissionsOfANewFile() throws Exception {
        Path plain = Files.createFile(dir.resolve("plain"));
        Set<PosixFilePermission> expected = Files.getPosixFilePermissions(plain);
        try (AtomicOutput o = AtomicOutput.open(dir.resolve("out"))) {
            write(o, "x");
            o.commit();
        }
        assertEquals(expected, Files.getPosixFilePermissions(dir.resolve("out")));
        try (OutputSet set = new OutputSet()) {
            write(set.open(dir.resolve("m1")), "1");
            write(set.open(dir.resolve("m2")), "2");
            set.commit();
        }
        assertEquals(expected, Files.getPosixFilePermissions(dir.resolve("m2")));
    }

    private static long deadPid() {
        for (long pid = 4_000_000; pid > 1000; pid -= 7919) {
            if (ProcessHandle.of(pid).isEmpty()) {
                return pid;
            }
        }
        throw new IllegalStateException("no free pid found");
    }
}
