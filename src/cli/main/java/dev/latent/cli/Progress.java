package dev.latent.cli;

import dev.latent.analyse.map.MapJob;
import java.io.PrintStream;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A progress bar with its rate per second on standard error, shown only on a terminal and without --quiet.
 * Thread-safe (updates may come from encoder threads).
 */
final class Progress implements MapJob.Counter {
    private final ProgressBar bar;

    private Progress(ProgressBar bar) {
        this.bar = bar;
    }

    static Progress start(String task, long total, boolean quiet) {
        return start(task, total, quiet, " texts");
    }

    /** A bar counting {@code unit} (with its leading space, for example {@code " iterations"}). */
    static Progress start(String task, long total, boolean quiet, String unit) {
        if (quiet || System.console() == null) {
            return new Progress(null);
        }
        ProgressBar bar = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(total)
                .setUnit(unit, 1)
                .showSpeed()
                .setSpeedUnit(ChronoUnit.SECONDS)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(250)
                .setMaxRenderedLength(100)  // a fixed line: the bar no longer resizes as the counts and rate grow
                .setConsumer(new ConsoleProgressBarConsumer(new PrintStream(System.err, true)))
                .build();
        return new Progress(bar);
    }

    /** The bars of a map's long stages (none with {@code quiet} or off a terminal). */
    static MapJob.StageProgress stages(boolean quiet) {
        return (task, total, unit) -> start(task, total, quiet, unit);
    }

    /** Sets the number done. */
    @Override
    public void done(long texts) {
        if (bar != null) {
            bar.stepTo(texts);
        }
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
        }
    }

    /** The summary line: texts, tokens, seconds, texts/s, provider. */
    static String summary(String verb, long texts, long tokens, Duration elapsed, String provider, String model) {
        double s = Math.max(1e-9, elapsed.toNanos() / 1e9);
        return String.format(java.util.Locale.ROOT, "%s %s, %s in %.2f s: %.1f texts/s (%s, %s)",
                verb, Counts.of(texts, "text", "texts"), Counts.of(tokens, "token", "tokens"), s, texts / s, provider, model);
    }
}
