package dev.latent.langchain4j;

import dev.langchain4j.data.document.Metadata;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.store.embedding.EmbeddingMatch;
import dev.langchain4j.store.embedding.EmbeddingSearchRequest;
import dev.langchain4j.store.embedding.EmbeddingSearchResult;
import dev.langchain4j.store.embedding.EmbeddingStore;
import dev.langchain4j.store.embedding.filter.comparison.IsEqualTo;
import dev.langchain4j.store.embedding.filter.comparison.IsGreaterThan;
import dev.langchain4j.store.embedding.filter.comparison.IsGreaterThanOrEqualTo;
import dev.langchain4j.store.embedding.filter.comparison.IsIn;
import dev.langchain4j.store.embedding.filter.comparison.IsLessThan;
import dev.langchain4j.store.embedding.filter.comparison.IsLessThanOrEqualTo;
import dev.langchain4j.store.embedding.filter.comparison.IsNotEqualTo;
import dev.langchain4j.store.embedding.filter.comparison.IsNotIn;
import dev.langchain4j.store.embedding.filter.logical.And;
import dev.langchain4j.store.embedding.filter.logical.Not;
import dev.langchain4j.store.embedding.filter.logical.Or;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.index.Filter;
import dev.latent.index.SearchParams;
import dev.latent.index.VectorIndex;
import dev.latent.space.Record;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * LangChain4j's {@link EmbeddingStore} of {@link TextSegment}s on a Latent index with records: an embedding's id is
 * its record's key, the segment's text its text, the segment's metadata its payload (strings, numbers; a UUID is
 * kept as its string). Adding an id that is stored replaces it. Searches take LangChain4j's metadata filters
 * (equal, not equal, greater, less, in, not in, and, or, not), answered by the index's payload filters; a filter
 * on a field no record has matches nothing. Scores are LangChain4j's relevance scores: {@code (cosine + 1) / 2}
 * on a cosine index; {@code minScore} drops matches below it.
 *
 * <p>Thread-safe as the index is (concurrent searches, exclusive writers). The index is the caller's: this does
 * not close it or save it ({@link VectorIndex#save}).
 */
public final class LatentEmbeddingStore implements EmbeddingStore<TextSegment> {
    private final VectorIndex index;

    /**
     * @throws IllegalArgumentException for an index that is not cosine (relevance scores are defined for cosine)
     */
    public LatentEmbeddingStore(VectorIndex index) {
        this.index = Objects.requireNonNull(index, "index");
        if (index.metric() != Metric.COSINE) {
            throw new IllegalArgumentException("a LangChain4j store needs a cosine index; this one is " + index.metric());
        }
    }

    @Override
    public String add(Embedding embedding) {
        String id = UUID.randomUUID().toString();
        add(id, embedding);
        return id;
    }

    @Override
    public void add(String id, Embedding embedding) {
        addAll(List.of(id), List.of(embedding), null);
    }

    @Override
    public String add(Embedding embedding, TextSegment segment) {
        String id = UUID.randomUUID().toString();
        addAll(List.of(id), List.of(embedding), List.of(segment));
        return id;
    }

    @Override
    public List<String> addAll(List<Embedding> embeddings) {
        List<String> ids = generateIds(embeddings.size());
        addAll(ids, embeddings, null);
        return ids;
    }

    @Override
    public void addAll(List<String> ids, List<Embedding> embeddings, List<TextSegment> segments) {
        if (ids.size() != embeddings.size() || segments != null && segments.size() != embeddings.size()) {
            throw new IllegalArgumentException(ids.size() + " ids, " + embeddings.size() + " embeddings and "
                    + (segments == null ? 0 : segments.size()) + " segments");
        }
        if (ids.isEmpty()) {
            return;
        }
        List<Record> records = new ArrayList<>(ids.size());
        List<float[]> vectors = new ArrayList<>(ids.size());
        for (int i = 0; i < ids.size(); i++) {
            vectors.add(embeddings.get(i).vector());
            TextSegment s = segments == null ? null : segments.get(i);
            records.add(new Record(ids.get(i), s == null ? null : s.text(), s == null ? Map.of() : payload(s.metadata())));
        }
        index.upsert(records, vectors);
    }

    @Override
    public void removeAll(Collection<String> ids) {
        index.removeKeys(ids);
    }

    @Override
    public void removeAll() {
        long[] ids = index.ids();
        if (ids.length > 0) {
            index.remove(ids);
        }
    }

    @Override
    public EmbeddingSearchResult<TextSegment> search(EmbeddingSearchRequest request) {
        float[] q = request.queryEmbedding().vector();
        int k = (int) Math.min(request.maxResults(), Math.max(1, index.size()));
        if (index.size() == 0) {
            return new EmbeddingSearchResult<>(List.of());
        }
        SearchParams params = SearchParams.topK(k);
        if (request.filter() != null) {
            params = params.filter(filter(request.filter()));
        }
        Neighbors nb;
        try (FloatMatrix qm = FloatMatrix.of(q, q.length)) {
            try {
                nb = (Neighbors) index.search(qm, params);
            } catch (IllegalArgumentException e) {
                if (e.getMessage() != null && e.getMessage().contains("no record has the field")) {
                    return new EmbeddingSearchResult<>(List.of());   // LangChain4j: an unknown key matches nothing
                }
                throw e;
            }
        }
        List<EmbeddingMatch<TextSegment>> matches = new ArrayList<>();
        for (int r = 0; r < nb.count(); r++) {
            long id = nb.id(0, r);
            float cos = nb.score(0, r);
            if (Float.isNaN(cos)) {
                continue;   // padding of a short result
            }
            double relevance = (cos + 1) / 2;
            if (relevance < request.minScore()) {
                continue;
            }
            Record rec = index.record(id);
            String key = rec == null ? Long.toString(id) : rec.key();
            TextSegment segment = rec == null || rec.text() == null ? null
                    : TextSegment.from(rec.text(), metadata(rec.payload()));
            matches.add(new EmbeddingMatch<>(relevance, key, Embedding.from(index.vector(id)), segment));
        }
        return new EmbeddingSearchResult<>(matches);
    }

    /** A segment's metadata as a payload: numbers as Long or Double, a UUID as its string. */
    private static Map<String, Object> payload(Metadata m) {
        Map<String, Object> out = new LinkedHashMap<>();
        m.toMap().forEach((k, v) -> out.put(k, value(v)));
        return out;
    }

    private static Object value(Object v) {
        if (v instanceof UUID u) {
            return u.toString();
        }
        if (v instanceof Integer || v instanceof Long) {
            return ((Number) v).longValue();
        }
        if (v instanceof Float || v instanceof Double) {
            return ((Number) v).doubleValue();
        }
        return v;
    }

    private static Metadata metadata(Map<String, Object> payload) {
        Map<String, Object> m = new LinkedHashMap<>();
        payload.forEach((k, v) -> {
            if (v instanceof String || v instanceof Long || v instanceof Double) {
                m.put(k, v);
            } else {
                m.put(k, String.valueOf(v));   // booleans and lists: LangChain4j's metadata holds no such types
            }
        });
        return Metadata.from(m);
    }

    /**
     * LangChain4j's metadata filter as Latent's payload filter.
     *
     * @throws IllegalArgumentException for a filter Latent has no form of (a string compared by order, a substring)
     */
    static Filter filter(dev.langchain4j.store.embedding.filter.Filter f) {
        if (f instanceof IsEqualTo x) {
            return Filter.eq(x.key(), value(x.comparisonValue()));
        }
        if (f instanceof IsNotEqualTo x) {
            return Filter.ne(x.key(), value(x.comparisonValue()));
        }
        if (f instanceof IsGreaterThan x) {
            return Filter.gt(x.key(), number(x.key(), x.comparisonValue()));
        }
        if (f instanceof IsGreaterThanOrEqualTo x) {
            return Filter.gte(x.key(), number(x.key(), x.comparisonValue()));
        }
        if (f instanceof IsLessThan x) {
            return Filter.lt(x.key(), number(x.key(), x.comparisonValue()));
        }
        if (f instanceof IsLessThanOrEqualTo x) {
            return Filter.lte(x.key(), number(x.key(), x.comparisonValue()));
        }
        if (f instanceof IsIn x) {
            return Filter.in(x.key(), x.comparisonValues().stream().map(LatentEmbeddingStore::value).toArray());
        }
        if (f instanceof IsNotIn x) {
            return Filter.in(x.key(), x.comparisonValues().stream().map(LatentEmbeddingStore::value).toArray()).negate();
        }
        if (f instanceof And a) {
            return filter(a.left()).and(filter(a.right()));
        }
        if (f instanceof Or o) {
            return filter(o.left()).or(filter(o.right()));
        }
        if (f instanceof Not n) {
            return filter(n.expression()).negate();
        }
        throw new IllegalArgumentException("the metadata filter " + f.getClass().getSimpleName()
                + " has no Latent form (equal, not equal, greater, less, in, not in, and, or, not)");
    }

    private static double number(String key, Object v) {
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        throw new IllegalArgumentException("'" + key + "' is compared by order with " + v
                + "; Latent's payload filters order numbers only");
    }
}
