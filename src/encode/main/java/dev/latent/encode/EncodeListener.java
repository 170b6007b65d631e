package dev.latent.encode;

/**
 * Progress of one {@link dev.latent.encode.text.TextEncoder#encode(java.util.List, EncodeListener)} call. Called after each batch
 * from an encoding thread; calls for one encode call never overlap, and the counts never decrease.
 * Keep it quick: the batch's worker waits for it.
 */
@FunctionalInterface
public interface EncodeListener {
    /**
     * @param textsDone  texts encoded so far in this call
     * @param tokensDone non-padding tokens encoded so far in this call
     */
    void progress(long textsDone, long tokensDone);
}
