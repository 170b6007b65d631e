package dev.latent.encode.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latent.core.FloatMatrix;
import dev.latent.encode.ModelManifest;
import dev.latent.encode.onnx.OnnxModel;
import dev.latent.encode.onnx.TinyOnnx;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input gives clear errors: what is wrong and where. */
class TextEncoderErrorsTest {
    private static TextEncoder enc;

    @TempDir
    Path dir;

    @BeforeAll
    static void setUp() {
        enc = TextEncoder.builder().build();
    }

    @AfterAll
    static void tearDown() {
        if (enc != null) {
            enc.close();
        }
    }

    private static void assertMentions(Throwable e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message should mention '" + p + "': " + e.getMessage());
        }
    }

    /** A real tokenizer.json, copied out of the model jar on the class path. */
    private Path realTokenizer() throws IOException {
        Path p = dir.resolve("tokenizer.json");
        try (InputStream in = getClass().getClassLoader().getResourceAsStream("all-minilm-l6-v2-q-tokenizer.json")) {
            Files.copy(in, p);
        }
        return p;
    }

    @Test
    void defaultModelIsTheManifestDefault() throws IOException {
        // The manifest's "default" entry is the one source: read it here from models/models.json itself.
        String inFile = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(Path.of("models", "models.json").toFile()).path("default").asText();
        assertEquals(inFile, ModelManifest.get().defaultModel());
        assertEquals(inFile, TextEncoder.defaultModel());
        assertEquals(TextEncoder.defaultModel(), enc.modelName());
        assertEquals(TextEncoder.defaultModel(), TextEncoder.knownModels().get(0));
        assertTrue(TextEncoder.knownModels().containsAll(List.of("all-minilm-l6-v2", "bge-small-en-v1.5-q")));
        assertEquals("CPU", enc.provider());
        assertEquals(384, enc.dimension());
    }

    @Test
    void emptyAndBlankTextsAreRejectedByIndex() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> enc.encode(List.of("fine", "also fine", "")));
        assertMentions(e, "text 2");
        e = assertThrows(IllegalArgumentException.class, () -> enc.encode(List.of("  \t ", "fine")));
        assertMentions(e, "text 0");
        e = assertThrows(IllegalArgumentException.class, () -> enc.encodeQueries(Arrays.asList("q", null)));
        assertMentions(e, "text 1", "null");
    }

    @Test
    void malformedOrtConfigEntryIsNamed() {
        System.setProperty(OnnxModel.CONFIG_PROPERTY, "session.set_denormal_as_zero=1;oops");
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> TextEncoder.builder().model(TextEncoder.defaultModel()).build().close());
            assertMentions(e, "latent.encode.ortConfig");
            assertMentions(e, "'oops'");
        } finally {
            System.clearProperty(OnnxModel.CONFIG_PROPERTY);
        }
    }

    @Test
    void emptyListGivesEmptyMatrix() {
        try (FloatMatrix m = enc.encode(List.of())) {
            assertEquals(0, m.rows());
            assertEquals(384, m.cols());
        }
    }

    @Test
    void unknownModelListsKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TextEncoder.builder().model("no-such-model").build());
        assertMentions(e, "no-such-model", "all-minilm-l6-v2-q", "all-minilm-l6-v2", "bge-small-en-v1.5-q");
    }

    @Test
    void tokenizerThatDoesNotParseIsNamed() throws IOException {
        Path onnx = Files.write(dir.resolve("model.onnx"), TinyOnnx.identity(
                new String[] {"input_ids", "attention_mask"}, TinyOnnx.INT64, new String[] {"last_hidden_state"}));
        Path tok = Files.writeString(dir.resolve("broken-tokenizer.json"), "{ \"version\": \"1.0\", \"model\": ");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TextEncoder.builder().modelPath(onnx).tokenizerPath(tok).build());
        assertMentions(e, "broken-tokenizer.json");
    }

    @Test
    void missingOnnxFileIsNamed() throws IOException {
        Path tok = realTokenizer();
        Path onnx = dir.resolve("absent.onnx");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TextEncoder.builder().modelPath(onnx).tokenizerPath(tok).build());
        assertMentions(e, "absent.onnx", "does not exist");
    }

    @Test
    void fileThatIsNotOnnxIsNamed() throws IOException {
        Path tok = realTokenizer();
        Path onnx = Files.writeString(dir.resolve("not-a-model.onnx"), "this is not a protobuf model");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TextEncoder.builder().modelPath(onnx).tokenizerPath(tok).build());
        assertMentions(e, "not-a-model.onnx");
    }

    @Test
    void modelWithOtherInputsIsRejectedWithTheInputsFound() throws IOException {
        Path tok = realTokenizer();
        Path onnx = Files.write(dir.resolve("wrong-inputs.onnx"), TinyOnnx.identity(
                new String[] {"input_ids", "pixel_values"}, TinyOnnx.INT64, new String[] {"last_hidden_state"}));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TextEncoder.builder().modelPath(onnx).tokenizerPath(tok).build());
        assertMentions(e, "wrong-inputs.onnx", "pixel_values", "attention_mask");
    }

    @Test
    void modelWithoutFloatOutputIsRejected() throws IOException {
        Path tok = realTokenizer();
        Path onnx = Files.write(dir.resolve("int-output.onnx"), TinyOnnx.identity(
                new String[] {"input_ids", "attention_mask"}, TinyOnnx.INT64, new String[] {"last_hidden_state"}));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TextEncoder.builder().modelPath(onnx).tokenizerPath(tok).build());
        assertMentions(e, "int-output.onnx", "last_hidden_state", "float");
    }

    /** A manifest entry that says token_type_ids while the model has none: the file and its inputs are named. */
    @Test
    void manifestThatDisagreesWithTheModelIsRejected() throws IOException {
        Path tok = realTokenizer();
        Files.write(dir.resolve("two-inputs.onnx"), TinyOnnx.identity(
                new String[] {"input_ids", "attention_mask"}, TinyOnnx.INT64, new String[] {"last_hidden_state"}));
        Path manifest = Files.writeString(dir.resolve("models.json"), """
                {"models": {"tiny": {"source": {"path": ".", "onnx": "two-inputs.onnx", "tokenizer": "tokenizer.json"},
                  "maxLength": 16, "pooling": "mean", "normalize": true, "tokenTypeIds": true}}}
                """);
        System.setProperty("latent.models", manifest.toString());
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> TextEncoder.builder().model("tiny").build());
            assertMentions(e, "two-inputs.onnx", "[input_ids, attention_mask]", "token_type_ids");
        } finally {
            System.clearProperty("latent.models");
        }
    }

    @Test
    void missingMavenArtifactSaysHowToFetchIt() throws IOException {
        Path manifest = Files.writeString(dir.resolve("models.json"), """
                {"models": {"absent": {"source": {"maven": "dev.latent.test:no-such-model:0.0.1",
                  "onnx": "no-such-model.onnx", "tokenizer": "no-such-model-tokenizer.json"},
                  "maxLength": 16, "pooling": "cls"}}}
                """);
        System.setProperty("latent.models", manifest.toString());
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> TextEncoder.builder().model("absent").build());
            assertMentions(e, "dev.latent.test:no-such-model:0.0.1",
                    "mvn dependency:get -Dartifact=dev.latent.test:no-such-model:0.0.1");
        } finally {
            System.clearProperty("latent.models");
        }
    }

    @Test
    void aModelOfAnotherModalityIsRefusedByName() throws IOException {
        Files.write(dir.resolve("vision.onnx"), TinyOnnx.identity(
                new String[] {"pixel_values"}, TinyOnnx.FLOAT, new String[] {"image_embeds"}));
        Path manifest = Files.writeString(dir.resolve("models.json"), """
                {"default": "vision", "models": {"vision": {"modality": "image",
                  "source": {"path": ".", "onnx": "vision.onnx"}, "image": {"size": 224}}}}
                """);
        System.setProperty("latent.models", manifest.toString());
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> TextEncoder.builder().model("vision").build());
            assertMentions(e, "vision", "image", "not text");
        } finally {
            System.clearProperty("latent.models");
        }
    }

    @Test
    void closedEncoderRefusesWork() {
        TextEncoder e = TextEncoder.builder().model("all-minilm-l6-v2-q").workers(1).build();
        e.close();
        e.close();
        assertThrows(IllegalStateException.class, () -> e.encode(List.of("x")));
    }
}
