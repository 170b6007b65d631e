package dev.latent.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.engine.Engine;
import dev.latent.index.FlatIndex;
import dev.latent.index.VectorIndex;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writes over HTTP and their log: upsert (with vectors or texts), delete, save; a log replayed onto the file it
 * belongs to, a torn last entry cut off, a corrupt or foreign log refused and left as it is.
 */
class IndexWritesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int D = HttpEndpointTest.D;

    @TempDir
    Path dir;

    private final HttpClient client = HttpClient.newHttpClient();

    private Path emptyIndex() throws IOException {
        Path file = dir.resolve("i.lidx");
        try (FlatIndex index = new FlatIndex(D, Metric.COSINE)) {
            index.add(0, HttpEndpointTest.fake("seed"));
            index.save(file);
        }
        return file;
    }

    private static Engine engine(VectorIndex index) {
        Engine.Encoder enc = (texts, queries) -> {
            float[] flat = new float[texts.size() * D];
            for (int i = 0; i < texts.size(); i++) {
                System.arraycopy(HttpEndpointTest.fake(texts.get(i)), 0, flat, i * D, D);
            }
            return FloatMatrix.of(flat, D);
        };
        return Engine.builder().encoder(enc).index(index).build();
    }

    private HttpResponse<String> post(HttpEndpoint http, String path, String body) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + path))
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String vector(float[] v) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < v.length; i++) {
            b.append(i == 0 ? "" : ",").append(v[i]);
        }
        return b.append(']').toString();
    }

    @Test
    void writesOverHttpAreLoggedReplayedAndSaved() throws Exception {
        Path file = emptyIndex();
        try (FlatIndex index = FlatIndex.load(file); IndexWrites writes = IndexWrites.open(index, file);
             Engine engine = engine(index);
             HttpEndpoint http = HttpEndpoint.start(engine, new InetSocketAddress("127.0.0.1", 0),
                     HttpEndpoint.Options.defaults(), writes)) {
            HttpResponse<String> r = post(http, "/v1/upsert", "{\"records\": ["
                    + "{\"key\": \"whale\", \"text\": \"a whale\", \"payload\": {\"kind\": \"animal\"}},"
                    + "{\"key\": \"v\", \"vector\": " + vector(HttpEndpointTest.fake("engine")) + "}]}");
            assertEquals(200, r.statusCode(), r.body());
            JsonNode j = JSON.readTree(r.body());
            assertEquals(1, j.get("sequence").asLong());
            long whale = j.get("ids").get(0).asLong();
            assertArrayEquals(HttpEndpointTest.fake("a whale"), index.vector(whale), "a record without a vector is embedded");
            r = post(http, "/v1/search", "{\"text\": \"a whale\", \"k\": 1, \"filter\": {\"kind\": \"animal\"}}");
            assertEquals("whale", JSON.readTree(r.body()).get("results").get(0).get("key").asText(), r.body());
            // the same key again replaces it, under its id
            r = post(http, "/v1/upsert", "{\"records\": [{\"key\": \"whale\", \"text\": \"a blue whale\"}]}");
            assertEquals(whale, JSON.readTree(r.body()).get("ids").get(0).asLong());
            assertEquals("a blue whale", index.record(whale).text());
            r = post(http, "/v1/delete", "{\"keys\": [\"v\", \"nobody\"]}");
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(1, JSON.readTree(r.body()).get("deleted").asInt());
            assertEquals("nobody", JSON.readTree(r.body()).get("missing").get(0).asText());
            // refused whole, nothing logged: a bad vector, a repeated key, a bad payload
            for (String bad : new String[] {
                "{\"records\": [{\"key\": \"z\", \"vector\": [1, 2]}]}",
                "{\"records\": [{\"key\": \"a\", \"text\": \"x\"}, {\"key\": \"a\", \"text\": \"y\"}]}",
                "{\"records\": [{\"key\": \"a\", \"text\": \"x\", \"payload\": {\"n\": {\"deep\": 1}}}]}",
                "{\"records\": [{\"key\": \"a\\u0007\", \"text\": \"x\"}]}"}) {
                r = post(http, "/v1/upsert", bad);
                assertEquals(400, r.statusCode(), bad + " -> " + r.body());
            }
            assertEquals(3, writes.sequence(), "refused writes are not logged");
        }
        // no save: the file still holds only the seed; the log brings the writes back
        try (FlatIndex index = FlatIndex.load(file)) {
            assertEquals(1, index.size());
            try (IndexWrites writes = IndexWrites.open(index, file)) {
                assertEquals(3, writes.replayed());
                assertEquals(2, index.size());
                long whale = index.idOfKey("whale").getAsLong();
                assertEquals("a blue whale", index.record(whale).text());
                assertTrue(index.idOfKey("v").isEmpty());
                try (Engine engine = engine(index);
                     HttpEndpoint http = HttpEndpoint.start(engine, new InetSocketAddress("127.0.0.1", 0),
                             HttpEndpoint.Options.defaults(), writes)) {
                    HttpResponse<String> r = post(http, "/v1/save", "{}");
                    assertEquals(200, r.statusCode(), r.body());
                    assertEquals(2, JSON.readTree(r.body()).get("vectors").asLong());
                    r = post(http, "/v1/upsert", "{\"records\": [{\"key\": \"after\", \"text\": \"after the save\"}]}");
                    assertEquals(4, JSON.readTree(r.body()).get("sequence").asLong());
                }
            }
        }
        try (FlatIndex index = FlatIndex.load(file)) {
            assertEquals(2, index.size(), "the saved file");
            assertEquals("3", index.metadata().get(IndexWrites.LOG_SEQUENCE));
            try (IndexWrites writes = IndexWrites.open(index, file)) {
                assertEquals(1, writes.replayed(), "only the write after the save");
                assertTrue(index.idOfKey("after").isPresent());
            }
        }
    }

    @Test
    void aCrashBetweenASaveAndTheLogsRestartReplaysOnlyWhatTheFileLacks() throws Exception {
        Path file = emptyIndex();
        Path log = WriteLog.beside(file);
        byte[] before;
        try (FlatIndex index = FlatIndex.load(file); IndexWrites writes = IndexWrites.open(index, file)) {
            writes.append("{\"op\": \"delete\", \"ids\": [0]}");
            IndexWrites.apply(index, JSON.readTree("{\"op\": \"delete\", \"ids\": [0]}"));
            before = Files.readAllBytes(log);   // the log as the save found it
            writes.save();
        }
        Files.write(log, before);   // as if the process died after the file was saved, before the log restarted
        try (FlatIndex index = FlatIndex.load(file); IndexWrites writes = IndexWrites.open(index, file)) {
            assertEquals(0, writes.replayed(), "the saved file holds entry 1 already");
            assertEquals(0, index.size());
            assertEquals(1, writes.sequence());
        }
    }

    @Test
    void aReadOnlyServerRefusesWrites() throws Exception {
        Path file = emptyIndex();
        try (FlatIndex index = FlatIndex.load(file); Engine engine = engine(index);
             HttpEndpoint http = HttpEndpoint.start(engine, new InetSocketAddress("127.0.0.1", 0),
                     HttpEndpoint.Options.defaults())) {
            HttpResponse<String> r = post(http, "/v1/upsert", "{\"records\": [{\"key\": \"a\", \"text\": \"x\"}]}");
            assertEquals(403, r.statusCode());
            assertTrue(r.body().contains("--writable"), r.body());
        }
        assertFalse(Files.exists(WriteLog.beside(file)));
    }

    @Test
    void aTornLastEntryIsCutAndACorruptOrForeignLogIsRefusedAndKept() throws Exception {
        Path file = emptyIndex();
        try (FlatIndex index = FlatIndex.load(file); IndexWrites writes = IndexWrites.open(index, file)) {
            writes.append("{\"op\": \"delete\", \"ids\": [0]}");
            writes.append("{\"op\": \"delete\", \"ids\": [12345]}");
        }
        Path log = WriteLog.beside(file);
        byte[] good = Files.readAllBytes(log);
        // a crash in the middle of a third write: half an entry at the end
        try (FileChannel ch = FileChannel.open(log, StandardOpenOption.APPEND)) {
            ch.write(ByteBuffer.wrap(new byte[] {3, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 1, 2}));
        }
        try (FlatIndex index = FlatIndex.load(file); IndexWrites writes = IndexWrites.open(index, file)) {
            assertEquals(2, writes.replayed());
            assertEquals(0, index.size(), "id 0 deleted by the replay");
        }
        assertArrayEquals(good, Files.readAllBytes(log), "the torn tail is cut, the rest kept");
        // a complete entry whose checksum fails: corruption, refused, the log left as it is
        byte[] corrupt = good.clone();
        corrupt[corrupt.length - 3] ^= 1;
        Files.write(log, corrupt);
        try (FlatIndex index = FlatIndex.load(file)) {
            IOException e = assertThrows(IOException.class, () -> IndexWrites.open(index, file));
            assertTrue(e.getMessage().contains("corrupt write log entry"), e.getMessage());
        }
        assertArrayEquals(corrupt, Files.readAllBytes(log));
        // a log of another index (another id, another base): refused and kept
        Path other = dir.resolve("other.lidx");
        try (FlatIndex index = new FlatIndex(D, Metric.COSINE)) {
            index.add(7, HttpEndpointTest.fake("other"));
            index.save(other);
        }
        Files.copy(log, WriteLog.beside(other));
        try (FlatIndex index = FlatIndex.load(other)) {
            IOException e = assertThrows(IOException.class, () -> IndexWrites.open(index, other));
            assertTrue(e.getMessage().contains("belongs to another index"), e.getMessage());
        }
        assertArrayEquals(corrupt, Files.readAllBytes(WriteLog.beside(other)));
        // a link where the log would be is not followed
        Path linked = dir.resolve("linked.lidx");
        Files.copy(file, linked);
        Files.createSymbolicLink(WriteLog.beside(linked), log);
        try (FlatIndex index = FlatIndex.load(linked)) {
            IOException e = assertThrows(IOException.class, () -> IndexWrites.open(index, linked));
            assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
        }
        assertEquals(Arrays.toString(corrupt), Arrays.toString(Files.readAllBytes(log)), "the link's target is untouched");
    }
}
