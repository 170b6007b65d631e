package dev.latent.serve;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.util.component.AbstractLifeCycle;

/**
 * The header deadline of every open connection: a connection that is not handling a request is closed once
 * {@code timeout} passes since it opened or since its last response, whatever bytes trickle in meanwhile (the
 * idle timeout alone would let a client sending a byte a second keep it forever). Checked every 250 ms.
 *
 * <p>Thread-safe: Jetty reports connections opening and closing on its threads, exchanges {@link #begin} and
 * {@link #end} on theirs, and the sweep runs on its own daemon thread, all through one concurrent map. A bean of
 * the connector, whose lifecycle starts and stops the sweep; it closes connections but owns none.
 */
final class HeaderDeadlines extends AbstractLifeCycle implements Connection.Listener {
    private final long timeoutNanos;
    /** Open connections: the time their current wait for headers began, or -1 while a request is handled. */
    private final Map<Connection, AtomicLong> open = new ConcurrentHashMap<>();
    private ScheduledExecutorService sweeper;

    HeaderDeadlines(Duration timeout) {
        this.timeoutNanos = timeout.toNanos();
    }

    @Override
    protected void doStart() {
        sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "latent-http-deadlines");
            t.setDaemon(true);
            return t;
        });
        sweeper.scheduleWithFixedDelay(this::sweep, 250, 250, TimeUnit.MILLISECONDS);
    }

    @Override
    protected void doStop() {
        sweeper.shutdownNow();
    }

    @Override
    public void onOpened(Connection c) {
        open.put(c, new AtomicLong(System.nanoTime()));
    }

    @Override
    public void onClosed(Connection c) {
        open.remove(c);
    }

    /** A request's headers are in on {@code c}: no deadline until its response is written. */
    void begin(Connection c) {
        AtomicLong since = open.get(c);
        if (since != null) {
            since.set(-1);
        }
    }

    /** {@code c}'s response is written: its wait for the next request's headers begins. */
    void end(Connection c) {
        AtomicLong since = open.get(c);
        if (since != null) {
            since.set(System.nanoTime());
        }
    }

    /** Connections open now. */
    int open() {
        return open.size();
    }

    private void sweep() {
        long now = System.nanoTime();
        for (Map.Entry<Connection, AtomicLong> e : open.entrySet()) {
            long since = e.getValue().get();
            if (since >= 0 && now - since > timeoutNanos) {
                e.getKey().getEndPoint().close();
            }
        }
    }
}
