package dev.latent;

import dev.latent.analyse.KMeans;
import dev.latent.analyse.Outliers;
import dev.latent.analyse.Pca;
import dev.latent.analyse.Umap;
import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.encode.text.TextEncoder;
import dev.latent.engine.Engine;
import dev.latent.index.FlatIndex;
import java.io.IOException;
import java.nio.file.Path;

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

    /** Loads an index file (checksum verified), searched through {@link #backend()}. */
    public static FlatIndex loadIndex(Path file) throws IOException {
        return FlatIndex.load(file);
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
