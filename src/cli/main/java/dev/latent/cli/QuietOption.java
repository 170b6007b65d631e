package dev.latent.cli;

import picocli.CommandLine.Option;

/** {@code -q/--quiet}, declared once for the commands that draw progress bars. */
final class QuietOption {
    @Option(names = {"-q", "--quiet"}, description = "No progress bars.")
    boolean quiet;
}
