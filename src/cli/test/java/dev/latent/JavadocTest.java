package dev.latent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import javax.tools.DocumentationTool;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The library's Javadoc builds with no error (a broken {@code {@link}}, bad HTML, a wrong {@code @param}), as the
 * Javadoc jars of {@code mvn package} are built: the javadoc tool over every artifact's sources with doclint on
 * (missing comments aside), on the test's class path.
 */
class JavadocTest {
    /** The source folders of latent-core, latent-encode, latent-analyse and latent-cli. */
    static final String SOURCES = String.join(java.io.File.pathSeparator, "src/core/main/java", "src/encode/main/java",
            "src/analyse/main/java", "src/cli/main/java");

    @TempDir
    Path out;

    @Test
    void theJavadocBuildsWithoutErrors() {
        DocumentationTool javadoc = ToolProvider.getSystemDocumentationTool();
        ByteArrayOutputStream messages = new ByteArrayOutputStream();
        PrintStream p = new PrintStream(messages, true, StandardCharsets.UTF_8);
        int code = javadoc.run(null, p, p, "-d", out.toString(), "-quiet", "-Xdoclint:all,-missing",
                "-sourcepath", SOURCES, "-subpackages", "dev.latent",
                "-classpath", System.getProperty("java.class.path"), "--release", "17");
        String text = messages.toString(StandardCharsets.UTF_8);
        String errors = text.lines().filter(l -> l.contains("error:")).reduce("", (a, b) -> a + b + "\n");
        assertEquals("", errors, "javadoc errors");
        assertEquals(0, code, text);
    }
}
