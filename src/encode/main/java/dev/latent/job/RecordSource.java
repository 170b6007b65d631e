package dev.latent.job;

import dev.latent.corpus.Corpus;
import dev.latent.corpus.CorpusTexts;
import dev.latent.index.VectorIndex;
import dev.latent.space.Record;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * Where the names of results come from: the index's own records (key, text, payload) when it has them, else the
 * corpus it was embedded from when the caller gives one ({@code --corpus}: the corpus id as the key), else none.
 * Every command that shows results (search, path, outliers, cluster, map) and the server read names through this,
 * so they all show the same thing. Not thread-safe (the corpus reader caches).
 */
public final class RecordSource {
    private final VectorIndex index;
    private final CorpusTexts corpus;

    private RecordSource(VectorIndex index, CorpusTexts corpus) {
        this.index = index;
        this.corpus = corpus;
    }

    /**
     * Names from the index's records, or from {@code corpus} (may be null) for an index made without records (an
     * index with records ignores the corpus).
     */
    public static RecordSource of(VectorIndex index, CorpusTexts corpus) {
        return new RecordSource(index, index.hasRecords() ? null : corpus);
    }

    /** Whether results can be named (the index has records, or a corpus was given). */
    public boolean available() {
        return index.hasRecords() || corpus != null;
    }

    /**
     * The record of {@code id}: the index's, or one made from the corpus entry (key = corpus id, the text, the
     * payload fields the corpus was opened with); null when there is none.
     *
     * @throws IOException when the corpus cannot be read back
     */
    public Record get(long id) throws IOException {
        if (id == -1 && !index.contains(id)) {   // the padding of a short result
            return null;
        }
        if (corpus == null) {
            return index.hasRecords() ? index.record(id) : null;
        }
        Corpus.Entry e = corpus.get(id);
        return e == null ? null : new Record(e.id(), e.text(), e.payload());
    }

    /** The values of {@code fields} in {@code r}'s payload, in order (null where absent or without a record). */
    public static Object[] fields(Record r, List<String> fields) {
        Object[] out = new Object[fields.size()];
        if (r == null) {
            return out;
        }
        Map<String, Object> p = r.payload();
        for (int i = 0; i < out.length; i++) {
            out[i] = p.get(fields.get(i));
        }
        return out;
    }
}
