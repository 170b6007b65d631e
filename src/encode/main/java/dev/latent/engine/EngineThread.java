package dev.latent.engine;

/**
 * A dispatcher or batch thread of one engine: blocking calls on it would wait for themselves, so the engine
 * asks {@link #isCurrent} before it blocks or joins. Daemon.
 */
final class EngineThread extends Thread {
    final Engine owner;

    EngineThread(Engine owner, Runnable r, String name) {
        super(r, name);
        this.owner = owner;
        setDaemon(true);
    }

    /** Whether the calling thread is one of {@code owner}'s own threads. */
    static boolean isCurrent(Engine owner) {
        return Thread.currentThread() instanceof EngineThread et && et.owner == owner;
    }
}
