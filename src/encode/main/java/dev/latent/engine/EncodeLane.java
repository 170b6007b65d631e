package dev.latent.engine;

import dev.latent.compute.DeviceException;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Neighbors;
import dev.latent.engine.EngineMetrics.Operation;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * Encode batches: at most maxTexts texts and texts × longest (tokens) within the token budget. A batch makes
 * one encoder call per kind of request in it (passages, queries, and text searches on the device path), and
 * a failed call fails only its own requests. Thread safety as {@link Lane}.
 */
final class EncodeLane extends Lane<EncodeRequest> {
    private static final Logger LOG = LoggerFactory.getLogger("dev.latent.engine");

    private final Engine.Encoder encoder;
    /** For text searches on the device path; null without an index. */
    private final Engine.Searcher searcher;
    private final AtomicBoolean deviceFallbackWarned = new AtomicBoolean();
    private final int maxTexts;
    private final int tokenBudget;
    private int count;
    private int longest;

    EncodeLane(Setup setup, int concurrency, Engine.Encoder encoder, Engine.Searcher searcher, int maxTexts,
            int tokenBudget) {
        super(setup, Operation.ENCODE, concurrency);
        this.encoder = encoder;
        this.searcher = searcher;
        this.maxTexts = maxTexts;
        this.tokenBudget = tokenBudget;
    }

    @Override
    void resetBudget() {
        count = 0;
        longest = 0;
    }

    @Override
    boolean admit(EncodeRequest r, boolean first) {
        int l = Math.max(longest, r.tokens);
        if (!first && (count + 1 > maxTexts || (long) (count + 1) * l > tokenBudget)) {
            return false;
        }
        count++;
        longest = l;
        return true;
    }

    @Override
    void compute(List<EncodeRequest> batch) {
        // Passages and queries differ by the model's prefix: one encoder call for each kind present; text
        // searches on the device path are a third call that also searches.
        List<EncodeRequest> passages = new ArrayList<>(batch.size());
        List<EncodeRequest> queries = new ArrayList<>();
        List<EncodeRequest> searches = new ArrayList<>();
        for (EncodeRequest r : batch) {
            (r.searchK > 0 ? searches : r.query ? queries : passages).add(r);
        }
        if (!passages.isEmpty()) {
            encodeGroup(passages, false);
        }
        if (!queries.isEmpty()) {
            encodeGroup(queries, true);
        }
        if (!searches.isEmpty()) {
            encodeAndSearch(searches);
        }
    }

    /** Text searches on the device path: one encoder run, the tokens pooled and searched where they are. */
    private void encodeAndSearch(List<EncodeRequest> group) {
        List<String> texts = new ArrayList<>(group.size());
        int k = 0;
        for (EncodeRequest r : group) {
            texts.add(r.text);
            k = Math.max(k, r.searchK);
        }
        final int kMax = k;
        Neighbors nb;
        try {
            try {
                nb = encoder.encodeUnpooled(texts, tokens -> searcher.searchPooled(tokens, kMax));
            } catch (DeviceException e) {
                // A device failure (CUDA error, device memory, its budget): the two-step way instead,
                // whose search falls back to the host in turn.
                Level level = deviceFallbackWarned.compareAndSet(false, true) ? Level.WARN : Level.DEBUG;
                LOG.atLevel(level).setCause(e).log("a text search batch of " + texts.size() + " failed on the device path;"
                        + " encoding and searching it again the host way (logged once; later ones at debug)");
                try (FloatMatrix q = encoder.encode(texts, true)) {
                    nb = searcher.search(q, kMax);
                }
            }
            if (nb == null || nb.queries() != texts.size()) {
                throw new IllegalStateException("the device search returned " + (nb == null ? "null" : nb.queries()
                        + " rows") + " for " + texts.size() + " texts");
            }
        } catch (Throwable t) {
            for (EncodeRequest r : group) {
                done(r, false);
                r.future.completeExceptionally(t);
            }
            LOG.atLevel(t instanceof RuntimeException ? Level.DEBUG : Level.WARN).setCause(t).log("text search batch of "
                    + group.size() + " failed on the device path; its callers get the cause");
            return;
        }
        for (int i = 0; i < group.size(); i++) {
            EncodeRequest r = group.get(i);
            done(r, true);
            r.neighbors.complete(SearchLane.first(nb, i, r.searchK));
            r.future.complete(null);
        }
    }

    private void encodeGroup(List<EncodeRequest> group, boolean query) {
        List<String> texts = new ArrayList<>(group.size());
        for (EncodeRequest r : group) {
            texts.add(r.text);
        }
        float[][] rows = new float[group.size()][];
        try (FloatMatrix m = encoder.encode(texts, query)) {
            if (m == null || m.rows() != texts.size()) {
                throw new IllegalStateException("the encoder returned " + (m == null ? "null" : m.rows() + " rows")
                        + " for " + texts.size() + " texts");
            }
            for (int i = 0; i < rows.length; i++) {
                rows[i] = m.getRow(i);
            }
        } catch (Throwable t) {
            // Only this group's callers: the other kind in the same batch may have succeeded already.
            for (EncodeRequest r : group) {
                done(r, false);
                r.future.completeExceptionally(t);
            }
            LOG.atLevel(t instanceof RuntimeException ? Level.DEBUG : Level.WARN).setCause(t).log("encode batch of "
                    + group.size() + " failed; its callers get the cause, the engine keeps serving");
            return;
        }
        for (int i = 0; i < rows.length; i++) {
            EncodeRequest r = group.get(i);
            done(r, true);
            r.future.complete(rows[i]);
        }
    }
}
