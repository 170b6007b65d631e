package dev.latent.encode.text;

import dev.latent.encode.ModelSpec;
import dev.latent.encode.onnx.ElementType;
import dev.latent.encode.onnx.OnnxModel;
import dev.latent.encode.onnx.TensorInfo;
import java.util.ArrayList;
import java.util.List;

/**
 * What a transformer text encoder's ONNX file must look like, checked once when it opens: inputs
 * {@code input_ids} and {@code attention_mask} (and {@code token_type_ids} as the manifest says, or as found),
 * all int64 {@code [batch, tokens]}; a float output {@code [batch, tokens, hidden]} (preferably
 * {@code last_hidden_state}) or an already pooled {@code [batch, hidden]}.
 *
 * @param takesTokenTypeIds whether runs feed {@code token_type_ids}
 * @param output            the output the encoder reads
 * @param outputRank        3 for per-token hidden states, 2 for pooled vectors
 * @param declaredDim       hidden width as declared, or -1 when symbolic
 */
record TextSignature(boolean takesTokenTypeIds, String output, int outputRank, long declaredDim) {
    static final String IDS = "input_ids";
    static final String MASK = "attention_mask";
    static final String TYPES = "token_type_ids";

    /** Checks {@code model} against {@code spec}; the message names the file and what was found. */
    static TextSignature check(OnnxModel model, ModelSpec spec) {
        String origin = model.origin();
        List<String> inputs = model.inputNames();
        boolean hasTypes = inputs.contains(TYPES);
        List<String> expected = new ArrayList<>(List.of(IDS, MASK));
        Boolean wantTypes = spec.tokenTypeIds();
        if (wantTypes == null ? hasTypes : wantTypes) {
            expected.add(TYPES);
        }
        if (!inputs.containsAll(expected) || !expected.containsAll(inputs)) {
            throw new IllegalArgumentException("model file " + origin + " has inputs " + inputs
                    + ", but model '" + spec.name() + "' expects " + expected
                    + (wantTypes == null ? "" : " (manifest tokenTypeIds=" + wantTypes + ")"));
        }
        for (TensorInfo in : model.inputs()) {
            if (in.type() != ElementType.INT64) {
                throw new IllegalArgumentException("model file " + origin + ": input " + in.name()
                        + " has element type " + in.typeCode() + ", expected int64 (" + ElementType.INT64.code() + ")");
            }
        }
        List<TensorInfo> outputs = model.outputs();
        List<String> names = model.outputNames();
        int chosen = names.indexOf("last_hidden_state");
        if (chosen < 0) {
            chosen = names.indexOf("token_embeddings");
        }
        if (chosen < 0) {
            chosen = 0;
        }
        TensorInfo out = outputs.get(chosen);
        if (out.type() != ElementType.FLOAT || (out.rank() != 3 && out.rank() != 2)) {
            throw new IllegalArgumentException("model file " + origin + ": output " + out.name()
                    + " is not a float [batch, tokens, hidden] or [batch, hidden] tensor (element type "
                    + out.typeCode() + ", rank " + out.rank() + "); outputs: " + names);
        }
        return new TextSignature(expected.contains(TYPES), out.name(), out.rank(), out.lastDim());
    }
}
