package dev.latent.encode.tensor;

import dev.latent.core.FloatMatrix;
import dev.latent.encode.Encoder;
import dev.latent.encode.Modality;
import dev.latent.encode.ModelFiles;
import dev.latent.encode.ModelSpec;
import dev.latent.encode.Pooling;
import dev.latent.encode.TensorSpec;
import dev.latent.encode.onnx.ElementType;
import dev.latent.encode.onnx.Feeds;
import dev.latent.encode.onnx.OnnxModel;
import dev.latent.encode.onnx.Outputs;
import dev.latent.encode.onnx.TensorInfo;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Encodes numeric rows (tabular features, behaviour records) with any ONNX model whose one input is a float
 * tensor {@code [N, F]}: the entry's per-column standardisation, batches of {@value #BATCH} rows, the first
 * output ({@code [N, D]}), L2 normalisation when the entry says {@code normalize}. Owns its ONNX session;
 * {@link #close()} frees it once. Thread-safe.
 */
public final class TensorEncoder implements Encoder<float[]> {
    /** Rows per model call. */
    public static final int BATCH = 256;

    private final ModelSpec spec;
    private final OnnxModel model;
    private final String input;
    private final String output;
    private final int columns;
    private final int dimension;

    private TensorEncoder(ModelSpec spec, OnnxModel model) {
        this.spec = spec;
        this.model = model;
        if (model.inputs().size() != 1) {
            throw new IllegalArgumentException("tensor model " + model.origin() + " has " + model.inputs().size()
                    + " inputs " + model.inputNames() + "; a tensor encoder feeds exactly one [N, F] float tensor");
        }
        TensorInfo in = model.inputs().get(0);
        if (in.type() != ElementType.FLOAT || in.rank() != 2) {
            throw new IllegalArgumentException("tensor model " + model.origin() + ": input " + in
                    + " is not a 2-D float tensor [N, F]");
        }
        this.columns = spec.tensor().columns();
        if (in.lastDim() > 0 && in.lastDim() != columns) {
            throw new IllegalArgumentException("tensor model " + model.origin() + " takes " + in.lastDim()
                    + " columns; its entry says " + columns);
        }
        this.input = in.name();
        this.output = model.outputNames().get(0);
        this.dimension = run(new float[columns], 1).length;
        if (spec.dimension() > 0 && spec.dimension() != dimension) {
            throw new IllegalArgumentException("tensor model " + model.origin() + " gives " + dimension
                    + "-dimensional vectors; its entry says " + spec.dimension());
        }
    }

    /** Opens the tensor model of {@code spec} (modality {@code tensor}). */
    public static TensorEncoder open(ModelSpec spec, OnnxModel.Options options) {
        Objects.requireNonNull(spec, "spec");
        if (spec.modality() != Modality.TENSOR || spec.tensor() == null) {
            throw new IllegalArgumentException("model '" + spec.name() + "' is a " + spec.modality()
                    + " model, not a tensor model");
        }
        OnnxModel model = OnnxModel.open(ModelFiles.locate(spec.source()), options);
        try {
            return new TensorEncoder(spec, model);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** A tensor model given by path. */
    public static ModelSpec specOf(Path onnx, TensorSpec tensor, boolean normalize) {
        return ModelSpec.builder(onnx.getFileName().toString(), Modality.TENSOR, ModelSpec.Source.ofPaths(onnx, null))
                .description("ONNX model " + onnx).pooling(Pooling.CLS).normalize(normalize).tensor(tensor).build();
    }

    @Override
    public ModelSpec spec() {
        return spec;
    }

    @Override
    public Modality modality() {
        return Modality.TENSOR;
    }

    @Override
    public String provider() {
        return model.provider();
    }

    public int columns() {
        return columns;
    }

    @Override
    public int dimension() {
        return dimension;
    }

    /**
     * The {@link Encoder} form of {@link #encode(FloatMatrix)}: each input a row of {@link #columns()} numbers.
     *
     * @throws IllegalArgumentException for a row of another length, named by its index
     */
    @Override
    public FloatMatrix encode(List<float[]> rows) {
        try (FloatMatrix m = FloatMatrix.allocate(rows.size(), columns)) {
            for (int i = 0; i < rows.size(); i++) {
                float[] r = rows.get(i);
                if (r == null || r.length != columns) {
                    throw new IllegalArgumentException("row " + i + " has " + (r == null ? "no" : r.length)
                            + " numbers, model " + spec.name() + " takes " + columns);
                }
                m.setRow(i, r);
            }
            return encode(m);
        }
    }

    /** Encodes the rows of {@code rows} ({@code columns} wide), standardised as the entry says; a new matrix. */
    public FloatMatrix encode(FloatMatrix rows) {
        if (rows.cols() != columns) {
            throw new IllegalArgumentException("rows have " + rows.cols() + " columns, model " + spec.name() + " takes " + columns);
        }
        FloatMatrix out = FloatMatrix.allocate(rows.rows(), dimension);
        try {
            for (long from = 0; from < rows.rows(); from += BATCH) {
                int n = (int) Math.min(BATCH, rows.rows() - from);
                float[] x = rows.copyRows(from, n);
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < columns; j++) {
                        if (!Float.isFinite(x[i * columns + j])) {
                            throw new IllegalArgumentException("row " + (from + i) + ", column " + j + ": "
                                    + x[i * columns + j] + " is not a finite number");
                        }
                    }
                    spec.tensor().standardise(x, i * columns);
                }
                out.setRows(from, run(x, n));
            }
            return out;
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }

    /** Runs the model on {@code n} standardised rows; returns {@code n × dimension} floats. */
    private float[] run(float[] x, int n) {
        try (Feeds f = new Feeds().floats(input, x, n, columns); Outputs o = model.run(f, output)) {
            long[] shape = o.shape(0);
            if (shape.length != 2 || shape[0] != n) {
                throw new IllegalStateException("tensor model " + model.origin() + ": output " + output + " has shape "
                        + Arrays.toString(shape) + ", expected [" + n + ", D]");
            }
            FloatBuffer fb = o.floats(0);
            float[] v = new float[(int) (n * shape[1])];
            fb.get(v);
            if (spec.normalize()) {
                dev.latent.core.Vectors.normalizeRows(v, n, (int) shape[1]);
            }
            return v;
        }
    }

    @Override
    public void close() {
        model.close();
    }
}
