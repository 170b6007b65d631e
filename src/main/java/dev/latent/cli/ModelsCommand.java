package dev.latent.cli;

import dev.latent.encode.ModelManifest;
import dev.latent.encode.ModelSpec;
import dev.latent.encode.text.TextEncoder;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code latent models}: the models of the manifest. */
@Command(name = "models", mixinStandardHelpOptions = true, description = "List the models in the manifest (default first).")
final class ModelsCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--verbose", description = "Log details; print stack traces on errors.")
    boolean verbose;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        for (String name : TextEncoder.knownModels()) {
            ModelSpec m = ModelManifest.get().model(name);
            out.printf(java.util.Locale.ROOT, "%-24s %4d  %s%s%n", name, m.dimension(), m.description(),
                    name.equals(TextEncoder.defaultModel()) ? "  (default)" : "");
        }
        return Main.OK;
    }
}
