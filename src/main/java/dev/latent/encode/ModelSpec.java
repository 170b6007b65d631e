package dev.latent.encode;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One encoder model as the manifest ({@code models/models.json}) or a caller describes it. Immutable.
 *
 * @param name          manifest name (or, for a model given by path, the ONNX file name)
 * @param modality      what the model takes; text models need a tokenizer and a {@code maxLength}
 * @param description   one line for humans; may be empty
 * @param source        where the ONNX file (and, for text, the tokenizer.json) come from
 * @param dimension     output dimension; 0 means "read it from the model's output"
 * @param maxLength     maximum tokens per text, special tokens included; longer texts are truncated
 * @param pooling       how token vectors become one vector
 * @param normalize     whether vectors are scaled to unit L2 norm
 * @param queryPrefix   prepended to queries by the text encoder's {@code encodeQueries}; empty for none
 * @param passagePrefix prepended to passages by the text encoder's {@code encode}; empty for none
 * @param tokenTypeIds  whether the model takes a {@code token_type_ids} input; {@code null} means detect
 *                      it from the ONNX inputs
 */
public record ModelSpec(String name, Modality modality, String description, Source source, int dimension, int maxLength,
        Pooling pooling, boolean normalize, String queryPrefix, String passagePrefix, Boolean tokenTypeIds) {

    public ModelSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(modality, "modality");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(pooling, "pooling");
        description = description == null ? "" : description;
        queryPrefix = queryPrefix == null ? "" : queryPrefix;
        passagePrefix = passagePrefix == null ? "" : passagePrefix;
        if (dimension < 0) {
            throw new IllegalArgumentException("model '" + name + "': dimension must be >= 0, got " + dimension);
        }
        if (modality == Modality.TEXT && source.tokenizer() == null) {
            throw new IllegalArgumentException("text model '" + name + "' needs a tokenizer file");
        }
        if (modality == Modality.TEXT && maxLength < 2) {
            throw new IllegalArgumentException("model '" + name + "': maxLength must be >= 2, got " + maxLength);
        }
    }

    /**
     * Where a model's two files are found. Exactly one of {@code maven} and {@code directory} is set for
     * a manifest entry; a model given by path uses {@link #ofPaths}.
     *
     * @param maven     Maven coordinates {@code group:artifact:version} of a jar holding both files at its
     *                  root, or {@code null}
     * @param directory folder holding both files, or {@code null}
     * @param onnx      ONNX file: a resource name inside the jar, or a file name inside {@code directory}
     *                  (an absolute path is taken as is)
     * @param tokenizer tokenizer.json, named like {@code onnx}; {@code null} for a model that takes no text
     */
    public record Source(String maven, Path directory, String onnx, String tokenizer) {
        public Source {
            Objects.requireNonNull(onnx, "onnx");
            if ((maven == null) == (directory == null)) {
                throw new IllegalArgumentException("a model source names either a Maven artifact or a directory");
            }
        }

        /** A source made of explicit files; {@code tokenizer} may be {@code null}. */
        public static Source ofPaths(Path onnx, Path tokenizer) {
            Path o = onnx.toAbsolutePath();
            String t = tokenizer == null ? null : tokenizer.toAbsolutePath().toString();
            return new Source(null, o.getParent() == null ? Path.of("/") : o.getParent(), o.toString(), t);
        }

        /** The artifact's coordinates split into group, artifact, version. */
        public String[] coordinates() {
            String[] parts = maven.split(":");
            if (parts.length != 3) {
                throw new IllegalArgumentException("Maven source '" + maven + "' is not group:artifact:version");
            }
            return parts;
        }

        @Override
        public String toString() {
            String files = tokenizer == null ? onnx : onnx + ", " + tokenizer;
            return maven != null ? maven + " (" + files + ")" : files;
        }
    }
}
