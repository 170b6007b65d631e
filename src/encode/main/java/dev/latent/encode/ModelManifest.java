package dev.latent.encode;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The model manifest: {@code models/models.json} in the source tree, packed into the jar as the class path
 * resource {@value #RESOURCE}. A new ONNX export is added by an entry here, not by code. The system property
 * {@code latent.models} may name another manifest file; its {@code "path"} sources are then resolved
 * against that file's folder.
 *
 * <p>Entry fields: {@code modality} ({@code text}, the default, {@code image} or {@code tensor}), {@code source} ({@code maven} = {@code group:artifact:version}, {@code path} = a folder,
 * or {@code resource} = a folder of the models the project ships, plus {@code onnx}, {@code tokenizer} and,
 * for an autoencoder, {@code decoder} file names), {@code image} (for image models: {@link ImageSpec#fromJson}), {@code tensor} (for tensor models: {@link TensorSpec#fromJson}), {@code textModel} (for an image model
 * whose text tower shares its space, such as CLIP's: the name of that text model's entry), {@code dimension} (0 or absent: read from the
 * model), {@code maxLength} (tokens), {@code pooling} ({@code mean} or {@code cls}), {@code normalize},
 * {@code queryPrefix}, {@code passagePrefix}, {@code tokenTypeIds} ({@code true}, {@code false} or
 * {@code "auto"}: detect from the ONNX inputs).
 *
 * <p>Immutable and thread-safe once loaded.
 */
public final class ModelManifest {
    /** Class path resource of the built-in manifest. */
    public static final String RESOURCE = "dev/latent/encode/models/models.json";

    private final String source;
    private final String defaultModel;
    private final Map<String, ModelSpec> models;

    private ModelManifest(String source, String defaultModel, Map<String, ModelSpec> models) {
        this.source = source;
        this.defaultModel = defaultModel;
        this.models = Collections.unmodifiableMap(models);
    }

    private static final class Holder {
        static final ModelManifest BUILT_IN = loadDefault();
    }

    /** The manifest in use: the file named by {@code latent.models}, else the built-in one. */
    public static ModelManifest get() {
        String override = System.getProperty("latent.models");
        if (override != null && !override.isBlank()) {
            return load(Path.of(override));
        }
        return Holder.BUILT_IN;
    }

    private static ModelManifest loadDefault() {
        ClassLoader cl = ModelManifest.class.getClassLoader();
        try (InputStream in = cl.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("model manifest " + RESOURCE + " is missing from the class path "
                        + "(the jar was built without the models/ resources)");
            }
            return parse(in.readAllBytes(), "class path resource " + RESOURCE, Path.of("."));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read model manifest " + RESOURCE, e);
        }
    }

    /** Reads a manifest file; {@code "path"} sources are resolved against its folder. */
    public static ModelManifest load(Path file) {
        try {
            Path dir = file.toAbsolutePath().getParent();
            return parse(Files.readAllBytes(file), file.toString(), dir);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read model manifest " + file + ": " + e, e);
        }
    }

    static ModelManifest parse(byte[] json, String origin, Path baseDir) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("model manifest " + origin + " is not valid JSON: " + e.getMessage(), e);
        }
        JsonNode entries = root.path("models");
        if (!entries.isObject() || entries.isEmpty()) {
            throw new IllegalArgumentException("model manifest " + origin + " has no \"models\" object");
        }
        Map<String, ModelSpec> models = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = entries.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            try {
                models.put(e.getKey(), entry(e.getKey(), e.getValue(), baseDir));
            } catch (RuntimeException ex) {
                throw new IllegalArgumentException("model manifest " + origin + ", entry '" + e.getKey() + "': "
                        + ex.getMessage(), ex);
            }
        }
        for (ModelSpec spec : models.values()) {
            String t = spec.textModel();
            if (t != null && (!models.containsKey(t) || models.get(t).modality() != Modality.TEXT)) {
                throw new IllegalArgumentException("model manifest " + origin + ", entry '" + spec.name() + "': textModel '"
                        + t + "' is not a text model of this manifest");
            }
        }
        String def = root.path("default").asText(models.keySet().iterator().next());
        if (!models.containsKey(def)) {
            throw new IllegalArgumentException("model manifest " + origin + ": default model '" + def
                    + "' is not one of " + models.keySet());
        }
        return new ModelManifest(origin, def, models);
    }

    private static ModelSpec entry(String name, JsonNode n, Path baseDir) {
        JsonNode src = n.path("source");
        Modality modality = Modality.parse(n.path("modality").asText("text"));
        String onnx = required(src, "onnx");
        String tokenizer = modality == Modality.TEXT ? required(src, "tokenizer") : src.path("tokenizer").asText(null);
        String decoder = src.path("decoder").asText(null);
        ModelSpec.Source source;
        if (src.hasNonNull("maven")) {
            source = new ModelSpec.Source(src.get("maven").asText(), null, null, onnx, tokenizer, decoder);
            source.coordinates();
        } else if (src.hasNonNull("path")) {
            source = new ModelSpec.Source(null, baseDir.resolve(src.get("path").asText()).normalize(), null, onnx,
                    tokenizer, decoder);
        } else if (src.hasNonNull("resource")) {
            source = new ModelSpec.Source(null, null, src.get("resource").asText(), onnx, tokenizer, decoder);
        } else {
            throw new IllegalArgumentException("source needs \"maven\", \"path\" or \"resource\"");
        }
        ImageSpec image = null;
        if (modality == Modality.IMAGE) {
            if (!n.path("image").isObject()) {
                throw new IllegalArgumentException("an image model needs an \"image\" object (size, resample, channels, mean, std)");
            }
            image = ImageSpec.fromJson(n.get("image"));
        }
        TensorSpec tensor = null;
        if (modality == Modality.TENSOR) {
            if (!n.path("tensor").isObject()) {
                throw new IllegalArgumentException("a tensor model needs a \"tensor\" object (columns, optional mean and std)");
            }
            tensor = TensorSpec.fromJson(n.get("tensor"));
        }
        if (modality == Modality.TEXT && !n.hasNonNull("maxLength")) {
            throw new IllegalArgumentException("missing \"maxLength\"");
        }
        Boolean tokenTypeIds = null;
        JsonNode tt = n.path("tokenTypeIds");
        if (tt.isBoolean()) {
            tokenTypeIds = tt.asBoolean();
        } else if (!tt.isMissingNode() && !tt.isNull() && !"auto".equals(tt.asText())) {
            throw new IllegalArgumentException("tokenTypeIds must be true, false or \"auto\", got " + tt);
        }
        return ModelSpec.builder(name, modality, source)
                .description(n.path("description").asText(""))
                .dimension(n.path("dimension").asInt(0))
                .maxLength(n.path("maxLength").asInt(0))
                .pooling(Pooling.parse(n.path("pooling").asText("mean")))
                .normalize(n.path("normalize").asBoolean(true))
                .queryPrefix(n.path("queryPrefix").asText(""))
                .passagePrefix(n.path("passagePrefix").asText(""))
                .tokenTypeIds(tokenTypeIds)
                .image(image)
                .tensor(tensor)
                .textModel(n.path("textModel").asText(null))
                .build();
    }

    private static String required(JsonNode n, String field) {
        if (!n.hasNonNull(field)) {
            throw new IllegalArgumentException("source is missing \"" + field + "\"");
        }
        return n.get(field).asText();
    }

    /** Model names in manifest order. */
    public List<String> names() {
        return List.copyOf(models.keySet());
    }

    /** The manifest's default model name: the one place the default is decided (its {@code "default"} entry). */
    public String defaultModel() {
        return defaultModel;
    }

    /** Where this manifest was read from, for messages. */
    public String source() {
        return source;
    }

    /**
     * The entry for {@code name}.
     *
     * @throws IllegalArgumentException naming the known models when there is no such entry
     */
    public ModelSpec model(String name) {
        ModelSpec spec = models.get(name);
        if (spec == null) {
            throw new IllegalArgumentException("unknown model '" + name + "'; known models: "
                    + String.join(", ", models.keySet()) + " (or give an ONNX file and its tokenizer.json by path)");
        }
        return spec;
    }
}
