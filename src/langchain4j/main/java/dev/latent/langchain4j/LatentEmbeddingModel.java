package dev.latent.langchain4j;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.output.Response;
import dev.langchain4j.model.output.TokenUsage;
import dev.latent.core.FloatMatrix;
import dev.latent.encode.text.TextEncoder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * LangChain4j's {@link EmbeddingModel} on Latent's text encoder (ONNX Runtime, on CUDA where there is a GPU): one
 * encode call per {@link #embedAll}, the token usage counted by the model's own tokenizer. Segments are embedded as
 * documents (the model's passage prefix); {@link #embedQuery} uses its query prefix, for models that have one.
 *
 * <p>Thread-safe as the encoder is. The encoder is the caller's: this does not close it.
 */
public final class LatentEmbeddingModel implements EmbeddingModel {
    private final TextEncoder encoder;

    public LatentEmbeddingModel(TextEncoder encoder) {
        this.encoder = Objects.requireNonNull(encoder, "encoder");
    }

    @Override
    public Response<List<Embedding>> embedAll(List<TextSegment> segments) {
        List<String> texts = new ArrayList<>(segments.size());
        for (TextSegment s : segments) {
            texts.add(s.text());
        }
        return embed(texts, false);
    }

    /** The embedding of a search query (the model's query prefix, where it has one). */
    public Response<Embedding> embedQuery(String query) {
        Response<List<Embedding>> r = embed(List.of(query), true);
        return Response.from(r.content().get(0), r.tokenUsage());
    }

    private Response<List<Embedding>> embed(List<String> texts, boolean queries) {
        if (texts.isEmpty()) {
            return Response.from(List.of(), new TokenUsage(0));
        }
        int tokens = 0;
        for (String t : texts) {
            tokens += encoder.countTokens(t);
        }
        List<Embedding> out = new ArrayList<>(texts.size());
        try (FloatMatrix m = queries ? encoder.encodeQueries(texts) : encoder.encode(texts)) {
            for (int i = 0; i < texts.size(); i++) {
                out.add(Embedding.from(m.getRow(i)));
            }
        }
        return Response.from(out, new TokenUsage(tokens));
    }

    @Override
    public int dimension() {
        return encoder.dimension();
    }

    @Override
    public String modelName() {
        return encoder.modelName();
    }
}
