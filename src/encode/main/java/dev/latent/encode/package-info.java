/**
 * Inputs → vectors. What every encoder shares, whatever its modality:
 *
 * <ul>
 *   <li>{@link dev.latent.encode.ModelManifest}: the model manifest ({@code models/models.json}, packed in the
 *       jar; its {@code "default"} entry is the one source of the default model);
 *       {@link dev.latent.encode.ModelSpec}: one entry, with its {@link dev.latent.encode.Modality};
 *       {@link dev.latent.encode.ModelFiles}: its files, located on disk, on the class path or in the local
 *       Maven repository.</li>
 *   <li>{@link dev.latent.encode.BatchPipeline}: the producer/consumer engine (the caller prepares batches
 *       while workers run the model).</li>
 *   <li>{@link dev.latent.encode.SampleCorpus}: 5,000 WordNet glosses shipped in the jar for demos, tests
 *       and benchmarks.</li>
 * </ul>
 *
 * <p>Sub-packages: {@code encode.onnx} (any ONNX model, named tensors; the only code that touches ONNX
 * Runtime) and {@code encode.text} (the text encoder: tokenizer, signature check, pooling; the only code that
 * touches the tokenizer). Nothing outside {@code encode} depends on ONNX Runtime or the tokenizer, so the
 * compute, space and index parts load and run without them.
 */
package dev.latent.encode;
