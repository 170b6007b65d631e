package dev.latent.cli;

import dev.latent.encode.Modality;
import dev.latent.encode.ModelManifest;
import dev.latent.encode.ModelSpec;

import dev.latent.encode.text.TextEncoder;
import dev.latent.index.VectorIndex;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** Which text model to use: a manifest name, or a user's own ONNX export and tokenizer. */
final class ModelOptions {
    @Option(names = "--model", paramLabel = "NAME",
            description = "Model from the manifest (see 'latent models'); default: the index's model, else the "
                    + "manifest's default (marked in 'latent models').")
    String model;

    @Option(names = "--onnx", paramLabel = "FILE", description = "Your own ONNX export (needs --tokenizer).")
    Path onnx;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "The tokenizer.json that goes with --onnx.")
    Path tokenizer;

    @Option(names = "--use-index-model-paths",
            description = "Open the ONNX and tokenizer files whose paths the index's metadata records (an index file "
                    + "never opens local files by itself).")
    boolean useIndexPaths;

    /** Throws a usage error for inconsistent choices. */
    void check(CommandLine cl) {
        if ((onnx == null) != (tokenizer == null)) {
            throw new CommandLine.ParameterException(cl, "--onnx and --tokenizer go together");
        }
        if (onnx != null && model != null) {
            throw new CommandLine.ParameterException(cl, "use either --model or --onnx/--tokenizer, not both");
        }
    }

    boolean given() {
        return model != null || onnx != null;
    }

    /**
     * Opens the encoder: these options if given, else the model recorded in {@code metadata}
     * (an index's), else the default model.
     */
    TextEncoder open(Map<String, String> metadata) throws NoSuchFileException {
        TextEncoder.Builder b = TextEncoder.builder();
        if (onnx != null) {
            requireFile(onnx);
            requireFile(tokenizer);
            return b.modelPath(onnx).tokenizerPath(tokenizer).build();
        }
        String named = model != null ? model : metadata != null && !metadata.containsKey("onnx") ? metadata.get("model") : null;
        if (named != null) {
            ModelSpec spec = ModelManifest.get().model(named);
            if (spec.modality() != Modality.TEXT) {
                if (spec.textModel() == null) {
                    throw new IllegalArgumentException("model " + named + " is an " + spec.modality().name().toLowerCase(java.util.Locale.ROOT)
                            + " model with no paired text model (\"textModel\" in its manifest entry), so texts cannot be "
                            + "searched against its vectors; search with query vectors (--queries-npy) instead");
                }
                return b.model(spec.textModel()).build();
            }
        }
        if (model != null) {
            return b.model(model).build();
        }
        if (metadata != null && metadata.containsKey("onnx") && metadata.containsKey("tokenizer")) {
            Path o = Path.of(metadata.get("onnx"));
            Path t = Path.of(metadata.get("tokenizer"));
            if (!useIndexPaths) {
                // Paths inside a file someone may have handed over are not opened on their say-so.
                throw new IllegalArgumentException("this index was embedded with your own model files (" + o + ", " + t
                        + "); an index file does not open local files by itself: to encode text queries with them, "
                        + "pass --onnx " + o + " --tokenizer " + t + " (or --use-index-model-paths), "
                        + "or search with query vectors (--queries-npy)");
            }
            requireFile(o);
            requireFile(t);
            return b.modelPath(o).tokenizerPath(t).build();
        }
        if (metadata != null && metadata.containsKey("model")) {
            return b.model(metadata.get("model")).build();
        }
        return b.model(TextEncoder.defaultModel()).build();
    }

    /** Metadata recording the model, so that 'latent search' can encode queries the same way. */
    static void record(VectorIndex index, TextEncoder enc, ModelOptions options) {
        index.putMetadata("model", enc.modelName());
        if (options != null) {
            options.fileMetadata().forEach(index::putMetadata);
        }
    }

    /** The model files given by path ({@code onnx}, {@code tokenizer}, absolute) as index metadata; empty for a named model. */
    Map<String, String> fileMetadata() {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        if (onnx != null) {
            m.put("onnx", onnx.toAbsolutePath().toString());
            m.put("tokenizer", tokenizer.toAbsolutePath().toString());
        }
        return m;
    }

    private static void requireFile(Path p) throws NoSuchFileException {
        if (!Files.isRegularFile(p)) {
            throw new NoSuchFileException(p.toString());
        }
    }

    /** The image model {@code name} names, or null when it names none or a model of another modality. */
    static ModelSpec imageModel(String name) {
        return model(name, Modality.IMAGE);
    }

    /** The tensor model {@code name} names, or null when it names none or a model of another modality. */
    static ModelSpec tensorModel(String name) {
        return model(name, Modality.TENSOR);
    }

    /** The manifest entry {@code name} when it is of {@code modality}; null for no name or another modality. */
    private static ModelSpec model(String name, Modality modality) {
        if (name == null) {
            return null;
        }
        ModelSpec spec = ModelManifest.get().model(name);
        return spec.modality() == modality ? spec : null;
    }

    /** Whether {@code model} names an image model (whose input may be a folder); false for unknown names. */
    static boolean isFolderModel(String model) {
        try {
            return imageModel(model) != null;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
