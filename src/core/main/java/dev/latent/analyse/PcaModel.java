package dev.latent.analyse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.compute.ResidentMatrix;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.space.AtomicOutput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A fitted PCA ({@link Pca#fit}): the mean, the top components (orthonormal rows, largest variance first,
 * sign fixed so each component's largest-magnitude coordinate is positive), the variance along each and
 * its share of the total. Applies to new vectors with {@link #transform} (on the backend: the components
 * are a small resident database and the projection is its inner-product scores) and maps back with
 * {@link #inverseTransform}. Saved as a small JSON file ({@link #save}, written atomically).
 *
 * <p>Immutable and thread-safe.
 */
public final class PcaModel {
    private static final String FORMAT = "latent-pca";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final double[] mean;
    private final double[] components;  // c x d, row-major
    private final double[] variance;
    private final double[] ratio;
    private final double totalVariance;
    private final boolean whiten;
    private final long fittedOn;

    PcaModel(double[] mean, double[] components, double[] variance, double[] ratio, double totalVariance,
             boolean whiten, long fittedOn) {
        this.mean = mean;
        this.components = components;
        this.variance = variance;
        this.ratio = ratio;
        this.totalVariance = totalVariance;
        this.whiten = whiten;
        this.fittedOn = fittedOn;
    }

    /** The dimension of the input vectors. */
    public int dimension() {
        return mean.length;
    }

    /** How many components the model keeps. */
    public int components() {
        return variance.length;
    }

    /** Whether {@link #transform} scales each component to unit variance. */
    public boolean whiten() {
        return whiten;
    }

    /** How many points the model was fitted on. */
    public long fittedOn() {
        return fittedOn;
    }

    /** The mean of the fitted points (a copy). */
    public double[] mean() {
        return mean.clone();
    }

    /** Component {@code i} (unit length, length {@link #dimension()}; a copy). */
    public double[] component(int i) {
        Objects.checkIndex(i, components());
        double[] c = new double[dimension()];
        System.arraycopy(components, i * dimension(), c, 0, dimension());
        return c;
    }

    /** Variance of the fitted points along each component (the covariance matrix's eigenvalues, n − 1). */
    public double[] explainedVariance() {
        return variance.clone();
    }

    /** Each component's share of the total variance (sums to at most 1). */
    public double[] explainedVarianceRatio() {
        return ratio.clone();
    }

    /** The total variance of the fitted points (the covariance matrix's trace). */
    public double totalVariance() {
        return totalVariance;
    }

    /** Projects the rows of {@code x} onto the components, on the default backend; the caller closes the result. */
    public FloatMatrix transform(FloatMatrix x) {
        return transform(x, Backends.get());
    }

    /**
     * Projects the rows of {@code x} ({@code n × d}) onto the components: {@code n × c}, component scores
     * {@code (x − mean) · wᵢ}, divided by {@code sqrt(varianceᵢ)} when whitening (zero-variance components
     * stay 0). The caller closes the result.
     */
    public FloatMatrix transform(FloatMatrix x, Backend backend) {
        Objects.requireNonNull(x, "x");
        int d = dimension();
        int c = components();
        if (x.cols() != d) {
            throw new IllegalArgumentException("the vectors have dimension " + x.cols() + ", the PCA was fitted on " + d);
        }
        float[] comp = new float[c * d];
        for (int i = 0; i < c * d; i++) {
            comp[i] = (float) components[i];
        }
        long n = x.rows();
        FloatMatrix out = FloatMatrix.allocate(n, c);
        if (n == 0) {
            return out;
        }
        // Rows are centred (in float64, rounded once) before the float32 products, block by block, so data
        // far from the origin keeps its digits: (x - mean) . w, not x . w - mean . w.
        int block = (int) Math.max(1, Math.min(n, (1 << 22) / Math.max(1, d)));
        float[] row = new float[d];
        float[] scores = new float[c];
        try (FloatMatrix w = FloatMatrix.of(comp, d); ResidentMatrix resident = backend.upload(w, Metric.INNER_PRODUCT);
             FloatMatrix centred = FloatMatrix.allocate(block, d); FloatMatrix part = FloatMatrix.allocate(block, c)) {
            for (long r0 = 0; r0 < n; r0 += block) {
                int rows = (int) Math.min(block, n - r0);
                for (int i = 0; i < rows; i++) {
                    x.getRow(r0 + i, row);
                    for (int j = 0; j < d; j++) {
                        row[j] = (float) (row[j] - mean[j]);
                    }
                    centred.setRow(i, row);
                }
                try (FloatMatrix in = centred.rowsView(0, rows); FloatMatrix o = part.rowsView(0, rows)) {
                    resident.distances(in, 0, c, o);
                }
                for (int i = 0; i < rows; i++) {
                    part.getRow(i, scores);
                    for (int k = 0; k < c; k++) {
                        if (whiten) {
                            scores[k] = variance[k] > 0 ? (float) (scores[k] / Math.sqrt(variance[k])) : 0f;
                        }
                    }
                    out.setRow(r0 + i, scores);
                }
            }
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
        return out;
    }

    /** Maps component scores ({@code n × c}, as {@link #transform} returns them) back to {@code n × d}. */
    public FloatMatrix inverseTransform(FloatMatrix z) {
        Objects.requireNonNull(z, "z");
        int d = dimension();
        int c = components();
        if (z.cols() != c) {
            throw new IllegalArgumentException("the scores have " + z.cols() + " columns, the PCA has " + c + " components");
        }
        FloatMatrix out = FloatMatrix.allocate(z.rows(), d);
        try {
            fillInverse(z, out);
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
        return out;
    }

    private void fillInverse(FloatMatrix z, FloatMatrix out) {
        int d = dimension();
        int c = components();
        float[] zi = new float[c];
        float[] xi = new float[d];
        double[] acc = new double[d];
        for (long r = 0; r < z.rows(); r++) {
            z.getRow(r, zi);
            System.arraycopy(mean, 0, acc, 0, d);
            for (int i = 0; i < c; i++) {
                double s = whiten ? zi[i] * Math.sqrt(variance[i]) : zi[i];
                for (int j = 0; j < d; j++) {
                    acc[j] += s * components[i * d + j];
                }
            }
            for (int j = 0; j < d; j++) {
                xi[j] = (float) acc[j];
            }
            out.setRow(r, xi);
        }
    }

    /** Writes the model as JSON to {@code file}, atomically (the old file stays until the new one is complete). */
    public void save(Path file) throws IOException {
        byte[] bytes = toJson();
        try (AtomicOutput out = AtomicOutput.open(file)) {
            out.write(ByteBuffer.wrap(bytes));
            out.commit();
        }
    }

    /** The model as the JSON {@link #save} writes and {@link #load} reads (UTF-8). */
    public byte[] toJson() throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", 1);
        root.put("dimension", dimension());
        root.put("whiten", whiten);
        root.put("fittedOn", fittedOn);
        root.put("totalVariance", totalVariance);
        ArrayNode m = root.putArray("mean");
        for (double v : mean) {
            m.add(v);
        }
        ArrayNode comps = root.putArray("components");
        for (int i = 0; i < components(); i++) {
            ObjectNode ci = comps.addObject();
            ci.put("variance", variance[i]);
            ci.put("ratio", ratio[i]);
            ArrayNode w = ci.putArray("vector");
            for (int j = 0; j < dimension(); j++) {
                w.add(components[i * dimension() + j]);
            }
        }
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
    }

    /** Reads a model written by {@link #save}. */
    public static PcaModel load(Path file) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(file));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(file + ": not a PCA model file (" + e.getOriginalMessage() + ")", e);
        }
        if (root == null || !FORMAT.equals(root.path("format").asText()) || root.path("version").asInt() != 1) {
            throw new IOException(file + ": not a PCA model file (expected \"format\": \"" + FORMAT + "\", version 1)");
        }
        int d = root.path("dimension").asInt();
        JsonNode m = root.path("mean");
        JsonNode comps = root.path("components");
        if (d < 1 || m.size() != d || comps.size() < 1 || comps.size() > d) {
            throw new IOException(file + ": inconsistent PCA model (dimension " + d + ", mean of " + m.size() + ", "
                    + comps.size() + " components)");
        }
        double[] mean = new double[d];
        for (int j = 0; j < d; j++) {
            mean[j] = m.get(j).asDouble();
        }
        int c = comps.size();
        double[] w = new double[c * d];
        double[] variance = new double[c];
        double[] ratio = new double[c];
        for (int i = 0; i < c; i++) {
            JsonNode ci = comps.get(i);
            JsonNode v = ci.path("vector");
            if (v.size() != d) {
                throw new IOException(file + ": component " + i + " has " + v.size() + " values, expected " + d);
            }
            for (int j = 0; j < d; j++) {
                w[i * d + j] = v.get(j).asDouble();
            }
            variance[i] = ci.path("variance").asDouble();
            ratio[i] = ci.path("ratio").asDouble();
        }
        return new PcaModel(mean, w, variance, ratio, root.path("totalVariance").asDouble(),
                root.path("whiten").asBoolean(), root.path("fittedOn").asLong());
    }
}
