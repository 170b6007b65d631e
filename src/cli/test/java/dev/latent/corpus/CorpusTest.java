package dev.latent.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusTest {
    @TempDir
    Path dir;

    private List<Corpus.Entry> all(Corpus c) throws IOException {
        List<Corpus.Entry> out = new ArrayList<>();
        try (Corpus.Reader r = c.open()) {
            for (Corpus.Entry e; (e = r.next()) != null; ) {
                out.add(e);
            }
        }
        return out;
    }

    private Path write(String name, String content) throws IOException {
        return Files.write(dir.resolve(name), content.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void csvFollowsRfc4180QuotingIncludingLineBreaksInsideQuotes() throws IOException {
        Path f = write("c.csv", "\uFEFFlang,body,key\r\n"
                + "en,plain text,k1\r\n"
                + "en,\"a, comma\",k2\n"
                + "\n"
                + "fr,\"she said \"\"hi\"\"\",k3\n"
                + "en,\"two\nlines\",k4\n"
                + "en,last,\"k5\"");
        List<Corpus.Entry> e = all(Corpus.file(f, "auto", "body", "key"));
        assertEquals(List.of("plain text", "a, comma", "she said \"hi\"", "two\nlines", "last"),
                e.stream().map(Corpus.Entry::text).toList());
        assertEquals(List.of("k1", "k2", "k3", "k4", "k5"), e.stream().map(Corpus.Entry::id).toList());
        assertEquals(List.of(2L, 3L, 5L, 6L, 8L), e.stream().map(Corpus.Entry::line).toList());
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L), e.stream().map(Corpus.Entry::position).toList());

        // A pass from a record's offset (what --resume does) still knows the columns and counts lines.
        Corpus c = Corpus.file(f, "csv", "body", "key");
        Corpus.Entry third = e.get(2);
        try (Corpus.Reader r = c.openAt(third.offset(), third.line() - 1, third.position())) {
            Corpus.Entry again = r.next();
            assertEquals(third, again);
            assertEquals(e.get(3), r.next());
        }
    }

    @Test
    void withoutAnIdColumnRowsAreNumbered() throws IOException {
        Path f = write("c.csv", "text\nalpha\n\"beta\"\n");
        List<Corpus.Entry> e = all(Corpus.file(f, "auto"));
        assertEquals(List.of("0", "1"), e.stream().map(Corpus.Entry::id).toList());
    }

    @Test
    void badCsvIsNamedWithItsLine() throws IOException {
        String[][] cases = {
            {"id,text\n1,ok\n2,too,many\n", ":3: 3 fields where the header has 2 (a ragged row)"},
            {"id,text\n1,ok\n2\n", ":3: 1 field where the header has 2 (a ragged row)"},
            {"id,body\n1,ok\n", ":1: the CSV header has no column 'text' (columns: id, body)"},
            {"id,text\n1,\"never closed\n2,x\n", ":2: a quoted field is not closed before the end of the file"},
            {"id,text\n1,\"quoted\"tail\n", ":2: text after a closing quote in field 2"},
            {"id,text\n1,  \n", ":2: empty text in column 'text'"},
            {"id,text\n,x\n", ":2: empty \"id\""},
        };
        for (String[] c : cases) {
            Path f = write("bad.csv", c[0]);
            IOException ex = assertThrows(IOException.class, () -> all(Corpus.file(f, "auto")), c[0]);
            assertTrue(ex.getMessage().startsWith(f + c[1]), ex.getMessage());
        }
    }

    @Test
    void jsonlFieldsCanBeChosen() throws IOException {
        Path f = write("c.jsonl", "{\"doc\": 7, \"body\": \"hello\", \"text\": \"not this\"}\n{\"body\": \"world\"}\n");
        List<Corpus.Entry> e = all(Corpus.file(f, "auto", "body", "doc"));
        assertEquals(List.of("hello", "world"), e.stream().map(Corpus.Entry::text).toList());
        assertEquals(List.of("7", "1"), e.stream().map(Corpus.Entry::id).toList());
        assertNull(all(Corpus.file(write("e.csv", "text\n"), "auto")).stream().findFirst().orElse(null));
    }
}
