package dev.latent.compute;

/**
 * Result of {@link Backend#assign}: for point {@code i}, the index of its nearest target
 * {@code label(i)} and the score against it {@code score(i)} (under the targets' metric).
 *
 * <p>Immutable after construction (arrays shared, not copied); thread-safe.
 */
public record Assignment(int[] labels, float[] scores) {
    public Assignment {
        if (labels.length != scores.length) {
            throw new IllegalArgumentException(labels.length + " labels for " + scores.length + " scores");
        }
    }

    public int size() {
        return labels.length;
    }

    public int label(int i) {
        return labels[i];
    }

    public float score(int i) {
        return scores[i];
    }
}
