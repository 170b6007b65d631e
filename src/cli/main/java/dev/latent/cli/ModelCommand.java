package dev.latent.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;

/**
 * A command that runs a model (embed, search, path, serve, demo): its spec and the model options, checked
 * before {@link #run} is called.
 */
abstract class ModelCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelOptions model = new ModelOptions();

    @Override
    public final Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        model.check(cl);
        return run(cl);
    }

    /** The command's work, the model options already checked; returns the exit code. */
    protected abstract Integer run(CommandLine cl) throws Exception;
}
