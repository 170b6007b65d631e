package dev.latent.corpus;

import dev.latent.core.Texts;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
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
 * lines and lines starting with # skipped; strict UTF-8, a bad byte named with its line). An item's id is its
 * path relative to the folder (or as listed), so it must be usable as one line of an ids file: a file name
 * holding a line break, a tab or another control character is refused with its path ({@link Texts#idProblem}).
 * Lists the files only (opens none); immutable.
 *
 * @param base the folder the ids are relative to
 * @param ids  the images' ids, in order
 */
public record ImageCorpus(Path base, List<String> ids) {
    /** The file name extensions read as images (lower case). */
    public static final List<String> EXTENSIONS = List.of("png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff");

    /** Whether {@code p}'s name ends with one of the {@link #EXTENSIONS} (any case). */
    public static boolean isImageFile(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        int dot = n.lastIndexOf('.');
        return dot > 0 && EXTENSIONS.contains(n.substring(dot + 1));
    }

    /**
     * The images {@code input} names: every image file under a folder, one image file, or the files a list file
     * names.
     *
     * @throws IllegalArgumentException naming the folder, list file or image: a folder without images, a list that
     *                                  names none, a path that is neither, a name that cannot be an id
     * @throws IOException              when the folder or list cannot be read
     */
    public static ImageCorpus of(Path input) throws IOException {
        if (Files.isDirectory(input)) {
            List<String> ids = new ArrayList<>();
            try (Stream<Path> walk = Files.walk(input)) {
                walk.filter(Files::isRegularFile).filter(ImageCorpus::isImageFile)
                        .map(p -> input.relativize(p).toString().replace('\\', '/')).sorted().forEach(ids::add);
            }
            if (ids.isEmpty()) {
                throw new IllegalArgumentException("folder " + input + " holds no image files (" + String.join(", ", EXTENSIONS) + ")");
            }
            for (String id : ids) {
                String problem = Texts.idProblem(id);
                if (problem != null) {
                    throw new IllegalArgumentException("image " + input.resolve(id) + " cannot be an id: its name " + problem
                            + " (ids are written one per line); rename it");
                }
            }
            return new ImageCorpus(input, List.copyOf(ids));
        }
        if (!Files.isRegularFile(input)) {
            throw new IllegalArgumentException(input + " is neither a folder of images nor a list file");
        }
        if (isImageFile(input)) {
            return new ImageCorpus(input.toAbsolutePath().getParent(), List.of(input.getFileName().toString()));
        }
        List<String> ids = readList(input, "list file", true);
        if (ids.isEmpty()) {
            throw new IllegalArgumentException("list file " + input + " names no images");
        }
        return new ImageCorpus(input.toAbsolutePath().getParent(), List.copyOf(ids));
    }

    /**
     * The paths a list file names, one per line (strict UTF-8; a trailing CR dropped): every line as it is
     * ({@code skipComments} false: an ids file, line i for row i) or stripped with blank lines and # comments
     * left out (a list file). A bad byte, or a path that cannot be an id, is named with its line.
     *
     * @param role what the file is, for messages ("list file", "--image-ids file")
     * @throws IllegalArgumentException naming the file and line of a bad byte or a path that cannot be an id
     */
    public static List<String> readList(Path file, String role, boolean skipComments) throws IOException {
        List<String> out = new ArrayList<>();
        byte[] bytes = Files.readAllBytes(file);
        int start = 0;
        long line = 0;
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        while (start < bytes.length) {
            int end = start;
            while (end < bytes.length && bytes[end] != '\n') {
                end++;
            }
            line++;
            String s;
            try {
                s = utf8.reset().decode(ByteBuffer.wrap(bytes, start, end - start)).toString();
            } catch (CharacterCodingException e) {
                throw new IllegalArgumentException(role + " " + file + ":" + line + ": not valid UTF-8");
            }
            start = end + 1;
            s = s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            if (skipComments) {
                s = s.strip();
                if (s.isEmpty() || s.startsWith("#")) {
                    continue;
                }
            }
            String problem = Texts.idProblem(s);
            if (problem != null) {
                throw new IllegalArgumentException(role + " " + file + ":" + line + ": the path cannot be an id: " + problem);
            }
            out.add(s);
        }
        return out;
    }

    /** The image files, in order. */
    public List<Path> files() {
        return ids.stream().map(base::resolve).toList();
    }
}
