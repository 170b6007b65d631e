package dev.latent.engine;

import dev.latent.core.FloatMatrix;
import dev.latent.core.TokenEmbeddings;
import dev.latent.encode.onnx.OnnxModel;
import dev.latent.encode.text.TextEncoder;
import java.util.List;
import java.util.function.Function;

/**
 * {@link Engine.Encoder#of(TextEncoder)}: the text encoder, with its own token count
 * ({@link TextEncoder#countTokens}); on the CUDA provider it encodes text searches into device memory. Thread
 * safety and ownership as the encoder's: this adapter holds no state and does not close it.
 */
final class TextEncoderAdapter implements Engine.Encoder {
    private final TextEncoder encoder;

    TextEncoderAdapter(TextEncoder encoder) {
        this.encoder = encoder;
    }

    @Override
    public FloatMatrix encode(List<String> texts, boolean queries) {
        return queries ? encoder.encodeQueries(texts) : encoder.encode(texts);
    }

    @Override
    public int tokens(String text) {
        return encoder.countTokens(text);
    }

    @Override
    public String describe() {
        return encoder.modelName() + " on " + encoder.provider();
    }

    @Override
    public String name() {
        return encoder.modelName();
    }

    @Override
    public int dimension() {
        return encoder.dimension();
    }

    @Override
    public boolean encodesOnDevice() {
        return "CUDA".equals(encoder.provider());
    }

    @Override
    public <T> T encodeUnpooled(List<String> texts, Function<TokenEmbeddings, T> use) {
        return encoder.encodeBound(texts, true, encodesOnDevice() ? OnnxModel.Placement.DEVICE
                : OnnxModel.Placement.HOST, use);
    }
}
