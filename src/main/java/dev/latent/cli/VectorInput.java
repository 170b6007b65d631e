package dev.latent.cli;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.index.FlatIndex;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import picocli.CommandLine;

/**
 * The vectors an analysis command reads: an index file ({@code .lidx}: its vectors, ids and metric) or an
 * {@code .npy} file (ids from {@code --ids}, else the row numbers; metric from {@code --metric}, default
 * cosine), and, with a corpus, the text of each row. Owns the vectors until {@link #close()}. Not thread-safe.
 */
final class VectorInput implements AutoCloseable {
    final Path file;
    final FloatMatrix vectors;
    final Metric metric;
    final long[] ids;
    private final FlatIndex index;
    private final boolean fromIndex;

    private VectorInput(Path file, FloatMatrix vectors, Metric metric, long[] ids, FlatIndex index) {
        this.file = file;
        this.vectors = vectors;
        this.metric = metric;
        this.ids = ids;
        this.index = index;
        this.fromIndex = index != null;
    }

    static VectorInput open(Path file, String metricOption, Path idsFile, CommandLine cl) throws IOException {
        Metric asked = null;
        if (metricOption != null) {
            try {
                asked = Metric.parse(metricOption);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cl, e.getMessage());
            }
        }
        if (file.getFileName().toString().endsWith(".lidx") || ShardedEmbedding.isManifest(file)) {
            if (idsFile != null) {
                throw new CommandLine.ParameterException(cl, "--ids is for .npy input; an index file holds its ids");
            }
            FlatIndex index;
            try {
                index = ShardedEmbedding.toIndexOrLoad(file, asked);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cl, e.getMessage());
            }
            if (asked != null && asked != index.metric()) {
                index.close();
                throw new CommandLine.ParameterException(cl, "--metric " + metricOption + " differs from the index's metric ("
                        + index.metric().name().toLowerCase(java.util.Locale.ROOT) + ")");
            }
            return new VectorInput(file, index.rowsView(), index.metric(), index.ids(), index);
        }
        FloatMatrix m = Npy.read(file);
        long[] ids;
        try {
            if (idsFile != null) {
                ids = IndexCommand.readIds(idsFile);
                if (ids.length != m.rows()) {
                    throw new IOException(idsFile + " has " + ids.length + " ids for the " + m.rows() + " rows of " + file);
                }
            } else {
                ids = new long[Math.toIntExact(m.rows())];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = i;
                }
            }
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
        return new VectorInput(file, m, asked != null ? asked : Metric.COSINE, ids, null);
    }

    int rows() {
        return ids.length;
    }

    /**
     * The text of every row from {@code corpus}: for an index file the record whose index id (as
     * {@code latent embed} assigned it) is the row's id, for an {@code .npy} file the record at the row's
     * position. Names the first row without a record.
     */
    String[] texts(Corpus corpus) throws IOException {
        Embedding.Scan scan = Embedding.scan(corpus);
        String[] texts = new String[rows()];
        Map<Long, Integer> rowOf = null;
        if (fromIndex) {
            rowOf = new HashMap<>(rows() * 2);
            for (int r = 0; r < rows(); r++) {
                rowOf.put(ids[r], r);
            }
        } else if (scan.count() != rows()) {
            throw new IOException(corpus.name() + " has " + scan.count() + " records, " + file + " has " + rows()
                    + " rows: give the corpus the vectors were embedded from");
        }
        try (Corpus.Reader r = corpus.open()) {
            Corpus.Entry e;
            while ((e = r.next()) != null) {
                int p = (int) e.position();
                if (rowOf == null) {
                    texts[p] = e.text();
                } else {
                    Integer row = rowOf.get(scan.indexIds()[p]);
                    if (row != null) {
                        texts[row] = e.text();
                    }
                }
            }
        }
        for (int i = 0; i < texts.length; i++) {
            if (texts[i] == null) {
                throw new IOException(corpus.name() + " has no record for id " + ids[i] + " of " + file
                        + ": give the corpus the index was embedded from");
            }
        }
        return texts;
    }

    @Override
    public void close() {
        vectors.close();
        if (index != null) {
            index.close();
        }
    }

    @Override
    public String toString() {
        return file + " (" + rows() + " x " + vectors.cols() + ", " + metric + ", ids " + Arrays.toString(
                Arrays.copyOf(ids, Math.min(3, ids.length))) + "...)";
    }
}
