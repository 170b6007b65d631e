package dev.latent.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.engine.Engine;
import dev.latent.index.FlatIndex;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A soak of slow clients on loopback, bounded in time: 200 connections sending their headers a byte at a time
 * and 33 sending a declared body a byte at a time must neither lock out {@code /health} nor the search, and the
 * server closes them at their deadlines.
 */
class SlowClientsTest {
    private static final int D = 8;
    private FlatIndex index;
    private Engine engine;
    private HttpEndpoint http;
    private final List<Socket> sockets = new ArrayList<>();
    private final ScheduledExecutorService trickle = Executors.newSingleThreadScheduledExecutor();
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

    private void start(HttpEndpoint.Options options) throws IOException {
        index = new FlatIndex(D, Metric.COSINE);
        for (int i = 0; i < 8; i++) {
            index.add(i, HttpEndpointTest.fake("word " + i));
        }
        Engine.Encoder enc = (texts, queries) -> {
            float[] flat = new float[texts.size() * D];
            for (int i = 0; i < texts.size(); i++) {
                System.arraycopy(HttpEndpointTest.fake(texts.get(i)), 0, flat, i * D, D);
            }
            return FloatMatrix.of(flat, D);
        };
        engine = Engine.builder().encoder(enc).index(index).build();
        http = HttpEndpoint.start(engine, new InetSocketAddress("127.0.0.1", 0), options);
    }

    @AfterEach
    void stop() throws IOException {
        trickle.shutdownNow();
        for (Socket s : sockets) {
            s.close();
        }
        http.close();
        engine.close();
        index.close();
    }

    /** Opens {@code n} connections that send {@code head} at once, then one more byte of {@code tail} every 200 ms. */
    private List<Socket> slow(int n, String head, String tail) throws IOException {
        List<Socket> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Socket s = new Socket("127.0.0.1", http.port());
            s.setSoTimeout(100);
            s.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            out.add(s);
            sockets.add(s);
        }
        byte[] t = tail.getBytes(StandardCharsets.US_ASCII);
        int[] at = {0};
        trickle.scheduleAtFixedRate(() -> {
            int i = at[0]++ % t.length;
            for (Socket s : out) {
                try {
                    OutputStream o = s.getOutputStream();
                    o.write(t[i]);
                    o.flush();
                } catch (IOException closedByTheServer) {
                    // expected once the server gives up on it
                }
            }
        }, 200, 200, TimeUnit.MILLISECONDS);
        return out;
    }

    private int health(Duration timeout) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + "/health")).timeout(timeout)
                .GET().build();
        return client.send(r, HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    private HttpResponse<String> search(Duration timeout) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + "/v1/search")).timeout(timeout)
                .POST(HttpRequest.BodyPublishers.ofString("{\"text\": \"word 3\", \"k\": 2}")).build();
        return client.send(r, HttpResponse.BodyHandlers.ofString());
    }

    private static final String SLOW_HEADERS = "POST /v1/search HTTP/1.1\r\nHost: a\r\n";
    private static final String HEADER_TRICKLE = "X-Slow: abcdefghijklmnopqrstuvwxyz0123456789\r\n";
    private static final String SLOW_BODY = "POST /v1/search HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
            + "Content-Length: 1000\r\n\r\n{\"text\": \"";

    @Test
    void slowClientsDoNotLockOutHealthOrSearch() throws Exception {
        // The library defaults, with as few workers as before: the slow connections outnumber them many times.
        start(new HttpEndpoint.Options(4096, 16, 100, 4));
        slow(200, SLOW_HEADERS, HEADER_TRICKLE);
        slow(33, SLOW_BODY, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        int answered = 0;
        while (System.nanoTime() < end) {
            assertEquals(200, health(Duration.ofSeconds(1)), "/health under 233 slow connections");
            assertEquals(200, search(Duration.ofSeconds(1)).statusCode(), "search under 233 slow connections");
            answered++;
            Thread.sleep(50);
        }
        assertTrue(answered >= 10, "answered " + answered);
    }

    @Test
    void theServerClosesSlowConnectionsAtTheirDeadlines() throws Exception {
        start(new HttpEndpoint.Options(4096, 16, 100, 4).withConnections(512, Duration.ofSeconds(1), Duration.ofSeconds(1),
                Duration.ofSeconds(30)));
        List<Socket> headers = slow(200, SLOW_HEADERS, HEADER_TRICKLE);
        List<Socket> bodies = slow(33, SLOW_BODY, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assertEquals(200, health(Duration.ofSeconds(1)));
        // Within the deadline plus the sweep, every slow connection has been answered (408) or closed.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        int closedHeaders = 0;
        int timedOutBodies = 0;
        for (Socket s : headers) {
            closedHeaders += endsBefore(s, deadline).isEmpty() ? 1 : 0;
        }
        for (Socket s : bodies) {
            String answer = endsBefore(s, deadline);
            timedOutBodies += answer.startsWith("HTTP/1.1 408") ? 1 : 0;
        }
        assertEquals(200, closedHeaders, "connections that never finished their headers are closed without an answer");
        assertEquals(33, timedOutBodies, "bodies that never arrived are answered 408");
        assertEquals(200, health(Duration.ofSeconds(1)));
        long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (http.connections() > 1 && System.nanoTime() < settle) {
            Thread.sleep(20);
        }
        assertTrue(http.connections() <= 1, "open connections left: " + http.connections());
    }

    @Test
    void aConnectionLimitBoundsWhatSlowClientsHoldAndTheDeadlinesFreeIt() throws Exception {
        start(new HttpEndpoint.Options(4096, 16, 100, 4).withConnections(50, Duration.ofSeconds(1), Duration.ofSeconds(1),
                Duration.ofSeconds(30)));
        slow(50, SLOW_HEADERS, HEADER_TRICKLE);
        Thread.sleep(300);
        assertTrue(http.connections() <= 50, "at most the limit: " + http.connections());
        // A health check queued behind the limit is accepted once the header deadline closes the slow ones.
        assertEquals(200, health(Duration.ofSeconds(5)));
    }

    /** What the server sent on {@code s} before it closed it, reading until {@code deadline}; throws if still open. */
    private static String endsBefore(Socket s, long deadline) throws IOException {
        InputStream in = s.getInputStream();
        StringBuilder got = new StringBuilder();
        byte[] b = new byte[4096];
        while (System.nanoTime() < deadline) {
            int n;
            try {
                n = in.read(b);
            } catch (SocketTimeoutException stillOpen) {
                continue;
            } catch (IOException reset) {
                return got.toString();
            }
            if (n < 0) {
                return got.toString();
            }
            got.append(new String(b, 0, n, StandardCharsets.US_ASCII));
        }
        throw new AssertionError("the server kept a slow connection open past its deadline; it sent: " + got);
    }
}
