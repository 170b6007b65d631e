package dev.latent.cli;

import picocli.CommandLine;

/** Turns a step's {@link IllegalArgumentException} into a usage error (exit 2) with its message. */
final class Usage {
    private Usage() {
    }

    /** A step whose {@link IllegalArgumentException} is a problem with the command line. */
    interface Step<T, E extends Exception> {
        T get() throws E;
    }

    /** The value of {@code step}, its {@link IllegalArgumentException} turned into a usage error. */
    static <T, E extends Exception> T usage(CommandLine cl, Step<T, E> step) throws E {
        try {
            return step.get();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
    }
}
