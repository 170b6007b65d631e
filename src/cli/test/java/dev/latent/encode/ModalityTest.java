package dev.latent.encode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The manifest's modality field decides which files an entry needs; the built-in models are text. */
class ModalityTest {
    private static ModelManifest parse(String json) {
        return ModelManifest.parse(json.getBytes(StandardCharsets.UTF_8), "test manifest", Path.of("."));
    }

    @Test
    void imageEntriesNeedNoTokenizerAndTextIsTheDefault() {
        ModelManifest m = parse("""
                {"default": "img", "models": {
                  "img": {"modality": "image", "source": {"path": ".", "onnx": "clip-vision.onnx"}, "dimension": 512,
                    "image": {"size": 224}},
                  "txt": {"source": {"path": ".", "onnx": "t.onnx", "tokenizer": "t.json"}, "maxLength": 16}}}
                """);
        assertEquals("img", m.defaultModel());
        assertEquals(Modality.IMAGE, m.model("img").modality());
        assertNull(m.model("img").source().tokenizer());
        assertEquals(Modality.TEXT, m.model("txt").modality());
        for (String name : ModelManifest.get().names()) {
            assertEquals(name.equals("digits-ae") ? Modality.IMAGE : Modality.TEXT, ModelManifest.get().model(name).modality(), name);
        }
    }

    @Test
    void imageAndTensorEntriesNeedTheirPreprocessingAndATextModelMustBeText() {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> parse("""
                {"models": {"img": {"modality": "image", "source": {"path": ".", "onnx": "v.onnx"}}}}
                """));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("entry 'img'") && e.getMessage().contains("\"image\" object"), e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> parse("""
                {"models": {"rows": {"modality": "tensor", "source": {"path": ".", "onnx": "r.onnx"}}}}
                """));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("\"tensor\" object"), e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> parse("""
                {"models": {"a": {"modality": "image", "textModel": "b", "source": {"path": ".", "onnx": "v.onnx"}, "image": {"size": 8}},
                            "b": {"modality": "image", "source": {"path": ".", "onnx": "w.onnx"}, "image": {"size": 8}}}}
                """));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("textModel 'b' is not a text model"), e.getMessage());
        ModelManifest m = parse("""
                {"models": {"rows": {"modality": "tensor", "source": {"path": ".", "onnx": "r.onnx"},
                  "tensor": {"columns": 2, "mean": [1, 2], "std": [3, 4]}}}}
                """);
        assertEquals(2, m.model("rows").tensor().columns());
        org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {3, 4}, m.model("rows").tensor().std());
    }

    @Test
    void aTextEntryWithoutTokenizerAndAnUnknownModalityAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse("""
                {"models": {"t": {"source": {"path": ".", "onnx": "t.onnx"}, "maxLength": 8}}}
                """));
        assertTrue(e.getMessage().contains("'t'") && e.getMessage().contains("tokenizer"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> parse("""
                {"models": {"v": {"modality": "video", "source": {"path": ".", "onnx": "v.onnx"}}}}
                """));
        assertTrue(e.getMessage().contains("unknown modality 'video'"), e.getMessage());
    }
}
