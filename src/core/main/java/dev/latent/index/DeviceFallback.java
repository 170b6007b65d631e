package dev.latent.index;

import dev.latent.compute.Backend;
import dev.latent.compute.DeviceException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * Logs an index's answers on the host after its device failed: the first as a warning with its cause, later
 * ones at FINE, so a failing device is seen once without flooding the log. Thread-safe.
 */
final class DeviceFallback {
    private static final Logger LOG = LoggerFactory.getLogger("dev.latent.index");
    private final AtomicBoolean warned = new AtomicBoolean();

    void log(DeviceException e, Backend backend, long queries) {
        Level level = warned.compareAndSet(false, true) ? Level.WARN : Level.DEBUG;
        LOG.atLevel(level).setCause(e).log("a search of " + queries + (queries == 1 ? " query" : " queries")
                + " failed on " + backend.description() + " (code " + e.code() + "); answering it on the host instead"
                + " (logged once; later ones at debug)");
    }
}
