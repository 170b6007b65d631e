package dev.latent.engine;

import dev.latent.core.Neighbors;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A text search as one request ({@link Engine#searchTextAsync(String, int, java.time.Duration)}): the text
 * encoded as a query, then searched with its vector, with one future and one deadline for both steps.
 * Cancelling the future cancels whichever step has not started. Thread-safe; one per engine.
 */
final class TextSearch {
    private final Admission admission;
    private final Lane<EncodeRequest> encodeLane; // null without an encoder (admission refuses first)
    private final Lane<SearchRequest> searchLane; // null without an index (admission refuses first)
    /** Text searches encode into device memory and search there in one step (both sides on the GPU). */
    private final boolean onDevice;

    TextSearch(Admission admission, Lane<EncodeRequest> encodeLane, Lane<SearchRequest> searchLane,
            boolean onDevice) {
        this.admission = admission;
        this.encodeLane = encodeLane;
        this.searchLane = searchLane;
        this.onDevice = onDevice;
    }

    /** Queues the search of {@code text}; k and the index were checked by the caller. */
    CompletableFuture<Neighbors> submit(String text, int k, long deadline) {
        if (onDevice) {
            // Encode and search in one step of the encode lane: the vectors stay on the device between them.
            EncodeRequest er = admission.encode(text, true, deadline, k);
            er.future.whenComplete((v, e) -> {
                if (e != null) {
                    er.neighbors.completeExceptionally(unwrap(e));
                }
            });
            er.neighbors.whenComplete((v, e) -> {
                if (er.neighbors.isCancelled()) {
                    er.future.cancel(false);
                }
            });
            encodeLane.submit(er, false);
            return er.neighbors;
        }
        // Two steps: once the encode step is done the search step is queued even when the search queue is
        // full (it was admitted already).
        EncodeRequest er = admission.encode(text, true, deadline);
        CompletableFuture<Neighbors> out = new CompletableFuture<>();
        AtomicReference<CompletableFuture<?>> step = new AtomicReference<>(er.future);
        out.whenComplete((v, e) -> {
            if (out.isCancelled()) {
                step.get().cancel(false);
            }
        });
        er.future.whenComplete((vector, e) -> {
            if (e != null) {
                out.completeExceptionally(unwrap(e));
                return;
            }
            try {
                SearchRequest sr = admission.search(vector, k, deadline);
                step.set(sr.future);
                sr.future.whenComplete((nb, e2) -> {
                    if (e2 != null) {
                        out.completeExceptionally(unwrap(e2));
                    } else {
                        out.complete(nb);
                    }
                });
                if (out.isCancelled()) {
                    sr.future.cancel(false);
                    return;
                }
                searchLane.submit(sr, true);
            } catch (RuntimeException ex) {
                out.completeExceptionally(ex);
            }
        });
        encodeLane.submit(er, false);
        return out;
    }

    private static Throwable unwrap(Throwable e) {
        return e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    }
}
