package dev.latent.index;

import dev.latent.compute.Backend;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.space.AtomicOutput;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A searchable set of vectors with 64-bit ids under one {@link Metric}. {@link FlatIndex} is the exact
 * implementation (every vector scored); an inverted-file index or a quantised index implement the same
 * interface, with results that are then approximate.
 *
 * <p>Implementations state their thread safety; {@link FlatIndex} allows concurrent searches with
 * exclusive writers.
 */
public interface VectorIndex extends AutoCloseable {
    int dimension();

    Metric metric();

    /** Number of stored vectors. */
    long size();

    /** The backend that searches this index. */
    Backend backend();

    /** Adds vectors with ids; all or nothing (a failed add changes nothing). */
    void add(long[] ids, FloatMatrix vectors);

    /** Removes vectors by id; all ids are checked first. Returns how many were removed. */
    int remove(long... ids);

    boolean contains(long id);

    /** Nearest {@code k} per query, best first, as ids. */
    Neighbors search(FloatMatrix queries, int k);

    /** Nearest {@code k} per query among the vectors of {@code allowedIds}. */
    Neighbors search(FloatMatrix queries, int k, long[] allowedIds);

    /** Every vector within {@code radius}, at most {@code maxResults} held at once. */
    RangeResults rangeSearch(FloatMatrix queries, float radius, long maxResults);

    /** A copy of the metadata (a JSON object of strings in the index file). */
    Map<String, String> metadata();

    /** Sets one metadata entry; a null value removes it. */
    void putMetadata(String key, String value);

    /** Writes the index atomically to {@code file}. */
    void save(Path file) throws IOException;

    /** Writes the index file into {@code out}, which the caller commits. */
    void writeTo(AtomicOutput out) throws IOException;

    @Override
    void close();
}
