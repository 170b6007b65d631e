/**
 * Jobs over whole corpora and vector files, shared by the command line, {@link dev.latent.Latent}, the engine
 * and the Spark module: {@link dev.latent.job.CorpusEmbedding} embeds a checked corpus into an {@code .npy}
 * file, an ids file and an index; {@link dev.latent.job.ShardedEmbedding} streams a corpus of any size into
 * resumable, checksummed shards and merges a finished run into an index; {@link dev.latent.job.VectorInput}
 * opens the vectors an analysis reads (an index, a finished sharded run or {@code .npy}) with the texts of a
 * corpus. Problems the caller can fix are {@link java.lang.IllegalArgumentException}s and unreadable or
 * unwritable files {@link java.io.IOException}s, each naming the file.
 */
package dev.latent.job;
