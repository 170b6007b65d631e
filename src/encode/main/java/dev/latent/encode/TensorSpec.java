package dev.latent.encode;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * How numeric rows (tabular features) are fed to a tensor model: the column count, and an optional per-column
 * standardisation {@code (x − mean[j]) / std[j]} stored with the model entry (the statistics of the data the
 * model was trained on). Immutable.
 *
 * @param columns features per row (the model input's last dimension)
 * @param mean    per-column means, or {@code null} for no standardisation
 * @param std     per-column standard deviations (positive), or {@code null} with {@code mean}
 */
public record TensorSpec(int columns, float[] mean, float[] std) {
    public TensorSpec {
        if (columns < 1) {
            throw new IllegalArgumentException("columns must be >= 1, got " + columns);
        }
        if ((mean == null) != (std == null)) {
            throw new IllegalArgumentException("standardisation needs both mean and std");
        }
        if (mean != null) {
            if (mean.length != columns || std.length != columns) {
                throw new IllegalArgumentException("mean and std need " + columns + " values each, got " + mean.length
                        + " and " + std.length);
            }
            for (int j = 0; j < columns; j++) {
                if (!(std[j] > 0) || !Float.isFinite(mean[j])) {
                    throw new IllegalArgumentException("column " + j + ": std must be positive and mean finite, got mean "
                            + mean[j] + ", std " + std[j]);
                }
            }
            mean = mean.clone();
            std = std.clone();
        }
    }

    @Override
    public float[] mean() {
        return mean == null ? null : mean.clone();
    }

    @Override
    public float[] std() {
        return std == null ? null : std.clone();
    }

    /** Standardises one row in place (no-op without statistics). */
    public void standardise(float[] row, int offset) {
        if (mean == null) {
            return;
        }
        for (int j = 0; j < columns; j++) {
            row[offset + j] = (row[offset + j] - mean[j]) / std[j];
        }
    }

    /** Reads the manifest's {@code "tensor"} object: {@code columns}, optional {@code mean} and {@code std} arrays. */
    public static TensorSpec fromJson(JsonNode n) {
        int columns = n.path("columns").asInt(0);
        return new TensorSpec(columns, floats(n.get("mean")), floats(n.get("std")));
    }

    private static float[] floats(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isArray()) {
            throw new IllegalArgumentException("expected an array of numbers, got " + n);
        }
        float[] v = new float[n.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) n.get(i).asDouble();
        }
        return v;
    }
}
