package dev.latent.engine;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Locale;
import java.util.Objects;
import java.util.function.ToDoubleFunction;

/**
 * Binds an {@link Engine}'s {@link EngineMetrics} to a Micrometer registry, the first adapter of the metrics
 * interface. Meters, all but the last tagged {@code operation=encode|search}:
 *
 * <ul>
 *   <li>counters {@code latent.engine.requests}, {@code .rejections}, {@code .completed}, {@code .failed},
 *       {@code .timed.out}, {@code .cancelled}, {@code .batches};</li>
 *   <li>gauges {@code latent.engine.queue.depth}, {@code latent.engine.batch.size.mean} and
 *       {@code latent.engine.latency} with tag {@code quantile=0.5|0.99} (seconds, over the recent requests).</li>
 *   <li>{@code latent.engine.info} (always 1), untagged by operation, with tags {@code encoder} (model and execution
 *       provider) and {@code searcher} (compute backend).</li>
 * </ul>
 *
 * <pre>{@code
 * new EngineMeterBinder(engine).bindTo(registry);
 * }</pre>
 *
 * Micrometer ({@code io.micrometer:micrometer-core}) is an optional dependency of Latent: add it to use this
 * class. The meters read the engine's counters when the registry polls them; thread-safe.
 */
public final class EngineMeterBinder implements MeterBinder {
    private final Engine engine;

    public EngineMeterBinder(Engine engine) {
        this.engine = Objects.requireNonNull(engine, "engine");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        // Where the work runs, as tags of a constant gauge (the usual form of such labels).
        EngineMetrics now = engine.metrics();
        Gauge.builder("latent.engine.info", engine, e -> 1.0).description("where the engine encodes and searches")
                .tag("encoder", now.encoder()).tag("searcher", now.searcher()).register(registry);
        for (EngineMetrics.Operation op : EngineMetrics.Operation.values()) {
            String tag = op.name().toLowerCase(Locale.ROOT);
            counter(registry, "latent.engine.requests", "requests submitted", tag, op, s -> s.requests());
            counter(registry, "latent.engine.rejections", "requests refused because the queue was full", tag, op, s -> s.rejections());
            counter(registry, "latent.engine.completed", "requests answered", tag, op, s -> s.completed());
            counter(registry, "latent.engine.failed", "requests whose batch failed", tag, op, s -> s.failed());
            counter(registry, "latent.engine.timed.out", "requests whose deadline passed in the queue", tag, op, s -> s.timedOut());
            counter(registry, "latent.engine.cancelled", "requests cancelled before their batch", tag, op, s -> s.cancelled());
            counter(registry, "latent.engine.batches", "batches run", tag, op, s -> s.batches());
            gauge(registry, "latent.engine.queue.depth", "requests waiting", tag, op, null, s -> s.queueDepth());
            gauge(registry, "latent.engine.batch.size.mean", "mean requests per batch", tag, op, null, EngineMetrics.Stats::meanBatchSize);
            gauge(registry, "latent.engine.latency", "latency of recent requests, seconds", tag, op, "0.5", s -> s.p50().toNanos() / 1e9);
            gauge(registry, "latent.engine.latency", "latency of recent requests, seconds", tag, op, "0.99", s -> s.p99().toNanos() / 1e9);
        }
    }

    private void counter(MeterRegistry registry, String name, String description, String tag, EngineMetrics.Operation op,
            ToDoubleFunction<EngineMetrics.Stats> f) {
        FunctionCounter.builder(name, engine, e -> f.applyAsDouble(e.metrics().stats(op)))
                .description(description).tag("operation", tag).register(registry);
    }

    private void gauge(MeterRegistry registry, String name, String description, String tag, EngineMetrics.Operation op,
            String quantile, ToDoubleFunction<EngineMetrics.Stats> f) {
        Gauge.Builder<Engine> b = Gauge.builder(name, engine, e -> f.applyAsDouble(e.metrics().stats(op)))
                .description(description).tag("operation", tag);
        if (quantile != null) {
            b = b.tag("quantile", quantile);
        }
        b.register(registry);
    }
}
