package dev.latent.engine;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;

/**
 * One caller's request, queued in a {@link Lane} until its batch starts. The future is the caller's; the
 * other fields belong to the lane: {@code queued} changes only under its lane's lock.
 */
abstract class Request<T> {
    final CompletableFuture<T> future = new CompletableFuture<>();
    final long deadline; // System.nanoTime() value, 0: none
    long submitted;
    boolean queued;
    volatile ScheduledFuture<?> timer;

    Request(long deadline) {
        this.deadline = deadline;
    }

    boolean expired(long now) {
        return deadline != 0 && now - deadline >= 0;
    }
}
