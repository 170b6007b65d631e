package dev.latent.cli;

import dev.latent.corpus.ImageCorpus;
import dev.latent.encode.ModelSpec;
import dev.latent.encode.image.Autoencoder;
import dev.latent.encode.image.ImageEncoder;
import dev.latent.encode.image.ImagePreprocessor;
import dev.latent.encode.onnx.OnnxModel;
import dev.latent.space.AtomicOutput;
import dev.latent.space.OutputSet;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code latent reconstruct}: reconstruction errors of an autoencoder, an anomaly score per image. */
@Command(name = "reconstruct", mixinStandardHelpOptions = true,
        header = "Score images by an autoencoder's reconstruction error.",
        description = {"Score images by how badly an autoencoder (an image model with a decoder, e.g. digits-ae) "
                        + "reconstructs them: the mean squared error between each preprocessed image and its decoded "
                        + "latent. Items unlike the training data reconstruct badly, so the largest errors are the "
                        + "anomalies."})
final class ReconstructCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "INPUT", description = "A folder of images or a list file of image paths.")
    Path input;

    @Option(names = "--model", paramLabel = "NAME", required = true, description = "Image model with a decoder (e.g. digits-ae).")
    String model;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE.tsv", converter = OutputFile.class, description = "Write every item's error here (id, error; largest first).")
    Path output;

    @Option(names = "--top", paramLabel = "N", defaultValue = "10", description = "Items shown (default: ${DEFAULT-VALUE}).")
    int top;

    @Option(names = "--skip-unreadable", description = "Leave out images that cannot be decoded (listed on stderr) instead of stopping.")
    boolean skipUnreadable;

    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        if (top < 0) {
            throw new CommandLine.ParameterException(cl, "--top must be >= 0");
        }
        ModelSpec image;
        ImageCorpus images;
        try {
            image = ModelOptions.imageModel(model);
            if (image == null) {
                throw new IllegalArgumentException("model '" + model + "' is not an image model");
            }
            images = ImageCorpus.of(input);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
        // The images the folder or list file leads to are inputs too: the errors file must not replace one.
        new FileRoles().inputOrFolder("input", input).inputs("input image", images.files())
                .output("errors output (-o)", output).check(cl);
        List<String> ids = new ArrayList<>();
        List<Double> errors = new ArrayList<>();
        try (Autoencoder ae = Autoencoder.open(image, OnnxModel.Options.cpu(1))) {
            ImagePreprocessor pre = ae.encoder().preprocessor();
            int size = pre.spec().tensorSize();
            List<Path> files = images.files();
            int batch = ImageEncoder.DEFAULT_BATCH;
            float[] pixels = new float[batch * size];
            List<String> pending = new ArrayList<>();
            for (int i = 0; i <= files.size(); i++) {
                if (i < files.size()) {
                    try {
                        pre.tensor(files.get(i), pixels, pending.size() * size);
                        pending.add(images.ids().get(i));
                    } catch (IOException e) {
                        if (!skipUnreadable) {
                            cl.getErr().println("error: " + e.getMessage());
                            cl.getErr().println("nothing was written; --skip-unreadable leaves such images out");
                            return Main.FAILURE;
                        }
                        cl.getErr().println("skipped: " + e.getMessage());
                    }
                }
                if (pending.size() == batch || (i == files.size() && !pending.isEmpty())) {
                    double[] err = ae.reconstructionErrors(pixels, pending.size());
                    ids.addAll(pending);
                    for (double e : err) {
                        errors.add(e);
                    }
                    pending.clear();
                }
            }
        }
        Integer[] order = new Integer[ids.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(errors.get(b), errors.get(a)));
        if (output != null) {
            StringBuilder sb = new StringBuilder("id\treconstruction_mse\n");
            for (int i : order) {
                sb.append(ids.get(i)).append('\t').append(String.format(Locale.ROOT, "%.6g", errors.get(i))).append('\n');
            }
            try (OutputSet outputs = new OutputSet()) {
                AtomicOutput o = outputs.open(output);
                o.channel().write(ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.UTF_8)));
                outputs.commit();
            }
        }
        double[] sorted = new double[order.length];   // ascending: the descending order above, reversed
        for (int i = 0; i < order.length; i++) {
            sorted[i] = errors.get(order[order.length - 1 - i]);
        }
        var out = cl.getOut();
        out.printf(Locale.ROOT, "%d images, model %s: reconstruction MSE median %.4g, 95th percentile %.4g, max %.4g%n",
                ids.size(), image.name(), sorted[sorted.length / 2], sorted[(int) Math.min(sorted.length - 1, Math.round(0.95 * (sorted.length - 1)))],
                sorted[sorted.length - 1]);
        for (int r = 0; r < Math.min(top, order.length); r++) {
            out.printf(Locale.ROOT, "%3d. %.4g  %s%n", r + 1, errors.get(order[r]), ids.get(order[r]));
        }
        out.flush();
        return Main.OK;
    }
}
