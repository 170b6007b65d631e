package dev.latent.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

/** The engine's metrics through Micrometer: the meters follow the engine's own counters. */
class EngineMeterBinderTest {
    @Test
    void metersFollowTheEngine() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (Engine engine = Engine.builder().encoder(new FakeEncoder(4)).build()) {
            new EngineMeterBinder(engine).bindTo(registry);
            for (int i = 0; i < 5; i++) {
                engine.encode("text " + i);
            }
            double requests = registry.get("latent.engine.requests").tag("operation", "encode").functionCounter().count();
            double completed = registry.get("latent.engine.completed").tag("operation", "encode").functionCounter().count();
            assertEquals(5, requests);
            assertEquals(5, completed);
            assertEquals(0, registry.get("latent.engine.requests").tag("operation", "search").functionCounter().count());
            double p99 = registry.get("latent.engine.latency").tag("operation", "encode").tag("quantile", "0.99").gauge().value();
            assertTrue(p99 > 0 && p99 < 10, "p99 in seconds: " + p99);
            assertTrue(registry.get("latent.engine.batches").tag("operation", "encode").functionCounter().count() >= 1);
            assertEquals(0, registry.get("latent.engine.queue.depth").tag("operation", "encode").gauge().value());
            // Where the work runs: this engine encodes with a test encoder and has no index.
            assertEquals(1, registry.get("latent.engine.info").tag("encoder", "custom").tag("searcher", "none")
                    .gauge().value());
            assertEquals("custom", engine.metrics().encoder());
            assertEquals("none", engine.metrics().searcher());
        }
    }
}
