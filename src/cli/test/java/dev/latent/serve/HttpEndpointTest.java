package dev.latent.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.engine.Engine;
import dev.latent.index.FlatIndex;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The HTTP endpoint on loopback, over an engine with a deterministic fake encoder and a real index. */
class HttpEndpointTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final int D = 8;

    private FlatIndex index;
    private Engine engine;
    private HttpEndpoint http;
    private final HttpClient client = HttpClient.newHttpClient();

    /** A text's vector: its characters' codes folded into D coordinates, plus 1 (never zero). */
    static float[] fake(String text) {
        float[] v = new float[D];
        for (int i = 0; i < text.length(); i++) {
            v[i % D] += text.charAt(i) % 17;
        }
        for (int j = 0; j < D; j++) {
            v[j] += 1;
        }
        return v;
    }

    @BeforeEach
    void start() throws Exception {
        index = new FlatIndex(D, Metric.COSINE);
        String[] words = {"shark", "whale", "engine", "wheel", "melody", "chord", "river", "mountain"};
        for (int i = 0; i < words.length; i++) {
            index.add(i, fake(words[i]));
        }
        Engine.Encoder enc = (texts, queries) -> {
            float[] flat = new float[texts.size() * D];
            for (int i = 0; i < texts.size(); i++) {
                System.arraycopy(fake(texts.get(i)), 0, flat, i * D, D);
            }
            return FloatMatrix.of(flat, D);
        };
        engine = Engine.builder().encoder(enc).index(index).build();
        http = HttpEndpoint.start(engine, new InetSocketAddress("127.0.0.1", 0), new HttpEndpoint.Options(4096, 16, 100, 4));
    }

    @AfterEach
    void stop() {
        http.close();
        engine.close();
        index.close();
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build();
        return client.send(r, HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + path)).GET().build();
        return client.send(r, HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void embedAndSearchAnswerWhatTheEngineAnswers() throws Exception {
        HttpResponse<String> e = post("/v1/embed", "{\"texts\": [\"shark\", \"a red car\"]}");
        assertEquals(200, e.statusCode(), e.body());
        JsonNode j = JSON.readTree(e.body());
        assertEquals(D, j.get("dimension").asInt());
        float[] got = new float[D];
        for (int c = 0; c < D; c++) {
            got[c] = (float) j.get("vectors").get(1).get(c).asDouble();
        }
        assertArrayEquals(fake("a red car"), got);

        HttpResponse<String> s = post("/v1/search", "{\"text\": \"whale\", \"k\": 3}");
        assertEquals(200, s.statusCode(), s.body());
        JsonNode results = JSON.readTree(s.body()).get("results");
        assertEquals(3, results.size());
        Neighbors direct = index.search(fake("whale"), 3);
        for (int r = 0; r < 3; r++) {
            assertEquals(direct.id(0, r), results.get(r).get("id").asLong(), s.body());
        }
        assertEquals(1, results.get(0).get("id").asLong(), "whale finds itself first");

        StringBuilder v = new StringBuilder("{\"vector\": [");
        float[] q = fake("engine");
        for (int c = 0; c < D; c++) {
            v.append(c == 0 ? "" : ", ").append(q[c]);
        }
        HttpResponse<String> sv = post("/v1/search", v.append("]}").toString());
        assertEquals(200, sv.statusCode(), sv.body());
        assertEquals(2, JSON.readTree(sv.body()).get("results").get(0).get("id").asLong());
    }

    @Test
    void searchReturnsRecordsAndTakesFiltersInBothSyntaxes() throws Exception {
        index.add(new long[] {100, 101}, FloatMatrix.of(new float[][] {fake("whale song"), fake("whale shark")}),
                java.util.List.of(new dev.latent.space.Record("doc-100", "a whale song",
                                java.util.Map.of("kind", "music", "year", 2021L)),
                        new dev.latent.space.Record("doc-101", "a whale shark", java.util.Map.of("kind", "fish", "year", 2019L))));
        HttpResponse<String> s = post("/v1/search", "{\"text\": \"whale\", \"k\": 3, \"filter\": {\"kind\": \"fish\"}}");
        assertEquals(200, s.statusCode(), s.body());
        JsonNode results = JSON.readTree(s.body()).get("results");
        assertEquals(1, results.size(), s.body());
        assertEquals(101, results.get(0).get("id").asLong());
        assertEquals("doc-101", results.get(0).get("key").asText());
        assertEquals("a whale shark", results.get(0).get("text").asText());
        assertEquals(2019, results.get(0).get("payload").get("year").asLong());

        s = post("/v1/search", "{\"text\": \"whale\", \"k\": 5, \"filter\": \"year >= 2020 or kind = \\\"fish\\\"\"}");
        assertEquals(200, s.statusCode(), s.body());
        assertEquals(2, JSON.readTree(s.body()).get("results").size(), s.body());

        s = post("/v1/search", "{\"text\": \"whale\", \"filter\": {\"colour\": \"red\"}}");
        assertEquals(400, s.statusCode(), s.body());
        assertTrue(s.body().contains("no record has the field 'colour'"), s.body());
        s = post("/v1/search", "{\"text\": \"whale\", \"filter\": {\"year\": {\"$near\": 1}}}");
        assertEquals(400, s.statusCode(), s.body());
        assertTrue(s.body().contains("unknown operator $near"), s.body());
        s = post("/v1/search", "{\"text\": \"whale\", \"filter\": {\"kind\": \"bird\"}}");
        assertEquals(200, s.statusCode(), s.body());
        assertEquals(0, JSON.readTree(s.body()).get("results").size(), "no match: no results, not an error");
        // unfiltered results carry records too, and vectors without one have none
        s = post("/v1/search", "{\"text\": \"whale song\", \"k\": 10}");
        JsonNode all = JSON.readTree(s.body()).get("results");
        assertEquals(10, all.size());
        for (JsonNode hit : all) {
            assertEquals(hit.get("id").asLong() >= 100, hit.has("key"), hit.toString());
        }
    }

    /** The floats of an OpenAI base64 embedding: little-endian float32. */
    private static float[] fromBase64(String b64) {
        java.nio.FloatBuffer f = java.nio.ByteBuffer.wrap(java.util.Base64.getDecoder().decode(b64))
                .order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        float[] out = new float[f.remaining()];
        f.get(out);
        return out;
    }

    private static float[] floats(JsonNode a) {
        float[] out = new float[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) a.get(i).asDouble();
        }
        return out;
    }

    @Test
    void openAiClientsGetOpenAiEmbeddings() throws Exception {
        // openai-python's embeddings.create (it asks for base64 unless told otherwise)
        HttpResponse<String> r = post("/v1/embeddings",
                "{\"input\": [\"shark\", \"a red car\"], \"model\": \"text-embedding-3-small\", \"encoding_format\": \"base64\"}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode j = JSON.readTree(r.body());
        assertEquals("list", j.get("object").asText());
        assertEquals(2, j.get("data").size());
        assertEquals("embedding", j.get("data").get(1).get("object").asText());
        assertEquals(1, j.get("data").get(1).get("index").asInt());
        assertArrayEquals(fake("a red car"), fromBase64(j.get("data").get(1).get("embedding").asText()));
        long tokens = engine.tokens("shark") + engine.tokens("a red car");
        assertEquals(tokens, j.get("usage").get("prompt_tokens").asLong());
        assertEquals(tokens, j.get("usage").get("total_tokens").asLong());
        assertTrue(j.has("model"), r.body());
        // LangChain4j's OpenAiEmbeddingModel and Spring AI's: floats, a model name, dimensions when configured
        r = post("/v1/embeddings", "{\"model\":\"text-embedding-ada-002\",\"input\":[\"shark\"],\"dimensions\":" + D + "}");
        assertEquals(200, r.statusCode(), r.body());
        assertArrayEquals(fake("shark"), floats(JSON.readTree(r.body()).get("data").get(0).get("embedding")));
        r = post("/v1/embeddings", "{\"input\":[\"whale\"],\"model\":\"text-embedding-ada-002\",\"encoding_format\":\"float\"}");
        assertEquals(200, r.statusCode(), r.body());
        r = post("/v1/embeddings", "{\"input\": \"one string\"}");
        assertEquals(200, r.statusCode(), r.body());
        assertArrayEquals(fake("one string"), floats(JSON.readTree(r.body()).get("data").get(0).get("embedding")));
        // errors in OpenAI's shape
        r = post("/v1/embeddings", "{\"input\": [\"x\"], \"dimensions\": 4}");
        assertEquals(400, r.statusCode(), r.body());
        JsonNode err = JSON.readTree(r.body()).get("error");
        assertEquals("invalid_request_error", err.get("type").asText());
        assertTrue(err.get("message").asText().contains("gives " + D + " dimensions"), r.body());
        r = post("/v1/embeddings", "{\"input\": [[1, 2, 3]]}");
        assertEquals(400, r.statusCode(), r.body());
        assertTrue(r.body().contains("token ids"), r.body());
        r = post("/v1/embeddings", "{\"input\": [\"x\"], \"encoding_format\": \"int8\"}");
        assertEquals(400, r.statusCode(), r.body());
        r = post("/v1/embeddings", "{\"input\": [\"\"]}");
        assertEquals(400, r.statusCode(), r.body());
        assertTrue(r.body().contains("empty string"), r.body());
    }

    @Test
    void teiClientsGetTeiEmbeddings() throws Exception {
        HttpResponse<String> r = post("/embed", "{\"inputs\": [\"shark\", \"whale\"]}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode j = JSON.readTree(r.body());
        assertEquals(2, j.size());
        assertArrayEquals(fake("whale"), floats(j.get(1)));
        r = post("/embed", "{\"inputs\": \"shark\", \"normalize\": true, \"truncate\": true}");
        assertEquals(200, r.statusCode(), r.body());
        assertArrayEquals(fake("shark"), floats(JSON.readTree(r.body()).get(0)));
        r = post("/embed", "{\"inputs\": \"shark\", \"normalize\": false}");
        assertEquals(400, r.statusCode(), r.body());
    }

    @Test
    void badRequestsGetAClearErrorAndTheServerKeepsServing() throws Exception {
        HttpResponse<String> r = post("/v1/embed", "{\"texts\": [\"a\", ");
        assertEquals(400, r.statusCode());
        assertTrue(r.body().contains("malformed JSON at line 1"), r.body());
        r = post("/v1/search", "{\"text\": \"a\", \"kk\": 3}");
        assertEquals(400, r.statusCode());
        assertTrue(r.body().contains("unknown field 'kk'"), r.body());
        r = post("/v1/search", "{\"text\": \"a\", \"vector\": [1]}");
        assertEquals(400, r.statusCode());
        assertTrue(r.body().contains("either 'text'"), r.body());
        r = post("/v1/search", "{\"text\": \"a\", \"k\": 0}");
        assertEquals(400, r.statusCode());
        r = post("/v1/search", "{\"vector\": [1, 2]}");
        assertEquals(400, r.statusCode());
        assertTrue(r.body().contains("dimension") || r.body().contains("2"), r.body());
        r = post("/v1/embed", "{\"texts\": [\"" + "x".repeat(5000) + "\"]}");
        assertEquals(413, r.statusCode(), r.body());
        assertTrue(r.body().contains("limit of 4096"), r.body());
        StringBuilder many = new StringBuilder("{\"texts\": [");
        for (int i = 0; i < 17; i++) {
            many.append(i == 0 ? "" : ",").append("\"t\"");
        }
        r = post("/v1/embed", many.append("]}").toString());
        assertEquals(400, r.statusCode());
        assertTrue(r.body().contains("limit of 16"), r.body());
        r = post("/v1/embed", "[1, 2]");
        assertEquals(400, r.statusCode());
        r = get("/v1/search");
        assertEquals(405, r.statusCode());
        r = get("/nothing");
        assertEquals(404, r.statusCode());
        r = get("/health");
        assertEquals(200, r.statusCode());
        assertEquals("ok", JSON.readTree(r.body()).get("status").asText());
        r = post("/v1/search", "{\"text\": \"shark\"}");
        assertEquals(200, r.statusCode(), "still serving after the errors: " + r.body());
        JsonNode m = JSON.readTree(get("/v1/metrics").body());
        assertTrue(m.has("search") && m.get("search").get("requests").asLong() >= 1, m.toString());
        // Where the work runs: this test's own encoder, and the index's compute backend.
        assertEquals("custom", m.get("encoder").asText(), m.toString());
        assertTrue(m.get("searcher").asText().matches("(native CPU|CUDA|Java).*"), m.toString());
    }

    /** One sample of Prometheus's text format: name, labels, value. */
    record Sample(String name, Map<String, String> labels, double value) {
    }

    /**
     * Parses Prometheus's text exposition format (version 0.0.4) as a scraper does: # HELP / # TYPE lines, then
     * samples {@code name{label="value",...} number}; any other line fails the test.
     */
    static List<Sample> parsePrometheus(String text) {
        java.util.regex.Pattern sample = java.util.regex.Pattern.compile(
                "([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)\\})? (\\S+)( \\d+)?");
        java.util.regex.Pattern label = java.util.regex.Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\",?");
        List<Sample> out = new java.util.ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty() || line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
                continue;
            }
            java.util.regex.Matcher m = sample.matcher(line);
            assertTrue(m.matches(), "not a Prometheus sample line: " + line);
            Map<String, String> labels = new java.util.LinkedHashMap<>();
            if (m.group(3) != null) {
                java.util.regex.Matcher l = label.matcher(m.group(3));
                int at = 0;
                while (l.find() && l.start() == at) {
                    labels.put(l.group(1), l.group(2));
                    at = l.end();
                }
                assertEquals(m.group(3).length(), at, "bad labels: " + line);
            }
            String v = m.group(4);
            double value = v.equals("+Inf") ? Double.POSITIVE_INFINITY : v.equals("-Inf") ? Double.NEGATIVE_INFINITY
                    : v.equals("NaN") ? Double.NaN : Double.parseDouble(v);
            out.add(new Sample(m.group(1), labels, value));
        }
        return out;
    }

    @Test
    void metricsAreAPrometheusScrape() throws Exception {
        for (int i = 0; i < 3; i++) {
            assertEquals(200, post("/v1/search", "{\"text\": \"whale\", \"k\": 2}").statusCode());
        }
        assertEquals(404, get("/nowhere/" + System.nanoTime()).statusCode());
        HttpResponse<String> r = get("/metrics");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"),
                r.headers().toString());
        List<Sample> samples = parsePrometheus(r.body());
        double searches = samples.stream().filter(x -> x.name().equals("latent_http_requests_seconds_count")
                && "/v1/search".equals(x.labels().get("route")) && "200".equals(x.labels().get("status")))
                .mapToDouble(Sample::value).sum();
        assertEquals(3, searches, 0, r.body());
        assertTrue(samples.stream().anyMatch(x -> x.name().equals("latent_http_requests_seconds_bucket")
                && "/v1/search".equals(x.labels().get("route")) && x.labels().containsKey("le")), "latency histogram");
        assertTrue(samples.stream().anyMatch(x -> x.name().equals("latent_http_requests_seconds_count")
                && "other".equals(x.labels().get("route"))), "unknown paths are one label value");
        assertTrue(samples.stream().noneMatch(x -> x.labels().getOrDefault("route", "").startsWith("/nowhere")));
        double engineSearches = samples.stream().filter(x -> x.name().equals("latent_engine_requests_total")
                && "search".equals(x.labels().get("operation"))).mapToDouble(Sample::value).sum();
        assertTrue(engineSearches >= 3, r.body());
    }

    @Test
    void concurrentClientsAreAllAnswered() throws Exception {
        List<Thread> threads = new java.util.ArrayList<>();
        java.util.concurrent.atomic.AtomicInteger ok = new java.util.concurrent.atomic.AtomicInteger();
        for (int t = 0; t < 16; t++) {
            final int id = t;
            Thread th = new Thread(() -> {
                try {
                    for (int i = 0; i < 10; i++) {
                        HttpResponse<String> r = post("/v1/search", "{\"text\": \"river " + id + " " + i + "\", \"k\": 2}");
                        if (r.statusCode() == 200 && JSON.readTree(r.body()).get("results").size() == 2) {
                            ok.incrementAndGet();
                        }
                    }
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) {
            th.join();
        }
        assertEquals(160, ok.get());
    }
}
