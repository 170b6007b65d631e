package dev.latent.springai;

import dev.latent.core.FloatMatrix;
import dev.latent.encode.text.TextEncoder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.springframework.ai.document.Document;
import org.springframework.ai.embedding.Embedding;
import org.springframework.ai.embedding.EmbeddingModel;
import org.springframework.ai.embedding.EmbeddingRequest;
import org.springframework.ai.embedding.EmbeddingResponse;

/**
 * Spring AI's {@link EmbeddingModel} on Latent's text encoder: one encode call per request (the texts as documents,
 * with the model's passage prefix). Thread-safe as the encoder is; the encoder is the caller's (not closed here).
 */
public final class LatentSpringEmbeddingModel implements EmbeddingModel {
    private final TextEncoder encoder;

    public LatentSpringEmbeddingModel(TextEncoder encoder) {
        this.encoder = Objects.requireNonNull(encoder, "encoder");
    }

    @Override
    public EmbeddingResponse call(EmbeddingRequest request) {
        List<String> texts = request.getInstructions();
        List<Embedding> out = new ArrayList<>(texts.size());
        if (!texts.isEmpty()) {
            try (FloatMatrix m = encoder.encode(texts)) {
                for (int i = 0; i < texts.size(); i++) {
                    out.add(new Embedding(m.getRow(i), i));
                }
            }
        }
        return new EmbeddingResponse(out);
    }

    @Override
    public float[] embed(Document document) {
        return embed(document.getText());
    }

    @Override
    public int dimensions() {
        return encoder.dimension();
    }
}
