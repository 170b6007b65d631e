package dev.latent.index;

import dev.latent.core.Neighbors;
import dev.latent.core.TokenEmbeddings;

/**
 * An index that can search vectors pooled from an encoder's token embeddings where they are: on a GPU, tokens
 * in device memory are pooled and searched there, so the vectors never cross to the host. Optional: callers
 * test {@code index instanceof DeviceTokenSearch s && s.searchesDeviceTokens()}.
 */
public interface DeviceTokenSearch {
    /** Whether {@link #searchPooled} reads token embeddings in device memory now (the index searches on a GPU). */
    boolean searchesDeviceTokens();

    /**
     * The exact top-k of the vectors pooled from {@code tokens}, as a top-k search of them; device tokens are
     * pooled on the device, host tokens on the host.
     *
     * @throws IllegalArgumentException for k ≤ 0, a token width that is not the dimension, or device tokens on
     *     a backend that cannot read them
     * @throws dev.latent.compute.DeviceException when the device fails (the caller may pool on the host and
     *     search again)
     */
    Neighbors searchPooled(TokenEmbeddings tokens, int k);
}
