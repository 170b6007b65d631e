package dev.latent.analyse.map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MapHtmlTest {
    static final String HOSTILE = "</script><img src=x onerror=alert(1)><!-- <script>";
    private static final String DATA_OPEN = "<script type=\"application/json\" id=\"map-data\">";

    @TempDir
    Path dir;

    @Test
    void isSelfContained() throws IOException {
        Path file = dir.resolve("map.html");
        MapHtml.create().write(SyntheticMap.blobs(2_000, 3), file);
        String html = Files.readString(file);
        assertFalse(html.contains("http://"), "no http:// reference");
        assertFalse(html.contains("https://"), "no https:// reference");
        assertFalse(Pattern.compile("<script[^>]*\\ssrc=", Pattern.CASE_INSENSITIVE).matcher(html).find(),
                "no external script");
        assertFalse(Pattern.compile("<link\\b|@import|url\\(", Pattern.CASE_INSENSITIVE).matcher(html).find(),
                "no stylesheet or font fetched");
        JsonNode data = data(html);
        assertEquals(2_000, data.get("x").size());
        assertEquals(2_000, data.get("t").size());
        assertEquals(5, data.get("segments").size());
        assertEquals("fish, shark, marine, reef, coral", data.get("segments").get(0).get("label").asText());
        for (JsonNode v : data.get("x")) {
            assertTrue(v.isInt() && v.asInt() >= 0 && v.asInt() <= MapHtml.GRID, "quantised coordinate: " + v);
        }
        assertEquals("", data.get("sampleNote").asText());
    }

    @Test
    void escapesHostileIdsTextsAndTitles() throws IOException {
        String[] ids = {"a\"b'c", HOSTILE, "naïve ☃ 😀 \u2028 end"};
        String[] texts = {HOSTILE, "x & y < z > w", null};
        MapData map = new MapData(new float[] {0, 1, 2}, new float[] {0, 1, 0}, ids, texts, new int[] {0, 0, -1},
                new boolean[] {false, true, false}, List.of(new MapData.Segment(HOSTILE, 2)), HOSTILE,
                "note </SCRIPT >");
        Path file = dir.resolve("hostile.html");
        MapHtml.create().write(map, file);
        String html = Files.readString(file, StandardCharsets.UTF_8);

        assertFalse(html.contains("<img"), "no markup from the data");
        assertFalse(html.toLowerCase().contains("</script >"), "no closing tag from the data");
        assertEquals(2, count(html.toLowerCase(), "</script>"), "only the page's own two script elements close");
        assertTrue(html.contains("<title>&lt;/script&gt;&lt;img"), "the title element is escaped");
        JsonNode data = data(html);
        assertEquals(HOSTILE, data.get("t").get(0).asText(), "texts survive the round trip unchanged");
        assertEquals("x & y < z > w", data.get("t").get(1).asText());
        assertTrue(data.get("t").get(2).isNull());
        assertEquals(ids[0], data.get("id").get(0).asText());
        assertEquals(ids[1], data.get("id").get(1).asText());
        assertEquals(ids[2], data.get("id").get(2).asText());
        assertEquals(HOSTILE, data.get("title").asText());
        assertEquals(HOSTILE, data.get("segments").get(0).get("label").asText());
        assertEquals(1, data.get("o").size());
    }

    @Test
    void samplesBeyondTheLimitAndSaysSo() throws IOException {
        MapData map = SyntheticMap.blobs(5_000, 4);
        Path file = dir.resolve("sampled.html");
        MapHtml.create().maxPoints(1_000).write(map, file);
        String html = Files.readString(file);
        JsonNode data = data(html);
        assertEquals(1_000, data.get("x").size());
        assertEquals(1_000, data.get("id").size());
        assertEquals(5_000, data.get("total").asInt());
        assertTrue(data.get("sampled").asBoolean());
        assertTrue(data.get("sampleNote").asText().startsWith("showing 1,000 of 5,000 points (random sample"),
                data.get("sampleNote").asText());
        assertEquals(map.outlierCount(), data.get("o").size(), "every outlier is kept");
        // The legend keeps the sizes of the whole map.
        assertEquals(map.segments().get(0).size(), data.get("segments").get(0).get("size").asLong());

        // The same seed gives the same page.
        Path again = dir.resolve("again.html");
        MapHtml.create().maxPoints(1_000).write(map, again);
        assertEquals(html, Files.readString(again));
    }

    @Test
    void cutsLongTexts() throws IOException {
        String text = "😀".repeat(1_000);
        MapData map = new MapData(new float[] {0}, new float[] {0}, new String[] {"a"}, new String[] {text}, null,
                null, null, null, null);
        Path file = dir.resolve("long.html");
        MapHtml.create().textChars(300).write(map, file);
        String t = data(Files.readString(file)).get("t").get(0).asText();
        assertEquals(300, t.codePointCount(0, t.length()));
        assertTrue(t.endsWith("…"));
        assertTrue(Character.isSurrogatePair(t.charAt(0), t.charAt(1)), "no pair split");
    }

    @Test
    void writesAtomically() throws IOException {
        Path file = dir.resolve("map.html");
        Files.writeString(file, "old");
        MapData map = SyntheticMap.blobs(20_000, 5);
        // An interrupt closes the channel at its first write: the write fails half-way, after the temporary
        // file exists.
        Thread.currentThread().interrupt();
        try {
            assertThrows(IOException.class, () -> MapHtml.create().write(map, file));
        } finally {
            Thread.interrupted();
        }
        assertEquals("old", Files.readString(file), "a failed write leaves the old file");
        assertEquals(List.of(file), listing(), "and no temporary file");

        MapHtml.create().write(map, file);
        String html = Files.readString(file);
        assertTrue(html.startsWith("<!DOCTYPE html>") && html.stripTrailing().endsWith("</html>"), "complete");
        assertEquals(List.of(file), listing(), "no temporary file after a commit");
    }

    @Test
    void writesTheSamePageToAStreamAndLeavesItOpen() throws IOException {
        MapData map = SyntheticMap.blobs(1_000, 6);
        Path file = dir.resolve("map.html");
        MapHtml.create().write(map, file);
        boolean[] closed = {false};
        ByteArrayOutputStream bytes = new ByteArrayOutputStream() {
            @Override
            public void close() {
                closed[0] = true;
            }
        };
        MapHtml.create().write(map, bytes);
        assertEquals(Files.readString(file), bytes.toString(StandardCharsets.UTF_8));
        assertFalse(closed[0], "the caller's stream stays open");
    }

    private List<Path> listing() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.toList();
        }
    }

    /** The JSON the page embeds. */
    static JsonNode data(String html) throws IOException {
        int start = html.indexOf(DATA_OPEN);
        assertTrue(start >= 0, "data element present");
        start += DATA_OPEN.length();
        int end = html.indexOf("</script>", start);
        return new ObjectMapper().readTree(html.substring(start, end));
    }

    private static int count(String s, String part) {
        Matcher m = Pattern.compile(Pattern.quote(part)).matcher(s);
        int c = 0;
        while (m.find()) {
            c++;
        }
        return c;
    }
}
