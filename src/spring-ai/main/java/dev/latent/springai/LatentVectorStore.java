package dev.latent.springai;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.index.Filter;
import dev.latent.index.SearchParams;
import dev.latent.index.VectorIndex;
import dev.latent.space.Record;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.springframework.ai.document.Document;
import org.springframework.ai.embedding.EmbeddingModel;
import org.springframework.ai.vectorstore.SearchRequest;
import org.springframework.ai.vectorstore.VectorStore;

/**
 * Spring AI's {@link VectorStore} on a Latent cosine index with records: a document's id is its record's key, its
 * text and metadata (strings, numbers, booleans, lists of strings) the record's text and payload; documents are
 * embedded with the given {@link EmbeddingModel}. Adding a stored id replaces it. Searches return documents with
 * their score (the cosine similarity, as Spring AI's {@code SimpleVectorStore} gives) and {@code distance}
 * ({@code 1 - score}) in their metadata; Spring AI's filter expressions ({@code == != > >= < <= in nin not and or}) are
 * answered by the index's payload filters; a filter on a key no document has matches nothing.
 *
 * <p>Thread-safe as the index is. The index and the model are the caller's (not closed or saved here).
 */
public final class LatentVectorStore implements VectorStore {
    private final VectorIndex index;
    private final EmbeddingModel model;

    /** @throws IllegalArgumentException for an index that is not cosine */
    public LatentVectorStore(VectorIndex index, EmbeddingModel model) {
        this.index = Objects.requireNonNull(index, "index");
        this.model = Objects.requireNonNull(model, "model");
        if (index.metric() != Metric.COSINE) {
            throw new IllegalArgumentException("a Spring AI store needs a cosine index; this one is " + index.metric());
        }
    }

    @Override
    public void add(List<Document> documents) {
        if (documents.isEmpty()) {
            return;
        }
        List<String> texts = new ArrayList<>(documents.size());
        List<Record> records = new ArrayList<>(documents.size());
        for (Document d : documents) {
            texts.add(d.getText());
            Map<String, Object> payload = new LinkedHashMap<>(d.getMetadata());
            payload.remove("distance");
            records.add(new Record(d.getId(), d.getText(), payload));
        }
        index.upsert(records, model.embed(texts));
    }

    @Override
    public void delete(List<String> ids) {
        index.removeKeys(ids);
    }

    @Override
    public void delete(org.springframework.ai.vectorstore.filter.Filter.Expression expression) {
        if (index.size() == 0) {
            return;
        }
        // Every matching document: a search of the whole index with the filter, ranked against any stored vector.
        float[] any = index.vector(index.ids()[0]);
        List<String> keys = new ArrayList<>();
        try (FloatMatrix q = FloatMatrix.of(any, any.length)) {
            Neighbors nb;
            try {
                nb = (Neighbors) index.search(q, SearchParams.topK((int) index.size()).filter(SpringFilters.of(expression)));
            } catch (IllegalArgumentException e) {
                if (e.getMessage() != null && e.getMessage().contains("no record has the field")) {
                    return;
                }
                throw e;
            }
            for (int r = 0; r < nb.count(); r++) {
                Record rec = index.record(nb.id(0, r));
                if (rec != null) {
                    keys.add(rec.key());
                }
            }
        }
        delete(keys);
    }

    @Override
    public List<Document> similaritySearch(SearchRequest request) {
        if (index.size() == 0) {
            return List.of();
        }
        float[] q = model.embed(request.getQuery());
        SearchParams params = SearchParams.topK((int) Math.min(request.getTopK(), index.size()));
        if (request.hasFilterExpression()) {
            params = params.filter(SpringFilters.of(request.getFilterExpression()));
        }
        Neighbors nb;
        try (FloatMatrix qm = FloatMatrix.of(q, q.length)) {
            try {
                nb = (Neighbors) index.search(qm, params);
            } catch (IllegalArgumentException e) {
                if (e.getMessage() != null && e.getMessage().contains("no record has the field")) {
                    return List.of();
                }
                throw e;
            }
        }
        List<Document> out = new ArrayList<>();
        for (int r = 0; r < nb.count(); r++) {
            float score = nb.score(0, r);
            if (Float.isNaN(score) || score < request.getSimilarityThreshold()) {
                continue;
            }
            Record rec = index.record(nb.id(0, r));
            Map<String, Object> meta = new LinkedHashMap<>(rec == null ? Map.of() : rec.payload());
            meta.put("distance", 1.0 - score);
            out.add(Document.builder().id(rec == null ? Long.toString(nb.id(0, r)) : rec.key())
                    .text(rec == null ? null : rec.text()).metadata(meta).score((double) score).build());
        }
        return out;
    }

    /** Spring AI's filter expressions as Latent's payload filters. */
    static final class SpringFilters {
        private SpringFilters() {
        }

        static Filter of(org.springframework.ai.vectorstore.filter.Filter.Operand operand) {
            if (operand instanceof org.springframework.ai.vectorstore.filter.Filter.Group g) {
                return of(g.content());
            }
            var e = (org.springframework.ai.vectorstore.filter.Filter.Expression) operand;
            switch (e.type()) {
                case AND: return of(e.left()).and(of(e.right()));
                case OR: return of(e.left()).or(of(e.right()));
                case NOT: return of(e.left()).negate();
                default: break;
            }
            String key = ((org.springframework.ai.vectorstore.filter.Filter.Key) e.left()).key();
            if (key.length() > 1 && (key.startsWith("\"") && key.endsWith("\"") || key.startsWith("'") && key.endsWith("'"))) {
                key = key.substring(1, key.length() - 1);
            }
            if (e.type() == org.springframework.ai.vectorstore.filter.Filter.ExpressionType.ISNULL) {
                return Filter.exists(key).negate();
            }
            if (e.type() == org.springframework.ai.vectorstore.filter.Filter.ExpressionType.ISNOTNULL) {
                return Filter.exists(key);
            }
            Object v = ((org.springframework.ai.vectorstore.filter.Filter.Value) e.right()).value();
            switch (e.type()) {
                case EQ: return Filter.eq(key, v);
                case NE: return Filter.ne(key, v);
                case GT: return Filter.gt(key, number(key, v));
                case GTE: return Filter.gte(key, number(key, v));
                case LT: return Filter.lt(key, number(key, v));
                case LTE: return Filter.lte(key, number(key, v));
                case IN: return Filter.in(key, ((List<?>) v).toArray());
                case NIN: return Filter.in(key, ((List<?>) v).toArray()).negate();
                default: throw new IllegalArgumentException("filter expression " + e.type() + " has no Latent form");
            }
        }

        private static double number(String key, Object v) {
            if (v instanceof Number n) {
                return n.doubleValue();
            }
            throw new IllegalArgumentException("'" + key + "' is compared by order with " + v
                    + "; Latent's payload filters order numbers only");
        }
    }
}
