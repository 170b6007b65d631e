package dev.latent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.index.FlatIndex;
import dev.latent.serve.IndexWrites;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code serve --writable} killed with SIGKILL right after acknowledged writes: the next start has every one. */
class ServeWritesTest {
    @TempDir
    Path dir;

    @Test
    void aKillAfterAcknowledgedWritesLosesNothing() throws Exception {
        Path corpus = dir.resolve("c.jsonl");
        Files.writeString(corpus, "{\"id\": \"a\", \"text\": \"a first text\"}\n{\"id\": \"b\", \"text\": \"a second text\"}\n");
        Path idx = dir.resolve("c.lidx");
        MainTest.Result r = MainTest.run("embed", corpus.toString(), "--index", idx.toString(), "-q");
        assertEquals(0, r.code(), r.err());
        Process p = SafetyTest.childProcess(List.of("-Xmx512m"), "serve", idx.toString(), "--writable", "--port", "0");
        int acknowledged = 0;
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String served = null;
            for (String line; served == null && (line = out.readLine()) != null; ) {
                Matcher m = Pattern.compile("on http://[^:]+:(\\d+)/").matcher(line);
                if (m.find()) {
                    served = m.group(1);
                }
            }
            assertTrue(served != null, "the server ended without saying where it serves");
            int port = Integer.parseInt(served);
            HttpClient client = HttpClient.newHttpClient();
            for (int i = 0; i < 20; i++) {
                HttpResponse<String> res = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/upsert"))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"records\": [{\"key\": \"w" + i + "\", \"text\": \"written "
                                + i + "\", \"payload\": {\"n\": " + i + "}}]}")).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, res.statusCode(), res.body());
                acknowledged++;
            }
            HttpResponse<String> res = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/delete"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"keys\": [\"a\"]}")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, res.statusCode(), res.body());
        } finally {
            p.destroyForcibly();   // SIGKILL: no shutdown hook, no save
            p.waitFor(30, TimeUnit.SECONDS);
        }
        try (FlatIndex index = FlatIndex.load(idx)) {
            assertEquals(2, index.size(), "the file itself was never saved");
            try (IndexWrites writes = IndexWrites.open(index, idx)) {
                assertEquals(acknowledged + 1, writes.replayed());
                assertEquals(2 - 1 + acknowledged, index.size());
                for (int i = 0; i < acknowledged; i++) {
                    long id = index.idOfKey("w" + i).getAsLong();
                    assertEquals("written " + i, index.record(id).text());
                    assertEquals((long) i, index.record(id).payload().get("n"));
                }
                assertTrue(index.idOfKey("a").isEmpty());
            }
        }
    }
}
