package dev.latent.spark;

import java.util.function.Consumer;
import org.apache.spark.TaskContext;

/**
 * Failure injection for the retry tests: a hook run before each batch a task computes. Unset (the only
 * state outside tests) it does nothing. Local mode runs tasks in the test's JVM, so a test can set it.
 */
final class Faults {
    static volatile Consumer<TaskContext> beforeBatch;

    private Faults() {
    }

    static void beforeBatch(TaskContext task) {
        Consumer<TaskContext> hook = beforeBatch;
        if (hook != null) {
            hook.accept(task);
        }
    }
}
