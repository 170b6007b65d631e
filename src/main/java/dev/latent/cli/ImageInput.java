package dev.latent.cli;

import dev.latent.encode.ModelManifest;
import dev.latent.encode.ModelSpec;
import dev.latent.encode.Modality;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The images of an image corpus: every image file under a folder (recursively, by extension, sorted by
 * relative path), or the files a list file names (one path per line, relative to the list's folder, blank
 * lines and lines starting with # skipped). An item's id is its path relative to the folder (or as listed).
 */
record ImageInput(Path base, List<String> ids) {
    static final List<String> EXTENSIONS = List.of("png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff");

    static boolean isImageFile(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        int dot = n.lastIndexOf('.');
        return dot > 0 && EXTENSIONS.contains(n.substring(dot + 1));
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

    static ImageInput of(Path input) throws IOException {
        if (Files.isDirectory(input)) {
            List<String> ids = new ArrayList<>();
            try (Stream<Path> walk = Files.walk(input)) {
                walk.filter(Files::isRegularFile).filter(ImageInput::isImageFile)
                        .map(p -> input.relativize(p).toString().replace('\\', '/')).sorted().forEach(ids::add);
            }
            if (ids.isEmpty()) {
                throw new IllegalArgumentException("folder " + input + " holds no image files (" + String.join(", ", EXTENSIONS) + ")");
            }
            return new ImageInput(input, List.copyOf(ids));
        }
        if (!Files.isRegularFile(input)) {
            throw new IllegalArgumentException(input + " is neither a folder of images nor a list file");
        }
        if (isImageFile(input)) {
            return new ImageInput(input.toAbsolutePath().getParent(), List.of(input.getFileName().toString()));
        }
        List<String> ids = new ArrayList<>();
        for (String line : Files.readAllLines(input, StandardCharsets.UTF_8)) {
            String s = line.strip();
            if (!s.isEmpty() && !s.startsWith("#")) {
                ids.add(s);
            }
        }
        if (ids.isEmpty()) {
            throw new IllegalArgumentException("list file " + input + " names no images");
        }
        return new ImageInput(input.toAbsolutePath().getParent(), List.copyOf(ids));
    }

    List<Path> files() {
        return ids.stream().map(base::resolve).toList();
    }
}
