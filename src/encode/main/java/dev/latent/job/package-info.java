/**
 * Jobs over whole corpora and vector files, shared by the command line, {@link dev.latent.Latent}, the engine
 * and the Spark module: {@link dev.latent.job.EmbeddingTargets} writes vectors ({@code .npy}), their ids and an
 * index together, all or nothing, for every embedding; {@link dev.latent.job.CorpusEmbedding} streams a checked
 * text corpus into them, {@link dev.latent.job.ImageEmbedding} a folder or list of images and
 * {@link dev.latent.job.RowEmbedding} numeric rows (CSV or {@code .npy}) through a tensor model;
 * {@link dev.latent.job.ShardedEmbedding} streams a corpus of any size into resumable, checksummed shards and
 * merges a finished run into an index; {@link dev.latent.job.VectorInput} opens the vectors an analysis reads (an
 * index, a finished sharded run or {@code .npy}) with the texts of a corpus. Problems the caller can fix are
 * {@link java.lang.IllegalArgumentException}s and unreadable or unwritable files {@link java.io.IOException}s
 * (an input an embedding cannot read or its model refuses: {@link dev.latent.job.EmbeddingInputException}), each
 * naming the file.
 */
package dev.latent.job;
