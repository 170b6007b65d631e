package dev.latent.space;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Run in a child JVM by {@link OutputSetTest}: commits new contents for the files named in its
 * arguments and kills its own JVM (Runtime.halt, as abrupt as kill -9 for the files) right after the
 * first rename, leaving a half-done commit for the next run to roll back.
 */
public final class OutputSetCrashProbe {
    private OutputSetCrashProbe() {
    }

    /**
     * Runs the probe in a child JVM on {@code targets} (in commit order) and waits for it to kill itself (exit
     * code 3) after the first rename; fails the calling test otherwise.
     */
    static void crashAfterFirstRename(Path... targets) throws Exception {
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), OutputSetCrashProbe.class.getName()));
        for (Path t : targets) {
            cmd.add(t.toString());
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 3) {
            p.destroyForcibly();
            throw new AssertionError("the crash probe did not die mid-commit: " + out);
        }
    }

    public static void main(String[] args) throws Exception {
        AtomicInteger moves = new AtomicInteger();
        OutputSet set = new OutputSet((from, to) -> {
            if (moves.getAndIncrement() == 1) {
                Runtime.getRuntime().halt(3);
            }
            OutputSet.move(from, to);
        });
        for (String a : args) {
            AtomicOutput o = set.open(Path.of(a));
            o.write(java.nio.ByteBuffer.wrap(("new " + Path.of(a).getFileName()).getBytes(StandardCharsets.UTF_8)));
        }
        set.commit();
        System.exit(0);   // not reached
    }
}
