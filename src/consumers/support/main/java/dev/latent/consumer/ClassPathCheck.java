package dev.latent.consumer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The run-time class path a user's project gets from its dependencies, for the consumer projects' tests: the build
 * writes it to a file (entries separated as on a class path) that the system property
 * {@code consumer.classPathFile} names. In a reactor build an artifact of this repository can appear as its classes
 * folder, which counts at its unpacked size, more than its jar.
 */
public final class ClassPathCheck {
    /** Names of test libraries that must never reach a user's run-time class path. */
    public static final List<String> TEST_LIBRARIES = List.of("junit", "opentest4j", "apiguardian", "hamcrest", "assertj",
            "mockito", "archunit", "testng");

    private ClassPathCheck() {
    }

    /** The entries of the file named by the system property {@code consumer.classPathFile}. */
    public static List<Path> entries() throws IOException {
        String file = System.getProperty("consumer.classPathFile");
        if (file == null || !Files.isRegularFile(Path.of(file))) {
            throw new IllegalStateException("no class path file: " + file + " (system property consumer.classPathFile)");
        }
        return java.util.Arrays.stream(Files.readString(Path.of(file)).strip().split(java.io.File.pathSeparator))
                .map(String::strip).filter(s -> !s.isEmpty())
                .map(Path::of).toList();
    }

    /** Bytes of a jar, or of every file under a class folder. */
    public static long bytes(Path entry) {
        try {
            if (Files.isRegularFile(entry)) {
                return Files.size(entry);
            }
            try (Stream<Path> files = Files.walk(entry)) {
                return files.filter(Files::isRegularFile).mapToLong(f -> {
                    try {
                        return Files.size(f);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }).sum();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One line per entry (size in MB and name), largest first, then the total. */
    public static String report(List<Path> entries) {
        StringBuilder sb = new StringBuilder();
        entries.stream().sorted((a, b) -> Long.compare(bytes(b), bytes(a))).forEach(e -> sb.append(
                String.format("%8.2f MB  %s%n", bytes(e) / 1e6, e.getFileName())));
        sb.append(String.format("%8.2f MB  total, %d entries%n", total(entries) / 1e6, entries.size()));
        return sb.toString();
    }

    /** Bytes of all the entries. */
    public static long total(List<Path> entries) {
        return entries.stream().mapToLong(ClassPathCheck::bytes).sum();
    }

    /** File names of the entries that are test libraries. */
    public static List<String> testLibraries(List<Path> entries) {
        return entries.stream().map(e -> e.getFileName().toString())
                .filter(n -> TEST_LIBRARIES.stream().anyMatch(t -> n.toLowerCase(java.util.Locale.ROOT).contains(t)))
                .toList();
    }
}
