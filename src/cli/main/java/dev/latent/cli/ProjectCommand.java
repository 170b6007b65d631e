package dev.latent.cli;

import dev.latent.job.VectorInput;
import dev.latent.analyse.Pca;
import dev.latent.analyse.PcaModel;
import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.core.FloatMatrix;
import dev.latent.space.OutputSet;
import dev.latent.space.format.Npy;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code latent project}: PCA of vectors, or an earlier PCA applied to new ones. */
@Command(name = "project", mixinStandardHelpOptions = true,
        header = "Project vectors onto their principal components (PCA).",
        description = {"Project vectors (.lidx index or .npy) onto their top principal components (PCA on the compute "
                        + "backend) and write the scores as .npy; --save-model keeps the fitted PCA (JSON) and --model "
                        + "applies a saved one to new vectors. Prints the explained variance per component."})
final class ProjectCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "VECTORS", description = "An index file (.lidx) or vectors (.npy).")
    Path input;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE.npy", converter = OutputFile.class, required = true, description = "The component scores (n x components, float32).")
    Path output;

    @Option(names = {"-c", "--components"}, paramLabel = "C", defaultValue = "2", description = "Components to keep (default: ${DEFAULT-VALUE}).")
    int components;

    @Option(names = "--whiten", description = "Scale each component to unit variance.")
    boolean whiten;

    @Option(names = "--save-model", paramLabel = "FILE.json", converter = OutputFile.class, description = "Also write the fitted PCA, to apply it to other vectors later.")
    Path saveModel;

    @Option(names = "--model", paramLabel = "FILE.json", description = "Apply this saved PCA instead of fitting one.")
    Path model;

    @Option(names = "--show", paramLabel = "N", defaultValue = "10", description = "Components listed (default: ${DEFAULT-VALUE}).")
    int show;


    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        if (model != null && (saveModel != null || whiten)) {
            throw new CommandLine.ParameterException(cl, "--model applies a saved PCA: --save-model and --whiten are for fitting one");
        }
        new FileRoles()
                .input("input vectors", input)
                .input("PCA model (--model)", model)
                .output("scores output (-o)", output)
                .output("PCA model output (--save-model)", saveModel)
                .check(cl);
        PrintWriter out = cl.getOut();
        Backend backend = Backends.get();
        long start = System.nanoTime();
        try (VectorInput in = VectorOptions.open(input, null, null, cl)) {
            PcaModel pca;
            try {
                pca = model != null ? PcaModel.load(model) : Pca.of(components).whiten(whiten).backend(backend).fit(in.vectors());
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cl, e.getMessage());
            }
            if (pca.dimension() != in.vectors().cols()) {
                throw new CommandLine.ParameterException(cl, "the PCA in " + model + " was fitted on dimension " + pca.dimension()
                        + ", " + input + " has dimension " + in.vectors().cols());
            }
            try (FloatMatrix z = pca.transform(in.vectors(), backend); OutputSet outputs = new OutputSet()) {
                try (Npy.Writer w = Npy.writer(outputs.open(output), z.cols())) {
                    w.append(z);
                    w.finish();
                }
                if (saveModel != null) {  // committed with the scores
                    outputs.open(saveModel).write(java.nio.ByteBuffer.wrap(pca.toJson()));
                }
                outputs.commit();
            }
            double[] ratio = pca.explainedVarianceRatio();
            double[] var = pca.explainedVariance();
            out.printf(Locale.ROOT, "PCA%s: %d vectors of dimension %d -> %d components (%s) in %.2f s on %s%n",
                    model != null ? " (applied from " + model + ")" : "", in.rows(), pca.dimension(), pca.components(),
                    pca.whiten() ? "whitened" : "not whitened", (System.nanoTime() - start) / 1e9, backend.name());
            out.printf(Locale.ROOT, "%10s %14s %10s %10s%n", "component", "variance", "ratio", "cumulative");
            double cum = 0;
            for (int i = 0; i < pca.components(); i++) {
                cum += ratio[i];
                if (i < show) {
                    out.printf(Locale.ROOT, "%10d %14.6g %9.2f%% %9.2f%%%n", i + 1, var[i], 100 * ratio[i], 100 * cum);
                }
            }
            if (pca.components() > show) {
                out.printf(Locale.ROOT, "... %d more (--show); all %d explain %.2f%% of the variance%n",
                        pca.components() - show, pca.components(), 100 * cum);
            }
        }
        out.flush();
        return Main.OK;
    }
}
