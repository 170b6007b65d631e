package dev.latent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code embed} reads a CSV corpus by the columns named on its command line (the reader: corpus.CorpusTest). */
class CorpusOptionsTest {
    @TempDir
    Path dir;

    private Path write(String name, String content) throws IOException {
        return Files.write(dir.resolve(name), content.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void embedReadsTheChosenCsvColumns() throws IOException {
        Path f = write("docs.csv", "key,body\nd1,\"a dog, barking\"\nd2,the stock market fell\n");
        Path npy = dir.resolve("v.npy");
        MainTest.Result r = MainTest.run("embed", f.toString(), "--text-column", "body", "--id-column", "key",
                "-o", npy.toString(), "--quiet");
        assertEquals(0, r.code(), r.err());
        assertEquals(List.of("d1", "d2"), Files.readAllLines(dir.resolve("v.ids")));
        MainTest.Result bad = MainTest.run("embed", f.toString(), "-o", dir.resolve("w.npy").toString(), "--quiet");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("the CSV header has no column 'text' (columns: key, body)"), bad.err());
    }
}
