package dev.latent.engine;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Neighbors;
import dev.latent.engine.EngineMetrics.Operation;
import java.util.Arrays;
import java.util.List;

/**
 * Search batches: at most maxQueries queries, searched with the batch's largest k; each request gets its own
 * first k. The batch's query matrix is allocated off-heap here and closed once the searcher returns. Thread
 * safety as {@link Lane}.
 */
final class SearchLane extends Lane<SearchRequest> {
    private final Engine.Searcher searcher;
    private final int maxQueries;
    private int count;

    SearchLane(Setup setup, int concurrency, Engine.Searcher searcher, int maxQueries) {
        super(setup, Operation.SEARCH, concurrency);
        this.searcher = searcher;
        this.maxQueries = maxQueries;
    }

    @Override
    void resetBudget() {
        count = 0;
    }

    @Override
    boolean admit(SearchRequest r, boolean first) {
        if (!first && count + 1 > maxQueries) {
            return false;
        }
        count++;
        return true;
    }

    @Override
    void compute(List<SearchRequest> batch) {
        int d = searcher.dimension();
        int k = 0;
        for (SearchRequest r : batch) {
            k = Math.max(k, r.k);
        }
        Neighbors nb;
        try (FloatMatrix q = FloatMatrix.allocate(batch.size(), d)) {
            for (int i = 0; i < batch.size(); i++) {
                q.setRow(i, batch.get(i).query);
            }
            nb = searcher.search(q, k);
        }
        if (nb.queries() != batch.size()) {
            throw new IllegalStateException("the index returned results for " + nb.queries() + " queries, "
                    + batch.size() + " were asked");
        }
        for (int i = 0; i < batch.size(); i++) {
            SearchRequest r = batch.get(i);
            done(r, true);
            r.future.complete(first(nb, i, r.k));
        }
    }

    /** The first {@code k} results of query {@code i} of a batch, as a one-query result. */
    static Neighbors first(Neighbors nb, int i, int k) {
        int c = Math.min(k, nb.count());
        return new Neighbors(1, c, Arrays.copyOf(nb.ids(i), c), Arrays.copyOf(nb.scores(i), c), nb.metric());
    }
}
