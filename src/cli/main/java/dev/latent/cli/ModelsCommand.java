package dev.latent.cli;

import java.util.List;

import dev.latent.encode.ModelManifest;
import dev.latent.encode.ModelSpec;
import dev.latent.encode.text.TextEncoder;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code latent models}: the models of the manifest. */
@Command(name = "models", mixinStandardHelpOptions = true,
        header = "List the models in the manifest, the default first.",
        description = "List the models in the manifest (default first).")
final class ModelsCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;


    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        ModelManifest manifest = ModelManifest.get();
        List<String> names = new java.util.ArrayList<>(TextEncoder.knownModels());
        for (String name : manifest.names()) {
            if (!names.contains(name)) {
                names.add(name);
            }
        }
        for (String name : names) {
            ModelSpec m = manifest.model(name);
            String extra = m.source().decoder() != null ? ", with decoder" : "";
            extra += m.textModel() != null ? ", text queries through " + m.textModel() : "";
            out.printf(java.util.Locale.ROOT, "%-24s %4s  %-6s  %s%s%s%n", name, m.dimension() > 0 ? String.valueOf(m.dimension()) : "?",
                    m.modality().name().toLowerCase(java.util.Locale.ROOT), m.description(), extra,
                    name.equals(TextEncoder.defaultModel()) ? "  (default)" : "");
        }
        return Main.OK;
    }
}
