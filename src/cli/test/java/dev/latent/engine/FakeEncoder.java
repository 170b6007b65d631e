package dev.latent.engine;

import dev.latent.core.FloatMatrix;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A deterministic encoder for engine tests: each text becomes a unit vector drawn from a generator seeded
 * with the text, whatever batch it is in. Records every batch; a batch holding {@link #HOLD} announces
 * itself on {@link #entered} and waits for {@link #release}; a batch holding a text that {@code fails}
 * accepts throws {@link IllegalStateException} naming it.
 */
final class FakeEncoder implements Engine.Encoder {
    static final String HOLD = "hold";

    final int dimension;
    final List<List<String>> batches = Collections.synchronizedList(new ArrayList<>());
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    private final Predicate<String> fails;
    private final long sleepMillis;

    FakeEncoder(int dimension) {
        this(dimension, t -> false, 0);
    }

    FakeEncoder(int dimension, Predicate<String> fails, long sleepMillis) {
        this.dimension = dimension;
        this.fails = fails;
        this.sleepMillis = sleepMillis;
    }

    static float[] vector(String text, int dimension) {
        Random rnd = new Random(text.hashCode() * 0x9E3779B97F4A7C15L + text.length());
        float[] v = new float[dimension];
        double sq = 0;
        for (int i = 0; i < dimension; i++) {
            v[i] = (float) rnd.nextGaussian();
            sq += (double) v[i] * v[i];
        }
        float inv = (float) (1 / Math.sqrt(sq));
        for (int i = 0; i < dimension; i++) {
            v[i] *= inv;
        }
        return v;
    }

    float[] vector(String text) {
        return vector(text, dimension);
    }

    @Override
    public FloatMatrix encode(List<String> texts, boolean queries) {
        batches.add(List.copyOf(texts));
        if (texts.contains(HOLD)) {
            entered.countDown();
            try {
                if (!release.await(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("test never released the held batch");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        for (String t : texts) {
            if (fails.test(t)) {
                throw new IllegalStateException("injected encoder failure on \"" + t + "\"");
            }
        }
        if (sleepMillis > 0) {
            try {
                Thread.sleep(sleepMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        FloatMatrix m = FloatMatrix.allocate(texts.size(), dimension);
        for (int i = 0; i < texts.size(); i++) {
            m.setRow(i, vector(texts.get(i)));
        }
        return m;
    }

    /** Every text the encoder was given, over all batches. */
    List<String> seen() {
        synchronized (batches) {
            List<String> all = new ArrayList<>();
            batches.forEach(all::addAll);
            return all;
        }
    }
}
