package dev.latent.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.latent.cli.MainTest.Result;
import dev.latent.core.FloatMatrix;
import dev.latent.index.FlatIndex;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** embed → search → demo with the default (int8) model on small corpora. */
class EmbedSearchTest {
    @TempDir
    Path dir;

    static final String[] TEXTS = {
        "The cat sat on the mat and purred.",
        "Stock markets fell sharply after the interest rate decision.",
        "A recipe for sourdough bread needs flour, water, salt and a starter.",
        "The goalkeeper saved a penalty in the final minute of the match.",
        "Photosynthesis turns light, water and carbon dioxide into sugar.",
        "The spacecraft entered orbit around Mars after a seven-month journey.",
        "Violins, violas and cellos make up most of a string quartet.",
        "Heavy rain caused flooding in the river valley overnight.",
        "The new phone has a faster processor and a brighter screen.",
        "Ancient Rome was founded, according to legend, by Romulus and Remus.",
        "Regular exercise lowers the risk of heart disease.",
        "The museum opened an exhibition of impressionist paintings.",
    };

    @BeforeAll
    static void needsTheEncoder() {
        boolean present = EmbedSearchTest.class.getClassLoader().getResource("dev/latent/encode/models/models.json") != null;
        org.junit.jupiter.api.Assumptions.assumeTrue(present, "the model manifest is not on the class path");
    }

    private Path jsonl(String name, boolean numericIds) throws Exception {
        ObjectMapper json = new ObjectMapper();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < TEXTS.length; i++) {
            var o = json.createObjectNode();
            if (numericIds) {
                o.put("id", 1000 + i);
            } else {
                o.put("id", "doc-" + i);
            }
            o.put("text", TEXTS[i]);
            sb.append(json.writeValueAsString(o)).append('\n');
        }
        Path p = dir.resolve(name);
        Files.writeString(p, sb);
        return p;
    }

    @Test
    void payloadFieldsAreStoredAndFilterTheSearch() throws Exception {
        ObjectMapper json = new ObjectMapper();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < TEXTS.length; i++) {
            var o = json.createObjectNode();
            o.put("id", "doc-" + i);
            o.put("text", TEXTS[i]);
            o.put("lang", i % 3 == 0 ? "en" : "de");
            o.put("year", 2000 + i);
            o.putArray("tags").add(i % 2 == 0 ? "even" : "odd").add("all");
            o.putNull("note");
            sb.append(json.writeValueAsString(o)).append('\n');
        }
        Path corpus = dir.resolve("p.jsonl");
        Files.writeString(corpus, sb);
        Path idx = dir.resolve("p.lidx");
        Result r = MainTest.run("embed", corpus.toString(), "--index", idx.toString(), "--payload", "lang,year,tags,note",
                "--quiet");
        assertEquals(0, r.code(), r.err());
        r = MainTest.run("search", idx.toString(), "--query", TEXTS[3], "-k", "12", "--filter",
                "lang = \"en\" and year >= 2003", "--fields", "year,tags", "--format", "jsonl", "--quiet");
        assertEquals(0, r.code(), r.err());
        List<JsonNode> hits = new ArrayList<>();
        for (String line : r.out().split("\n")) {
            hits.add(json.readTree(line));
        }
        assertEquals(3, hits.size(), r.out());   // doc-3, doc-6, doc-9
        assertEquals("doc-3", hits.get(0).get("key").asText());
        assertEquals(TEXTS[3], hits.get(0).get("text").asText());
        assertEquals(2003, hits.get(0).get("year").asInt());
        assertEquals("odd", hits.get(0).get("tags").get(0).asText());
        for (JsonNode h : hits) {
            int i = Integer.parseInt(h.get("key").asText().substring(4));
            assertTrue(i % 3 == 0 && i >= 3, h.toString());
        }
        r = MainTest.run("search", idx.toString(), "--query", "x", "--filter", "tags = \"none\"", "--quiet");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("the filter matches no vector"), r.err());
        r = MainTest.run("search", idx.toString(), "--query", "x", "--filter", "colour = \"red\"", "--quiet");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("no record has the field 'colour' (fields: lang, tags, year)"), r.err());
        r = MainTest.run("search", idx.toString(), "--query", "x", "--filter", "year >= ", "--quiet");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("expected a value for 'year' at the end"), r.err());

        // CSV: every column but the text and the id; numbers where the cell reads as one
        Path csv = dir.resolve("p.csv");
        StringBuilder c = new StringBuilder("id,text,lang,score\n");
        for (int i = 0; i < 4; i++) {
            c.append("row-").append(i).append(",\"").append(TEXTS[i].replace("\"", "\"\"")).append("\",")
                    .append(i == 2 ? "" : "en").append(',').append(i / 2.0).append('\n');
        }
        Files.writeString(csv, c);
        Path cidx = dir.resolve("csv.lidx");
        r = MainTest.run("embed", csv.toString(), "--index", cidx.toString(), "--payload", "*", "--quiet");
        assertEquals(0, r.code(), r.err());
        try (FlatIndex index = FlatIndex.load(cidx)) {
            assertEquals(java.util.Map.of("lang", "en", "score", 0.5), index.record(1).payload());
            assertEquals(java.util.Map.of("score", 1.0), index.record(2).payload(), "an empty cell is left out");
        }
        r = MainTest.run("embed", csv.toString(), "--index", cidx.toString(), "--payload", "colour", "--quiet");
        assertEquals(1, r.code(), r.err());   // an input error, as a missing text column is
        assertTrue(r.err().contains("no payload column 'colour'"), r.err());

        // a corpus whose ids repeat cannot be embedded into an index with records: nothing is written
        Path dup = dir.resolve("dup.jsonl");
        Files.writeString(dup, "{\"id\": \"a\", \"text\": \"one\"}\n{\"id\": \"a\", \"text\": \"two\"}\n");
        Path didx = dir.resolve("dup.lidx");
        r = MainTest.run("embed", dup.toString(), "--index", didx.toString(), "--quiet");
        assertTrue(r.code() != 0, r.out());
        assertTrue(r.err().contains("duplicate key 'a'"), r.err());
        assertTrue(Files.notExists(didx));
        // --upsert: the later text replaces the earlier, in one block and across blocks
        Files.writeString(dup, "{\"id\": \"a\", \"text\": \"one\"}\n{\"id\": \"b\", \"text\": \"bee\"}\n"
                + "{\"id\": \"a\", \"text\": \"two\"}\n{\"id\": \"a\", \"text\": \"three\"}\n");
        for (String block : new String[] {"4", "1"}) {
            r = MainTest.run("embed", dup.toString(), "--index", didx.toString(), "--upsert", "--block", block, "--quiet");
            assertEquals(0, r.code(), r.err());
            try (FlatIndex index = FlatIndex.load(didx)) {
                assertEquals(2, index.size(), "block " + block);
                long a = index.idOfKey("a").getAsLong();
                assertEquals("three", index.record(a).text(), "block " + block);
                assertEquals(3, a, "the last one's row number is its id");
                assertEquals("bee", index.record(index.idOfKey("b").getAsLong()).text());
            }
        }
    }

    @Test
    void embedThenSearchFindsEachTextItself() throws Exception {
        Path corpus = jsonl("c.jsonl", false);
        Path npy = dir.resolve("v.npy");
        Path idx = dir.resolve("c.lidx");
        Result r = MainTest.run("embed", corpus.toString(), "-o", npy.toString(), "--index", idx.toString(), "--block", "5", "--quiet");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("embedded 12 texts, "), r.out());
        assertTrue(r.out().contains("texts/s"), r.out());
        List<String> ids = Files.readAllLines(dir.resolve("v.ids"));
        assertEquals(12, ids.size());
        assertEquals("doc-7", ids.get(7));
        try (FloatMatrix v = Npy.read(npy); FlatIndex index = FlatIndex.load(idx)) {
            assertEquals(12, v.rows());
            assertEquals(index.dimension(), v.cols());
            assertEquals("all-minilm-l6-v2-q", index.metadata().get("model"));
            assertArrayEquals(v.getRow(7), index.vector(7), "index ids are row positions for string corpus ids");
        }

        Path res = dir.resolve("r.jsonl");
        List<String> args = new ArrayList<>(List.of("search", idx.toString(), "-k", "3", "--corpus", corpus.toString(),
                "--format", "jsonl", "-o", res.toString(), "--quiet"));
        for (String t : TEXTS) {
            args.add("--query");
            args.add(t);
        }
        r = MainTest.run(args.toArray(new String[0]));
        assertEquals(0, r.code(), r.err());
        ObjectMapper json = new ObjectMapper();
        List<String> lines = Files.readAllLines(res);
        assertEquals(3 * TEXTS.length, lines.size());
        for (int q = 0; q < TEXTS.length; q++) {
            JsonNode top = json.readTree(lines.get(3 * q));
            assertEquals(TEXTS[q], top.get("query").asText());
            assertEquals(1, top.get("rank").asInt());
            assertEquals("doc-" + q, top.get("key").asText(), "query " + q);
            assertEquals(TEXTS[q], top.get("text").asText());
            assertTrue(top.get("score").asDouble() > 0.99, top.toString());
        }

        // A paraphrase finds the right text.
        r = MainTest.run("search", idx.toString(), "--query", "Which planet did the probe reach?", "-k", "1",
                "--corpus", corpus.toString(), "--quiet");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().split("\n")[1].contains("doc-5"), r.out());
    }

    @Test
    void numericCorpusIdsBecomeIndexIds() throws Exception {
        Path corpus = jsonl("n.jsonl", true);
        Path idx = dir.resolve("n.lidx");
        Result r = MainTest.run("embed", corpus.toString(), "--index", idx.toString(), "--quiet");
        assertEquals(0, r.code(), r.err());
        try (FlatIndex index = FlatIndex.load(idx)) {
            assertTrue(index.contains(1000) && index.contains(1011));
        }
        r = MainTest.run("search", idx.toString(), "--query", TEXTS[4], "-k", "1", "--quiet");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().split("\n")[1].startsWith(TEXTS[4] + "\t1\t1004\t"), r.out());
    }

    @Test
    void aBadOutputIsFoundBeforeAnyWork() throws Exception {
        Path corpus = jsonl("f.jsonl", false);
        Path npy = dir.resolve("v.npy");
        // The index "file" is a directory: a usage error, found before the model loads.
        Path badIndex = Files.createDirectory(dir.resolve("taken.lidx"));
        Result r = MainTest.run("embed", corpus.toString(), "-o", npy.toString(), "--index", badIndex.toString(), "--quiet");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("error: ") && r.err().contains("taken.lidx is a directory"), r.err());
        try (var s = Files.list(dir)) {
            assertEquals(java.util.Set.of(corpus, badIndex), s.collect(java.util.stream.Collectors.toSet()),
                    "no .npy, no ids file, no temporary files");
        }
        // A missing output directory is a usage error, reported before any encoding.
        r = MainTest.run("embed", corpus.toString(), "-o", dir.resolve("nowhere").resolve("v.npy").toString(), "--quiet");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("does not exist"), r.err());
    }

    @Test
    void demoRuns() throws IOException {
        String map = dir.resolve("demo-map").toString();
        Result r = MainTest.run("demo", "--limit", "200", "-k", "3", "--quiet", "--map", map);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("query: " + DemoCommand.DEFAULT_QUERY), r.out());
        assertTrue(r.out().contains("embedded 200 texts"), r.out());
        assertTrue(r.out().contains("  1  0."), r.out());
        assertTrue(r.out().contains("map: 200 points, 12 segments"), r.out());
        assertTrue(r.out().contains(map + ".html"), r.out());
        java.awt.image.BufferedImage png = javax.imageio.ImageIO.read(Path.of(map + ".png").toFile());
        assertTrue(png.getWidth() > 100, "the map PNG decodes");
        String html = Files.readString(Path.of(map + ".html"));
        assertTrue(html.contains("Map of 200 WordNet glosses"), "the page has its title");
    }

    /** The index and the map commit together: a map that cannot be written leaves the old index in place. */
    @Test
    void demoOutputsCommitTogether() throws IOException {
        Path idx = dir.resolve("demo.lidx");
        Files.writeString(idx, "an older file");
        Result r = MainTest.run("demo", "--limit", "50", "-k", "1", "--quiet", "--segments", "3", "--index", idx.toString(),
                "--map", dir.resolve("missing-dir").resolve("m").toString());
        assertTrue(r.code() != 0, r.out());
        assertEquals("an older file", Files.readString(idx), "a failed run changes nothing");
        Result one = MainTest.run("demo", "--limit", "1", "-k", "1", "--quiet", "--index", idx.toString(),
                "--map", dir.resolve("one").toString());
        assertEquals(0, one.code(), one.err());
        assertTrue(one.out().contains("map: skipped"), one.out());
        assertTrue(Files.size(idx) > 100, "the index was written");
        assertTrue(!Files.exists(dir.resolve("one.png")));
    }

    @Test
    void modelsListsTheDefault() {
        Result r = MainTest.run("models");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("all-minilm-l6-v2-q"), r.out());
        assertTrue(r.out().contains("(default)"), r.out());
    }
}
