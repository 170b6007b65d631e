package dev.latent.serve;

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
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bearer keys, CORS and the OpenAPI document of the endpoint. */
class AccessTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;
    private final HttpClient client = HttpClient.newHttpClient();

    private interface Body {
        void run(HttpEndpoint http) throws Exception;
    }

    private void serve(Access access, Body body) throws Exception {
        try (FlatIndex index = new FlatIndex(HttpEndpointTest.D, Metric.COSINE)) {
            index.add(1, HttpEndpointTest.fake("whale"));
            Engine.Encoder enc = (texts, q) -> {
                float[] flat = new float[texts.size() * HttpEndpointTest.D];
                for (int i = 0; i < texts.size(); i++) {
                    System.arraycopy(HttpEndpointTest.fake(texts.get(i)), 0, flat, i * HttpEndpointTest.D, HttpEndpointTest.D);
                }
                return FloatMatrix.of(flat, HttpEndpointTest.D);
            };
            try (Engine engine = Engine.builder().encoder(enc).index(index).build();
                 HttpEndpoint http = HttpEndpoint.start(engine, new InetSocketAddress("127.0.0.1", 0),
                         HttpEndpoint.Options.defaults(), null, access)) {
                body.run(http);
            }
        }
    }

    private HttpResponse<String> send(HttpEndpoint http, String method, String path, String body, String... headers)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private Path keyFile(String content) throws IOException {
        Path f = dir.resolve("keys-" + System.nanoTime());
        Files.writeString(f, content);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        return f;
    }

    @Test
    void withAKeyFileEveryRouteButHealthNeedsAKey() throws Exception {
        Access access = Access.keys(keyFile("# keys\nsk-first\n\nsk-second\n"), Set.of());
        serve(access, http -> {
            String search = "{\"text\": \"whale\", \"k\": 1}";
            HttpResponse<String> r = send(http, "POST", "/v1/search", search);
            assertEquals(401, r.statusCode(), r.body());
            assertEquals("Bearer", r.headers().firstValue("WWW-Authenticate").orElse(""));
            assertEquals(401, send(http, "POST", "/v1/search", search, "Authorization", "Bearer sk-wrong").statusCode());
            assertEquals(401, send(http, "POST", "/v1/search", search, "Authorization", "sk-first").statusCode());
            assertEquals(401, send(http, "GET", "/metrics", null).statusCode());
            assertEquals(200, send(http, "POST", "/v1/search", search, "Authorization", "Bearer sk-first").statusCode());
            assertEquals(200, send(http, "POST", "/v1/embeddings", "{\"input\": \"x\"}", "Authorization", "Bearer sk-second")
                    .statusCode());
            assertEquals(200, send(http, "GET", "/health", null).statusCode(), "health needs no key");
            // no CORS configured: no CORS headers, whatever the Origin
            r = send(http, "POST", "/v1/search", search, "Authorization", "Bearer sk-first", "Origin", "https://evil.example");
            assertFalse(r.headers().firstValue("Access-Control-Allow-Origin").isPresent());
        });
        // open: no key needed
        serve(Access.open(), http -> assertEquals(200, send(http, "POST", "/v1/search", "{\"text\": \"whale\"}").statusCode()));
    }

    @Test
    void keyFilesOthersMayWriteOrEmptyOnesAreRefused() throws Exception {
        Path f = keyFile("sk-1\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-rw-rw-"));
        IOException e = assertThrows(IOException.class, () -> Access.keys(f, Set.of()));
        assertTrue(e.getMessage().contains("chmod go-w"), e.getMessage());
        e = assertThrows(IOException.class, () -> Access.keys(keyFile("# only a comment\n"), Set.of()));
        assertTrue(e.getMessage().contains("holds no key"), e.getMessage());
        Path link = dir.resolve("link");
        Files.createSymbolicLink(link, keyFile("sk\n"));
        e = assertThrows(IOException.class, () -> Access.keys(link, Set.of()));
        assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
    }

    @Test
    void corsAnswersOnlyTheOriginsGiven() throws Exception {
        serve(Access.cors(Set.of("https://app.example")), http -> {
            HttpResponse<String> r = send(http, "OPTIONS", "/v1/search", null, "Origin", "https://app.example",
                    "Access-Control-Request-Method", "POST");
            assertEquals(204, r.statusCode());
            assertEquals("https://app.example", r.headers().firstValue("Access-Control-Allow-Origin").orElse(""));
            assertTrue(r.headers().firstValue("Access-Control-Allow-Methods").orElse("").contains("POST"));
            r = send(http, "POST", "/v1/search", "{\"text\": \"whale\"}", "Origin", "https://app.example");
            assertEquals("https://app.example", r.headers().firstValue("Access-Control-Allow-Origin").orElse(""));
            r = send(http, "POST", "/v1/search", "{\"text\": \"whale\"}", "Origin", "https://other.example");
            assertFalse(r.headers().firstValue("Access-Control-Allow-Origin").isPresent());
            assertEquals(405, send(http, "OPTIONS", "/v1/search", null, "Origin", "https://other.example").statusCode());
        });
    }

    @Test
    void theOpenApiDocumentDescribesEveryRoute() throws Exception {
        serve(Access.open(), http -> {
            HttpResponse<String> r = send(http, "GET", "/openapi.json", null);
            assertEquals(200, r.statusCode());
            JsonNode doc = JSON.readTree(r.body());
            assertTrue(doc.get("openapi").asText().startsWith("3."));
            Set<String> paths = new HashSet<>();
            for (Iterator<String> it = doc.get("paths").fieldNames(); it.hasNext(); ) {
                paths.add(it.next());
            }
            assertEquals(HttpMetrics.ROUTES, paths, "the document and the routes the server answers");
            for (String p : paths) {
                JsonNode ops = doc.get("paths").get(p);
                String method = ops.has("get") ? "GET" : "POST";
                HttpResponse<String> probe = send(http, method, p, method.equals("POST") ? "{}" : null);
                assertTrue(probe.statusCode() != 404, p + " is documented but not served");
            }
        });
    }
}
