/**
 * Text → vectors: {@link dev.latent.encode.text.TextEncoder} turns texts into L2-normalised float32 rows with
 * any sentence-transformer ONNX export and its tokenizer.json (Hugging Face tokenizers through DJL, the only
 * code of Latent that touches it), checked against the text signature when it opens.
 */
package dev.latent.encode.text;
