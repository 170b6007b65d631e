package dev.latent.cli;

import dev.latent.analyse.text.SegmentTerms;
import dev.latent.analyse.text.TermEncoder;
import dev.latent.encode.Modality;
import dev.latent.encode.ModelManifest;
import dev.latent.encode.ModelSpec;
import dev.latent.encode.text.TextEncoder;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * How segments are named from their texts ({@code cluster}, {@code map}): class-based TF-IDF candidates, the
 * common-term filter and, unless {@code --plain-terms}, re-ranking by the text model's embeddings (see
 * {@link SegmentTerms}).
 */
final class TermOptions {
    @Option(names = "--plain-terms",
            description = "Name segments by class-based TF-IDF and the common-term filter alone, without encoding the "
                    + "candidate terms (default: candidates re-ranked by their similarity to the segment's centroid, "
                    + "then diversified).")
    boolean plain;

    @Option(names = "--term-candidates", paramLabel = "N", defaultValue = "30",
            description = "Best c-TF-IDF terms of each segment that are re-ranked (default: ${DEFAULT-VALUE}).")
    int candidates;

    @Option(names = "--term-diversity", paramLabel = "LAMBDA", defaultValue = "0.3",
            description = "Maximal marginal relevance: 0 ranks by similarity to the centroid alone, 1 only avoids terms "
                    + "like those chosen (BERTopic's diversity; default: ${DEFAULT-VALUE}).")
    double diversity;

    @Option(names = "--common-terms", paramLabel = "SHARE", defaultValue = "0.5",
            description = "Drop terms frequent in more than this share of the segments (1: keep them; "
                    + "default: ${DEFAULT-VALUE}).")
    double commonShare;

    @Option(names = "--common-df", paramLabel = "SHARE", defaultValue = "0.01",
            description = "A term is frequent in a segment when at least this share of its texts hold it "
                    + "(default: ${DEFAULT-VALUE}).")
    double commonDf;

    @Mixin
    ModelOptions model = new ModelOptions();

    /** The settings for {@code terms} terms per segment; a usage error for values out of range. */
    SegmentTerms settings(int terms, CommandLine cl) {
        model.check(cl);
        try {
            return SegmentTerms.of(terms).candidates(candidates).diversity(diversity).commonShare(commonShare)
                    .commonDf(commonDf);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage().replace("candidates per segment",
                    "--term-candidates").replace("diversity", "--term-diversity")
                    .replace("common-term share", "--common-terms")
                    .replace("common-term document frequency", "--common-df"));
        }
    }

    /** Why the terms were not re-ranked though --plain-terms was not given; null otherwise. */
    private String notReranked;

    /**
     * The encoder of the candidate terms, or null with {@code --plain-terms}: {@code --model}/{@code --onnx} if
     * given, else the model an index records. Vectors of no recorded model (an {@code .npy} file) with no model
     * given, and an index whose model is not a text model or cannot be opened here (model files of its own), are
     * named by c-TF-IDF alone, said in the summary line: a default model of the same dimension need not be the one
     * that embedded them, and its similarities would then be meaningless. A model that is given and cannot be
     * opened, or a given or recorded one of another dimension, is a usage error.
     *
     * @param metadata  the index's metadata, or null for {@code .npy} input
     * @param dimension the dimension of the clustered vectors
     */
    TextEncoder open(Map<String, String> metadata, int dimension, CommandLine cl) throws NoSuchFileException {
        if (plain) {
            return null;
        }
        boolean known = model.given() || metadata != null && (metadata.containsKey("model") || metadata.containsKey("onnx"));
        if (!known) {
            notReranked = String.format(Locale.ROOT, "not re-ranked: the vectors (dimension %d) record no model; "
                    + "--model or --onnx names the one that embedded them", dimension);
            return null;
        }
        if (!model.given() && metadata != null && !metadata.containsKey("onnx") && metadata.containsKey("model")) {
            String name = metadata.get("model");
            ModelSpec spec = ModelManifest.get().names().contains(name) ? ModelManifest.get().model(name) : null;
            if (spec != null && spec.modality() != Modality.TEXT && spec.textModel() == null) {
                notReranked = "not re-ranked: the index's model " + name + " is an "
                        + spec.modality().name().toLowerCase(Locale.ROOT) + " model with no paired text model";
                return null;
            }
        }
        TextEncoder enc;
        try {
            enc = model.open(metadata);
        } catch (IllegalArgumentException e) {
            if (model.given()) {
                throw new CommandLine.ParameterException(cl, e.getMessage());
            }
            // The index's own model cannot encode the terms here (model files of its own, a model this manifest
            // lacks): the names need no model, so they are made without one, and the summary says why.
            notReranked = "not re-ranked: " + e.getMessage();
            return null;
        }
        if (enc.dimension() != dimension) {
            String name = enc.modelName();
            int d = enc.dimension();
            enc.close();
            throw new CommandLine.ParameterException(cl, "the vectors have dimension " + dimension + " but model " + name
                    + " gives " + d + ": name the model that embedded them (--model), or --plain-terms");
        }
        return enc;
    }

    /** {@code enc} as the analyses see it; null for null. */
    static TermEncoder terms(TextEncoder enc) {
        return enc == null ? null : TermEncoder.of(enc::encode, enc.dimension());
    }

    /** One line saying how the terms were chosen and which common terms were dropped. */
    String describe(SegmentTerms.Named named, TextEncoder encoder) {
        String how = encoder == null ? "terms: class-based TF-IDF" + (notReranked != null ? " (" + notReranked + ")" : "")
                : String.format(Locale.ROOT, "terms: class-based TF-IDF candidates re-ranked by similarity to the "
                        + "centroid (model %s, diversity %.2f)", encoder.modelName(), diversity);
        List<String> common = named.common();
        if (common.isEmpty()) {
            return how + "; no common terms dropped";
        }
        int shown = Math.min(12, common.size());
        return how + "; common terms dropped: " + String.join(", ", common.subList(0, shown))
                + (common.size() > shown ? " and " + (common.size() - shown) + " more" : "");
    }
}
