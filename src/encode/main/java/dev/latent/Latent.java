package dev.latent;

import dev.latent.analyse.KMeans;
import dev.latent.analyse.Outliers;
import dev.latent.analyse.Pca;
import dev.latent.analyse.Umap;
import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.corpus.Corpus;
import dev.latent.encode.text.TextEncoder;
import dev.latent.engine.Engine;
import dev.latent.index.FlatIndex;
import dev.latent.index.VectorIndex;
import dev.latent.job.ShardedEmbedding;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.LongConsumer;

/**
 * The one entry point to Latent. Each method delegates to the class that does the work.
 *
 * <pre>{@code
 * try (TextEncoder enc = Latent.encoder().build();                         // default model
 *      FlatIndex index = Latent.index(enc.dimension(), Metric.COSINE)) {
 *     try (FloatMatrix v = enc.encode(texts)) { index.add(ids, v); }
 *     try (FloatMatrix q = enc.encodeQueries(List.of("a query"))) {
 *         Neighbors nb = index.search(q, 10);                                // caller ids, best first
 *     }
 *     index.save(Path.of("corpus.lidx"));
 * }
 * try (KMeansResult segments = Latent.kmeans(32).fit(vectors, Metric.COSINE);          // which groups exist
 *      Outliers outliers = Latent.outliers(vectors, Metric.COSINE, 10)) {             // what lies outside
 *     float[] lof = outliers.scoreReference(Outliers.Score.LOF);
 * }
 * try (TextEncoder enc = Latent.encoder().build()) {                       // a corpus of any size, resumable
 *     Latent.embedCorpus(Latent.corpus(Path.of("texts.jsonl")), enc, Path.of("shards"));
 * }
 * try (VectorIndex all = Latent.openIndex(Path.of("shards/manifest.json"))) { ... }
 * }</pre>
 */
public final class Latent {
    private Latent() {
    }

    /** A text encoder builder (model by manifest name, or ONNX and tokenizer paths). */
    public static TextEncoder.Builder encoder() {
        return TextEncoder.builder();
    }

    /** An empty exact index searched through {@link #backend()}. */
    public static FlatIndex index(int dimension, Metric metric) {
        return new FlatIndex(dimension, metric);
    }

    /** Loads an index file of any kind (checksum verified), searched through {@link #backend()}. */
    public static VectorIndex loadIndex(Path file) throws IOException {
        return VectorIndex.load(file);
    }

    /**
     * An index file, or the shards of a finished {@link #embedCorpus} run given by their {@code manifest.json}
     * (each checked against its checksum, merged in memory in the run's metric, with the ids a direct embedding
     * gives). The caller owns the index.
     */
    public static VectorIndex openIndex(Path file) throws IOException {
        return ShardedEmbedding.openIndex(file);
    }

    /**
     * A corpus file, read as JSONL for {@code .jsonl}/{@code .ndjson}/{@code .json}, CSV (RFC 4180, with a header
     * row) for {@code .csv}, else one text per line; texts in the field or column {@code text}, ids in {@code id}.
     * For other fields or an explicit format see {@link Corpus#file(Path, String, String, String)}.
     */
    public static Corpus corpus(Path file) throws IOException {
        return Corpus.file(file, "auto");
    }

    /**
     * Streams {@code corpus} through {@code encoder} into numbered shards in {@code dir} ({@code shard-00000.npy}
     * and {@code .ids}, with {@code manifest.json}), 102,400 rows a shard in encoder blocks of 4,096, in the run's
     * metric (cosine for a new run). Resumable: a folder that holds an unfinished run of the same corpus, model
     * and layout is continued where its last shard ended, and a finished one is left as it is; anything that does
     * not match is refused. See {@link #embedCorpus(Corpus, TextEncoder, Path, int, int, Metric, LongConsumer)}.
     */
    public static ShardedEmbedding.Stats embedCorpus(Corpus corpus, TextEncoder encoder, Path dir) throws IOException {
        return embedCorpus(corpus, encoder, dir, 102_400, 4_096, null, null);
    }

    /**
     * As {@link #embedCorpus(Corpus, TextEncoder, Path)}, with {@code shardRows} rows a shard (a multiple of
     * {@code block}), {@code block} texts per encoder call, the metric recorded for a new run (null: cosine; a
     * resumed run must have been started with it) and {@code progress} told the records done (may be null).
     * Memory holds one shard's vectors at most. Delegates to {@link ShardedEmbedding#run}, which documents the
     * commit, the checks a resume makes and the errors.
     */
    public static ShardedEmbedding.Stats embedCorpus(Corpus corpus, TextEncoder encoder, Path dir, int shardRows,
            int block, Metric metric, LongConsumer progress) throws IOException {
        return ShardedEmbedding.run(corpus, encoder, dir, shardRows, block, true, metric, progress);
    }

    /** A k-means with {@code k} clusters (seed 42, k-means++, up to 25 iterations) on {@link #backend()}. */
    public static KMeans kmeans(int k) {
        return KMeans.of(k);
    }

    /**
     * A builder of the shared engine for many threads: give it an encoder and/or an index, then
     * {@code build()}; see {@link Engine}.
     */
    public static Engine.Builder engine() {
        return Engine.builder();
    }

    /** A PCA keeping {@code components} components, on {@link #backend()}. */
    public static Pca pca(int components) {
        return Pca.of(components);
    }

    /** A UMAP layout (15 neighbours, 2 components, seed 42) on {@link #backend()} for the k-NN graph. */
    public static Umap umap() {
        return Umap.of();
    }

    /**
     * Anomaly scores against {@code reference} with {@code k} neighbours, on {@link #backend()}; the reference
     * must stay open while the result is.
     */
    public static Outliers outliers(FloatMatrix reference, Metric metric, int k) {
        return Outliers.of(reference, metric, k, null);
    }

    /** The process-wide compute backend (CUDA, native CPU or Java; see {@link Backends#get()}). */
    public static Backend backend() {
        return Backends.get();
    }
}
