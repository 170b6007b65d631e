package dev.latent.analyse;

/**
 * UMAP's layout optimisation (step 6 of {@link Umap}, umap-learn's {@code optimize_layout_euclidean}): the state
 * of one run of stochastic gradient descent over the graph's edges, with its negative samples, and the
 * platform-independent {@link #pow} it calls per sample. An epoch is its own method so the JIT compiles it whole
 * after a few epochs (instead of one long on-stack replacement of the whole run). One instance per fit, used by
 * one thread.
 */
final class UmapSgd {
    /** Gradient components are clipped to ±this. */
    private static final double CLIP = 4.0;

    /** Due edges whose samples are interleaved. */
    static final int GROUP = 8;
    final double[] y;
    final int n;
    final int m;
    final int[] head;
    final int[] tail;
    final double[] perSample;
    final double rate;
    final double[] nextSample;
    final double[] nextNegative;
    final double a;
    final double b;
    final double gamma;
    final boolean negatives;
    /** Whether an attraction moves the tail as well (false when the tails are a fixed reference layout). */
    final boolean moveTail;
    final int[] group = new int[GROUP];
    final int[] owed = new int[GROUP];
    long state;

    UmapSgd(double[] y, int n, int m, int[] head, int[] tail, double[] perSample, int rate, double a, double b,
            double gamma, long state) {
        this(y, n, m, head, tail, perSample, rate, a, b, gamma, state, true);
    }

    /**
     * @param n        negative samples are drawn from the points {@code [0, n)} of {@code y}
     * @param moveTail false to attract only the heads (umap-learn's {@code move_other=False}, for placing new
     *                 points on a fixed layout)
     */
    UmapSgd(double[] y, int n, int m, int[] head, int[] tail, double[] perSample, int rate, double a, double b,
            double gamma, long state, boolean moveTail) {
        this.moveTail = moveTail;
        this.y = y;
        this.n = n;
        this.m = m;
        this.head = head;
        this.tail = tail;
        this.perSample = perSample;
        this.rate = rate;
        this.nextSample = perSample.clone();
        // Negative samples are owed every perSample / rate epochs (umap-learn's epochs_per_negative_sample).
        this.nextNegative = new double[perSample.length];
        for (int i = 0; i < perSample.length; i++) {
            nextNegative[i] = perSample[i] / rate;
        }
        this.a = a;
        this.b = b;
        this.gamma = gamma;
        this.negatives = rate > 0;
        this.state = state;
    }

    void epoch(int epoch, double alpha) {
        int[] group = this.group;
        int[] owed = this.owed;
        int[] head = this.head;
        double[] nextSample = this.nextSample;
        int edges = head.length;
        int size = 0;
        for (int i = 0; i < edges; i++) {
            if (nextSample[i] > epoch) {
                continue;
            }
            group[size++] = i;
            if (size == GROUP) {
                samples(group, owed, size, epoch, alpha);
                size = 0;
            }
        }
        samples(group, owed, size, epoch, alpha);
    }

    /**
     * The samples of the due edges {@code group[0, size)}: their attractions in order, then their
     * negative samples round-robin (the first of each edge, then the second, ...). Every update reads
     * the coordinates as the previous update left them, so this is sequential descent in one fixed
     * order; interleaving the edges lets the processor overlap their dependency chains (an edge's
     * negative samples all move its head, each waiting for the last).
     */
    private void samples(int[] group, int[] owed, int size, int epoch, double alpha) {
        double[] y = this.y;
        int m = this.m;
        double a = this.a;
        double b = this.b;
        int most = 0;
        for (int g = 0; g < size; g++) {
            int i = group[g];
            int jb = head[i] * m;
            int tb = tail[i] * m;
            double d2 = 0;
            for (int c = 0; c < m; c++) {
                double v = y[jb + c] - y[tb + c];
                d2 += v * v;
            }
            if (d2 > 0) {
                double pb = pow(d2, b);
                double coeff = -2.0 * a * b * (pb / d2) / (a * pb + 1.0);
                for (int c = 0; c < m; c++) {
                    double g2 = clip(coeff * (y[jb + c] - y[tb + c])) * alpha;
                    y[jb + c] += g2;
                    if (moveTail) {
                        y[tb + c] -= g2;
                    }
                }
            }
            nextSample[i] += perSample[i];
            double perNegative = perSample[i] / rate;
            int count = negatives ? (int) ((epoch - nextNegative[i]) / perNegative) : 0;
            owed[g] = count;
            most = Math.max(most, count);
            if (negatives) {
                nextNegative[i] += count * perNegative;
            }
        }
        double repel = 2.0 * gamma * b;
        int n = this.n;
        long state = this.state;
        for (int s = 0; s < most; s++) {
            for (int g = 0; g < size; g++) {
                if (s >= owed[g]) {
                    continue;
                }
                // xorshift64*, then a multiply-shift onto [0, n).
                state ^= state >>> 12;
                state ^= state << 25;
                state ^= state >>> 27;
                long r = state * 0x2545F4914F6CDD1DL;
                int ob = (int) (((r >>> 32) * n) >>> 32) * m;
                int jb = head[group[g]] * m;
                double e2 = 0;
                for (int c = 0; c < m; c++) {
                    double v = y[jb + c] - y[ob + c];
                    e2 += v * v;
                }
                if (e2 > 0) {
                    double coeff = repel / ((0.001 + e2) * (a * pow(e2, b) + 1.0));
                    for (int c = 0; c < m; c++) {
                        y[jb + c] += clip(coeff * (y[jb + c] - y[ob + c])) * alpha;
                    }
                }
            }
        }
        this.state = state;
    }

    /** Tables for {@link #pow}: {@code 1 / (1 + i/128)}, {@code log2(1 + i/128)}, {@code 2^(i/64)}. */
    private static final double[] LOG_INVERSE = new double[128];
    private static final double[] LOG2_TABLE = new double[128];
    private static final double[] EXP2_TABLE = new double[64];
    private static final double LN2 = StrictMath.log(2);
    private static final double INV_LN2 = 1 / LN2;

    static {
        // StrictMath: the same tables, so the same layouts, on every platform.
        for (int i = 0; i < 128; i++) {
            LOG_INVERSE[i] = 1 / (1 + i / 128.0);
            LOG2_TABLE[i] = StrictMath.log(1 + i / 128.0) * INV_LN2;
        }
        for (int i = 0; i < 64; i++) {
            EXP2_TABLE[i] = StrictMath.pow(2, i / 64.0);
        }
    }

    /**
     * {@code x^b} for {@code x > 0}, as {@code 2^(b · log2 x)} with tables and short series (relative
     * error about 1e-12): faster than {@link Math#pow}, which the optimisation would call once per sample,
     * and pure arithmetic on {@link StrictMath} tables, so the same on every JVM and platform.
     */
    static double pow(double x, double b) {
        if (!(x >= Double.MIN_NORMAL) || x == Double.POSITIVE_INFINITY) {
            return StrictMath.pow(x, b);
        }
        long bits = Double.doubleToRawLongBits(x);
        int e = (int) (bits >>> 52) - 1023; // x > 0: no sign bit
        long fraction = bits & 0x000F_FFFF_FFFF_FFFFL;
        int i = (int) (fraction >>> 45);   // the top 7 bits of the mantissa
        double r = Double.longBitsToDouble(fraction | 0x3FF0_0000_0000_0000L) * LOG_INVERSE[i] - 1; // [0, 1/128)
        double ln1p = r - r * r * (0.5 - r * (1.0 / 3 - r * (0.25 - r * 0.2)));
        double y = b * (e + LOG2_TABLE[i] + ln1p * INV_LN2);
        if (!(y > -1000 && y < 1000)) {
            return StrictMath.pow(x, b);
        }
        double steps = Math.floor(y * 64);
        int k = (int) steps;
        double f = (y - steps / 64) * LN2; // [0, ln2 / 64)
        double p = 1 + f * (1 + f * (0.5 + f * (1.0 / 6 + f * (1.0 / 24 + f * (1.0 / 120)))));
        return p * EXP2_TABLE[k & 63] * Double.longBitsToDouble((long) ((k >> 6) + 1023) << 52);
    }

    private static double clip(double v) {
        return v > CLIP ? CLIP : v < -CLIP ? -CLIP : v;
    }
}
