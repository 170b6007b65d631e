package dev.latent.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The reference backend: the contract, and its top-k against a full sort on random data. */
class JavaBackendTest extends BackendContractTest {
    @Override
    Backend backend() {
        return Backends.java();
    }

    @Test
    void topKMatchesAFullSort() {
        long seed = Reference.seed();
        Random rnd = new Random(seed);
        for (Metric m : Metric.values()) {
            String ctx = "seed " + seed + ", " + m;
            try (FloatMatrix db = Reference.integers(300, 5, rnd); FloatMatrix q = Reference.integers(9, 5, rnd);
                 ResidentMatrix p = backend().upload(db, m)) {
                Neighbors n = p.search(q, 50);
                for (int qi = 0; qi < 9; qi++) {
                    float[] qv = q.getRow(qi);
                    Integer[] order = new Integer[300];
                    double[] s = new double[300];
                    for (int r = 0; r < 300; r++) {
                        order[r] = r;
                        double e = Reference.exact(m, qv, db.getRow(r));
                        s[r] = m.higherIsNearer() ? -e : e;  // ascending = best first
                    }
                    Arrays.sort(order, Comparator.<Integer>comparingDouble(r -> s[r]).thenComparingInt(r -> r));
                    for (int r = 0; r < 50; r++) {
                        if (m == Metric.COSINE) {
                            // Rows x and 2x tie mathematically but not in rounding: compare exact values.
                            double want = Reference.exact(m, qv, db.getRow(order[r]));
                            double have = Reference.exact(m, qv, db.getRow(n.id(qi, r)));
                            assertEquals(want, have, 1e-12, ctx + ", query " + qi + ", rank " + r);
                        } else {
                            assertEquals((long) order[r], n.id(qi, r), ctx + ", query " + qi + ", rank " + r);
                        }
                    }
                }
            }
        }
    }
}
