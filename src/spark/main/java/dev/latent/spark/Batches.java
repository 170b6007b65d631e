package dev.latent.spark;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * The output of a partition function computed a batch at a time, lazily: {@link #fill} turns the next input
 * rows into output rows when the previous batch's are used up, so a partition of any size holds one batch.
 * {@link #done} runs once, when the input is exhausted. Not thread-safe (one task's iterator).
 */
abstract class Batches<T> implements Iterator<T> {
    private final Iterator<?> input;
    private final List<T> ready = new ArrayList<>();
    private int next;
    private boolean finished;

    Batches(Iterator<?> input) {
        this.input = input;
    }

    /** Appends the next batch's output rows to {@code out} (possibly none), reading the input. */
    abstract void fill(List<T> out);

    /** Called once after the last batch. */
    void done() {
    }

    @Override
    public final boolean hasNext() {
        while (next == ready.size()) {
            ready.clear();
            next = 0;
            if (!input.hasNext()) {
                if (!finished) {
                    finished = true;
                    done();
                }
                return false;
            }
            fill(ready);
        }
        return true;
    }

    @Override
    public final T next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return ready.get(next++);
    }
}
