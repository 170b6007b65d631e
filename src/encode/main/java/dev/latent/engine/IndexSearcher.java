package dev.latent.engine;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.core.TokenEmbeddings;
import dev.latent.index.DeviceTokenSearch;
import dev.latent.index.VectorIndex;
import java.io.IOException;
import java.nio.file.Path;

/**
 * {@link Engine.Searcher#of(VectorIndex)}: an index of any kind as the engine calls it. The index answers a
 * batch its device fails on the host itself; token search on the device is offered where the index has it
 * ({@link DeviceTokenSearch}). Thread-safe as the index is; does not own the index.
 */
final class IndexSearcher implements Engine.Searcher {
    private final VectorIndex index;
    private final DeviceTokenSearch tokens;   // null: the index cannot search pooled tokens

    IndexSearcher(VectorIndex index) {
        this.index = index;
        this.tokens = index instanceof DeviceTokenSearch t ? t : null;
    }

    @Override
    public int dimension() {
        return index.dimension();
    }

    @Override
    public Metric metric() {
        return index.metric();
    }

    @Override
    public Neighbors search(FloatMatrix queries, int k) {
        return index.search(queries, k);
    }

    @Override
    public Neighbors search(FloatMatrix queries, int k, dev.latent.index.Filter filter) {
        return (Neighbors) index.search(queries, dev.latent.index.SearchParams.topK(k).filter(filter));
    }

    @Override
    public dev.latent.space.Record record(long id) {
        return index.record(id);
    }

    @Override
    public void add(long id, float[] vector) {
        index.add(id, vector);
    }

    @Override
    public boolean remove(long id) {
        return index.remove(id) > 0;
    }

    @Override
    public String describe() {
        return index.backend().description();
    }

    @Override
    public void save(Path file) throws IOException {
        index.save(file);
    }

    @Override
    public boolean searchesDeviceTokens() {
        return tokens != null && tokens.searchesDeviceTokens();
    }

    @Override
    public Neighbors searchPooled(TokenEmbeddings pooled, int k) {
        if (tokens == null) {
            return Engine.Searcher.super.searchPooled(pooled, k);
        }
        return tokens.searchPooled(pooled, k);
    }
}
