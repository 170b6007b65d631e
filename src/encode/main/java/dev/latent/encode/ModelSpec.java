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
 * @param image         for an image model, how an image becomes its pixel tensor; {@code null} otherwise
 * @param tensor        for a tensor model, its column count and standardisation; {@code null} otherwise
 * @param textModel     for an image model trained with a text tower into one space (CLIP's two towers), the
 *                      manifest name of that text model, which encodes text queries against its images; or null
 */
public record ModelSpec(String name, Modality modality, String description, Source source, int dimension, int maxLength,
        Pooling pooling, boolean normalize, String queryPrefix, String passagePrefix, Boolean tokenTypeIds,
        ImageSpec image, TensorSpec tensor, String textModel) {

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
        if (modality == Modality.IMAGE && image == null) {
            throw new IllegalArgumentException("image model '" + name + "' needs an \"image\" preprocessing entry");
        }
        if (modality == Modality.TENSOR && tensor == null) {
            throw new IllegalArgumentException("tensor model '" + name + "' needs a \"tensor\" entry (columns)");
        }
        if (modality == Modality.TEXT && maxLength < 2) {
            throw new IllegalArgumentException("model '" + name + "': maxLength must be >= 2, got " + maxLength);
        }
    }

    /**
     * A builder for a model named {@code name} with {@code modality}, its files from {@code source}; everything
     * else defaults: dimension read from the model, no token limit (text models need {@link Builder#maxLength}),
     * mean pooling, normalised, no prefixes, token type ids detected, no image, tensor or text-model entry.
     */
    public static Builder builder(String name, Modality modality, Source source) {
        return new Builder(name, modality, source);
    }

    /** A builder holding every field of this spec, to change some of them. */
    public Builder toBuilder() {
        Builder b = new Builder(name, modality, source);
        b.description = description;
        b.dimension = dimension;
        b.maxLength = maxLength;
        b.pooling = pooling;
        b.normalize = normalize;
        b.queryPrefix = queryPrefix;
        b.passagePrefix = passagePrefix;
        b.tokenTypeIds = tokenTypeIds;
        b.image = image;
        b.tensor = tensor;
        b.textModel = textModel;
        return b;
    }

    /** Builds a {@link ModelSpec}; {@link #build()} checks it as the record's constructor does. Not thread-safe. */
    public static final class Builder {
        private final String name;
        private final Modality modality;
        private final Source source;
        private String description = "";
        private int dimension;
        private int maxLength;
        private Pooling pooling = Pooling.MEAN;
        private boolean normalize = true;
        private String queryPrefix = "";
        private String passagePrefix = "";
        private Boolean tokenTypeIds;
        private ImageSpec image;
        private TensorSpec tensor;
        private String textModel;

        private Builder(String name, Modality modality, Source source) {
            this.name = name;
            this.modality = modality;
            this.source = source;
        }

        public Builder description(String description) {
            this.description = description;
            return this;
        }

        /** Output dimension; 0 reads it from the model. */
        public Builder dimension(int dimension) {
            this.dimension = dimension;
            return this;
        }

        public Builder maxLength(int maxLength) {
            this.maxLength = maxLength;
            return this;
        }

        public Builder pooling(Pooling pooling) {
            this.pooling = pooling;
            return this;
        }

        public Builder normalize(boolean normalize) {
            this.normalize = normalize;
            return this;
        }

        public Builder queryPrefix(String prefix) {
            this.queryPrefix = prefix;
            return this;
        }

        public Builder passagePrefix(String prefix) {
            this.passagePrefix = prefix;
            return this;
        }

        /** Whether the model takes token type ids; {@code null} detects it from the ONNX inputs. */
        public Builder tokenTypeIds(Boolean tokenTypeIds) {
            this.tokenTypeIds = tokenTypeIds;
            return this;
        }

        public Builder image(ImageSpec image) {
            this.image = image;
            return this;
        }

        public Builder tensor(TensorSpec tensor) {
            this.tensor = tensor;
            return this;
        }

        /** For an image model with a text tower in the same space: that text model's manifest name. */
        public Builder textModel(String textModel) {
            this.textModel = textModel;
            return this;
        }

        /** @throws IllegalArgumentException for a spec the record refuses (named by the model) */
        public ModelSpec build() {
            return new ModelSpec(name, modality, description, source, dimension, maxLength, pooling, normalize,
                    queryPrefix, passagePrefix, tokenTypeIds, image, tensor, textModel);
        }
    }

    /**
     * Where a model's files are found. Exactly one of {@code maven}, {@code directory} and {@code resource} is
     * set for a manifest entry; a model given by path uses {@link #ofPaths}.
     *
     * @param maven     Maven coordinates {@code group:artifact:version} of a jar holding the files at its
     *                  root, or {@code null}
     * @param directory folder holding the files, or {@code null}
     * @param resource  folder of the built-in models on the class path (under {@code dev/latent/encode/models/}),
     *                  for the models the project ships, or {@code null}
     * @param onnx      ONNX file: a resource name inside the jar, or a file name inside {@code directory}
     *                  (an absolute path is taken as is)
     * @param tokenizer tokenizer.json, named like {@code onnx}; {@code null} for a model that takes no text
     * @param decoder   the ONNX decoder of an autoencoder, named like {@code onnx}; {@code null} for none
     */
    public record Source(String maven, Path directory, String resource, String onnx, String tokenizer, String decoder) {
        public Source {
            Objects.requireNonNull(onnx, "onnx");
            int kinds = (maven != null ? 1 : 0) + (directory != null ? 1 : 0) + (resource != null ? 1 : 0);
            if (kinds != 1) {
                throw new IllegalArgumentException("a model source names exactly one of a Maven artifact, a directory "
                        + "or a built-in resource folder");
            }
        }

        /** A source in a Maven artifact or a directory, with no decoder. */
        public Source(String maven, Path directory, String onnx, String tokenizer) {
            this(maven, directory, null, onnx, tokenizer, null);
        }

        /** The same source with {@code file} as its ONNX file (used to locate the decoder). */
        public Source withOnnx(String file) {
            return new Source(maven, directory, resource, file, null, null);
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
            return maven != null ? maven + " (" + files + ")" : resource != null ? "built-in " + resource + "/" + files : files;
        }
    }
}
