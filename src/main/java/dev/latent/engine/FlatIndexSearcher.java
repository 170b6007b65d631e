package dev.latent.engine;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.core.TokenEmbeddings;
import dev.latent.index.FlatIndex;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@link Engine.Searcher#of(FlatIndex)}: a {@link FlatIndex} (safe for concurrent search, add and remove by
 * its read-write lock). When the index searches on a GPU and a batch fails there (a CUDA error, device
 * memory exhausted or past its budget), that batch is searched again on the host
 * ({@link FlatIndex#searchOnHost}); the first such fallback is logged as a warning with its cause, later ones
 * at FINE. Thread-safe; does not own the index (nor its device copy, which the index owns).
 */
final class FlatIndexSearcher implements Engine.Searcher {
    private static final Logger LOG = Logger.getLogger("dev.latent.engine");

    private final FlatIndex index;
    private final AtomicBoolean warned = new AtomicBoolean();

    FlatIndexSearcher(FlatIndex index) {
        this.index = index;
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
        try {
            return index.search(queries, k);
        } catch (IllegalStateException e) {
            // Device failures surface as IllegalStateException; on the host, and once closed, rethrow.
            if (!"cuda".equals(index.backend().name())) {
                throw e;
            }
            Level level = warned.compareAndSet(false, true) ? Level.WARNING : Level.FINE;
            LOG.log(level, "a search batch of " + queries.rows() + " failed on " + index.backend().description()
                    + "; searching it on the host instead (logged once; later ones at FINE)", e);
            return index.searchOnHost(queries, k);
        }
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
        return index.searchesDeviceTokens();
    }

    @Override
    public Neighbors searchPooled(TokenEmbeddings tokens, int k) {
        return index.searchPooled(tokens, k);
    }
}
