package dev.latent.analyse;

/**
 * The fuzzy simplicial set UMAP lays out: a symmetric weighted graph on the n points, in CSR form. Row
 * {@code i}'s neighbours are {@code columns[offsets[i]] .. columns[offsets[i + 1] - 1]}, ascending, with
 * membership strengths in {@code (0, 1]} at the same positions of {@code weights}. Symmetric: when j is
 * listed under i with weight w, i is listed under j with weight w. No point is its own neighbour.
 *
 * <p>This is the whole graph (umap-learn's {@code graph_}), before the optimisation drops the edges too
 * weak to be sampled in its epochs. Immutable by convention: the arrays are the graph's own, do not change
 * them; safe to read from several threads.
 *
 * @param points  number of points n
 * @param offsets n + 1 entries, from 0 to {@code columns.length}, never decreasing
 * @param columns neighbour rows, ascending within each row
 * @param weights membership strength of each entry
 */
public record UmapGraph(int points, int[] offsets, int[] columns, float[] weights) {
    public UmapGraph {
        if (offsets.length != points + 1 || columns.length != weights.length
                || offsets[points] != columns.length) {
            throw new IllegalArgumentException("a graph on " + points + " points needs " + (points + 1)
                    + " offsets ending at the number of entries; got " + offsets.length + " offsets, "
                    + columns.length + " columns, " + weights.length + " weights");
        }
    }

    /** Stored entries: twice the number of undirected edges. */
    public int entries() {
        return columns.length;
    }

    /** Neighbours of point {@code i}. */
    public int degree(int i) {
        return offsets[i + 1] - offsets[i];
    }

    /** The membership strength of the edge between {@code i} and {@code j}, 0 when there is none. */
    public float weight(int i, int j) {
        int lo = offsets[i];
        int hi = offsets[i + 1] - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = columns[mid];
            if (c < j) {
                lo = mid + 1;
            } else if (c > j) {
                hi = mid - 1;
            } else {
                return weights[mid];
            }
        }
        return 0f;
    }
}
