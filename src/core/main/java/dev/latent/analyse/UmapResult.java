package dev.latent.analyse;

import dev.latent.core.FloatMatrix;

/**
 * A UMAP layout: {@code n × components} coordinates, row {@code i} for input row {@code i}, with the fuzzy
 * graph it was laid out from, the curve it used and where the time went.
 *
 * <p>Owns {@link #layout()} (native memory) until {@link #close()}; closing twice is harmless. Read-only
 * after construction: safe to read from several threads.
 *
 * @param layout          {@code n × components} coordinates, owned by this result
 * @param graph           the symmetric fuzzy graph (before weak edges were dropped for the optimisation)
 * @param curve           the low-dimensional similarity {@code 1 / (1 + a d^(2b))} that was fitted
 * @param neighbors       other points each point was linked to (k)
 * @param epochs          optimisation epochs run
 * @param backend         name of the backend that found the neighbours
 * @param knnSeconds      exact k-nearest-neighbour search
 * @param graphSeconds    smooth k-NN distances and the fuzzy union
 * @param initSeconds     the initial layout
 * @param optimiseSeconds the stochastic gradient descent
 */
public record UmapResult(FloatMatrix layout, UmapGraph graph, Umap.Curve curve, int neighbors, int epochs,
        String backend, double knnSeconds, double graphSeconds, double initSeconds, double optimiseSeconds)
        implements AutoCloseable {

    /** Number of points. */
    public int points() {
        return (int) layout.rows();
    }

    /** Output dimension. */
    public int components() {
        return layout.cols();
    }

    /** The layout copied to a row-major array ({@code x0, y0, x1, y1, ...} in two dimensions). */
    public float[] layoutArray() {
        return layout.copyRows(0, (int) layout.rows());
    }

    /** Total seconds of the fit. */
    public double seconds() {
        return knnSeconds + graphSeconds + initSeconds + optimiseSeconds;
    }

    @Override
    public void close() {
        layout.close();
    }
}
