/**
 * Corpora of texts, read the same way by every part that embeds them (the command line, {@link dev.latent.Latent}
 * and the Spark module): {@link dev.latent.corpus.Corpus} streams one text per line, JSONL or CSV (RFC 4180),
 * naming the file and line of every problem; {@link dev.latent.corpus.RowIds} is the one rule that turns the
 * corpus's ids into index ids; {@link dev.latent.corpus.CorpusScan} is a checking first pass and
 * {@link dev.latent.corpus.CorpusTexts} reads records back by index id; {@link dev.latent.corpus.ImageCorpus}
 * lists the images of a folder or list file. Depends on {@code core} only, so it
 * runs without the encoder, ONNX Runtime or the tokenizer.
 */
package dev.latent.corpus;
