/**
 * Text → vectors. {@link dev.latent.encode.TextEncoder} turns texts into L2-normalised float32 rows of a
 * {@link dev.latent.core.FloatMatrix} with any sentence-transformer ONNX export and its tokenizer.json.
 *
 * <ul>
 *   <li>{@link dev.latent.encode.ModelManifest}: the model manifest ({@code models/models.json}, packed in the
 *       jar); {@link dev.latent.encode.ModelSpec}: one entry.</li>
 *   <li>{@code OnnxSession} (package-private): the only class that touches ONNX Runtime (JavaCPP presets);
 *       chooses the execution provider and logs it.</li>
 *   <li>{@link dev.latent.encode.SampleCorpus}: 5,000 WordNet glosses shipped in the jar for demos, tests
 *       and benchmarks.</li>
 * </ul>
 *
 * <p>Nothing outside this package depends on ONNX Runtime or the tokenizer, so the compute and space parts
 * load and run without them.
 */
package dev.latent.encode;
