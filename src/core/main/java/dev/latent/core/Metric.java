package dev.latent.core;

/**
 * How two latent vectors are compared.
 *
 * <p>Scores follow each metric's natural direction: {@link #INNER_PRODUCT} and {@link #COSINE}
 * are similarities (higher is nearer), {@link #L2} is the squared Euclidean distance (lower is
 * nearer). Top-k results are ordered best first, ties broken by the lower row index.
 */
public enum Metric {
    /** Dot product {@code q·x}; higher is nearer. */
    INNER_PRODUCT(0, true),
    /** Cosine similarity {@code q·x / (|q| |x|)}; higher is nearer. Zero vectors are rejected. */
    COSINE(1, true),
    /** Squared Euclidean distance {@code |q - x|²}; lower is nearer. */
    L2(2, false);

    private final int code;
    private final boolean higherIsNearer;

    Metric(int code, boolean higherIsNearer) {
        this.code = code;
        this.higherIsNearer = higherIsNearer;
    }

    /** Stable numeric code shared with the native kernels and the index file format. */
    public int code() {
        return code;
    }

    /** True when a larger score means a nearer vector. */
    public boolean higherIsNearer() {
        return higherIsNearer;
    }

    /** True when score {@code a} is strictly better than score {@code b} under this metric. */
    public boolean better(double a, double b) {
        return higherIsNearer ? a > b : a < b;
    }

    /** The metric with the given {@link #code()}. */
    public static Metric fromCode(int code) {
        for (Metric m : values()) {
            if (m.code == code) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown metric code " + code);
    }

    /** Parses a user-facing name: {@code ip}, {@code inner_product}, {@code cosine}, {@code l2}. */
    public static Metric parse(String name) {
        switch (name.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "ip": case "dot": case "inner_product": case "inner-product": return INNER_PRODUCT;
            case "cos": case "cosine": return COSINE;
            case "l2": case "euclidean": case "l2sq": return L2;
            default: throw new IllegalArgumentException(
                    "unknown metric '" + name + "' (expected one of: ip, cosine, l2)");
        }
    }
}
