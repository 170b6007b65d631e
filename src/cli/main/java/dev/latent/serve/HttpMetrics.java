package dev.latent.serve;

import dev.latent.engine.Engine;
import dev.latent.engine.EngineMeterBinder;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The endpoint's meters in a Micrometer Prometheus registry: the engine's ({@link EngineMeterBinder}) and a timer of
 * every HTTP exchange, {@code latent_http_requests_seconds} (histogram buckets from 1 ms to 30 s, tagged {@code route}
 * and {@code status}; a path that is no route counts as {@code other}, so clients cannot grow the label set).
 * {@link #scrape()} is {@code GET /metrics} in Prometheus's text format. Thread-safe.
 */
final class HttpMetrics {
    static final Set<String> ROUTES = Set.of("/health", "/metrics", "/v1/metrics", "/openapi.json", "/v1/embed",
            "/v1/search", "/v1/embeddings", "/embed", "/v1/upsert", "/v1/delete", "/v1/save");
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    HttpMetrics(Engine engine) {
        new EngineMeterBinder(engine).bindTo(registry);
    }

    /** Counts one exchange of {@code path} that ended with {@code status}, begun at {@code startNanos}. */
    void record(String path, int status, long startNanos) {
        Timer.builder("latent.http.requests").description("HTTP exchanges, from the request's arrival to its response")
                .tag("route", ROUTES.contains(path) ? path : "other").tag("status", Integer.toString(status))
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(30)).register(registry)
                .record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
    }

    /** Every meter in Prometheus's text exposition format (version 0.0.4). */
    String scrape() {
        return registry.scrape();
    }
}
