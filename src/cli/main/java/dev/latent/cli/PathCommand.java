package dev.latent.cli;

import dev.latent.corpus.Corpus;
import dev.latent.corpus.CorpusTexts;
import dev.latent.job.RecordSource;
import dev.latent.job.ShardedEmbedding;
import dev.latent.space.Record;
import dev.latent.encode.ModelSpec;
import dev.latent.encode.image.Autoencoder;
import dev.latent.encode.image.ImageEncoder;
import dev.latent.encode.onnx.OnnxModel;
import dev.latent.space.AtomicOutput;
import dev.latent.space.OutputSet;

import dev.latent.analyse.Walks;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Vectors;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.encode.text.TextEncoder;
import dev.latent.index.VectorIndex;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code latent path}: what lies between two points, or where an analogy lands, with the items nearest each step. */
@Command(name = "path", mixinStandardHelpOptions = true,
        header = "Walk between two points of an index's space, or solve an analogy.",
        description = {"Walk from one point of an index's space to another in --steps steps (spherical under cosine and "
                        + "inner product, linear under l2 or with --linear) and print the items nearest each step; or with "
                        + "--analogy A B C, the items nearest B - A + C (\"A is to B as C is to ?\").",
                "A point is a text (encoded with the index's model) or @ID, a vector stored in the index."})
final class PathCommand extends ModelCommand {
    @Parameters(index = "0", paramLabel = "INDEX.lidx", description = "The index file (or a finished 'embed --shards' run's manifest.json).")
    Path indexFile;

    @Parameters(index = "1..*", paramLabel = "POINT", arity = "0..*",
            description = "FROM and TO (a text or @ID); with --analogy, A B C.")
    List<String> points = new ArrayList<>();

    @Option(names = "--analogy", description = "Three points A B C: the items nearest B - A + C, the inputs left out (@ID points, and items holding a text point's very vector).")
    boolean analogy;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "6", description = "Points on the path, both ends included (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--linear", description = "Interpolate linearly (default under cosine and inner product: along the great circle).")
    boolean linear;

    @Option(names = "-k", paramLabel = "K", defaultValue = "3", description = "Items shown per step (default: ${DEFAULT-VALUE}).")
    int k;

    @Option(names = "--corpus", paramLabel = "FILE", description = "For an index made without records: the corpus it was embedded from, for each item's text.")
    Path corpusFile;

    @Option(names = "--corpus-format", paramLabel = "FMT", defaultValue = "auto", description = "auto, text or jsonl.")
    String corpusFormat;

    @Option(names = "--decode", paramLabel = "FILE.png", converter = OutputFile.class,
            description = "Decode each step with the index model's decoder (an autoencoder such as digits-ae; the steps "
                    + "are then linear in its latent space) and write the images side by side as a PNG.")
    Path decodePng;

    @Option(names = "--scale", paramLabel = "N", defaultValue = "8", description = "With --decode: each pixel drawn N x N (default: ${DEFAULT-VALUE}).")
    int scale;

    /** The files of this run, checked before anything is read; image points join them once known. */
    private FileRoles roles;

    @Override
    protected Integer run(CommandLine cl) throws Exception {
        int want = analogy ? 3 : 2;
        if (points.size() != want) {
            throw new CommandLine.ParameterException(cl, (analogy ? "--analogy takes three points A B C" : "give two points, FROM and TO")
                    + ", got " + points.size());
        }
        if (!analogy && steps < 2) {
            throw new CommandLine.ParameterException(cl, "--steps must be >= 2 (both ends), got " + steps);
        }
        if (k <= 0) {
            throw new CommandLine.ParameterException(cl, "-k must be >= 1, got " + k);
        }
        roles = new FileRoles()
                .input("index", indexFile)
                .input("--corpus file", corpusFile)
                .input("--onnx model", model.onnx)
                .input("--tokenizer file", model.tokenizer)
                .output("--decode image", decodePng);
        roles.check(cl);
        if (decodePng != null && (analogy || scale < 1)) {
            throw new CommandLine.ParameterException(cl, analogy ? "--decode draws a path, not an analogy" : "--scale must be >= 1");
        }
        PrintWriter out = cl.getOut();
        try (VectorIndex index = ShardedEmbedding.openIndex(indexFile)) {
            float[][] v = resolve(cl, index);
            RecordSource texts = RecordSource.of(index, corpusFile == null || index.hasRecords() ? null
                    : new CorpusTexts(Corpus.file(corpusFile, corpusFormat)));
            if (analogy) {
                List<Long> inputs = new ArrayList<>();
                for (String p : points) {
                    if (p.startsWith("@")) {
                        inputs.add(Long.parseLong(p.substring(1)));
                    }
                }
                try (FloatMatrix q = Walks.analogy(v[0], v[1], v[2])) {
                    Neighbors nb = index.search(q, (int) Math.min(index.size(), k + 3));
                    // A text input is left out too when an item holds its very vector (cosine >= 0.9999).
                    for (int r = 0; r < nb.count(); r++) {
                        float[] hit = index.vector(nb.id(0, r));
                        for (float[] in : v) {
                            if (Vectors.cosine(hit, in) >= 0.9999 && !inputs.contains(nb.id(0, r))) {
                                inputs.add(nb.id(0, r));
                            }
                        }
                    }
                    out.printf(Locale.ROOT, "%s is to %s as %s is to:%n", label(0), label(1), label(2));
                    int shown = 0;
                    for (int r = 0; r < nb.count() && shown < k; r++) {
                        long id = nb.id(0, r);
                        if (inputs.contains(id)) {
                            continue;
                        }
                        shown++;
                        out.printf(Locale.ROOT, "  %d. %s%n", shown, item(texts, id, nb.score(0, r)));
                    }
                }
            } else {
                boolean spherical = !linear && index.metric() != Metric.L2;
                try (FloatMatrix path = spherical ? Walks.slerp(v[0], v[1], steps) : Walks.lerp(v[0], v[1], steps)) {
                    Neighbors nb = index.search(path, (int) Math.min(index.size(), k));
                    out.printf(Locale.ROOT, "%s path from %s to %s, %d steps:%n", spherical ? "spherical" : "linear",
                            label(0), label(1), steps);
                    for (int s = 0; s < steps; s++) {
                        out.printf(Locale.ROOT, "step %d (t = %.2f)%n", s, s / (double) (steps - 1));
                        for (int r = 0; r < nb.count(); r++) {
                            out.printf(Locale.ROOT, "  %s%n", item(texts, nb.id(s, r), nb.score(s, r)));
                        }
                    }
                }
                if (decodePng != null) {
                    decode(index, v[0], v[1]);
                    out.printf(Locale.ROOT, "decoded %d steps (linear in the latent space) into %s%n", steps, decodePng);
                }
            }
        } catch (IllegalArgumentException e) {
            // Opposite directions, zero vectors and the like: the user's input, so a usage error.
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
        out.flush();
        return Main.OK;
    }

    private String label(int i) {
        String p = points.get(i);
        return p.startsWith("@") ? p : "\"" + p + "\"";
    }

    private static String item(RecordSource texts, long id, float score) throws IOException {
        Record e = texts.get(id);
        String s = String.format(Locale.ROOT, "%-8d %.4f", id, score);
        if (e != null) {
            String t = (e.text() == null ? e.key() : e.text()).replaceAll("\\s+", " ");
            s += "  " + (t.length() > 100 ? t.substring(0, 97) + "..." : t);
        }
        return s;
    }

    /** The vectors of the points: @ID from the index, texts through the encoder (one model load for all). */
    private float[][] resolve(CommandLine cl, VectorIndex index) throws IOException {
        float[][] v = new float[points.size()][];
        List<String> texts = new ArrayList<>();
        List<Integer> at = new ArrayList<>();
        for (int i = 0; i < points.size(); i++) {
            String p = points.get(i);
            if (p.startsWith("@")) {
                long id;
                try {
                    id = Long.parseLong(p.substring(1));
                } catch (NumberFormatException e) {
                    throw new CommandLine.ParameterException(cl, "point " + (i + 1) + ": '" + p + "' is not @ID with a number");
                }
                if (!index.contains(id)) {
                    throw new CommandLine.ParameterException(cl, "point " + (i + 1) + ": the index has no id " + id);
                }
                v[i] = index.vector(id);
            } else if (dev.latent.core.Texts.isBlank(p)) {
                throw new CommandLine.ParameterException(cl, "point " + (i + 1) + " is empty");
            } else {
                texts.add(p);
                at.add(i);
            }
        }
        ModelSpec image = imageModel(index);
        if (!texts.isEmpty() && image != null) {
            // An image model's index: the points are image files.
            List<Path> files = new ArrayList<>();
            for (String t : texts) {
                Path f = Path.of(t);
                if (!java.nio.file.Files.isRegularFile(f)) {
                    throw new CommandLine.ParameterException(cl, "'" + t + "' is neither @ID nor an image file (the index "
                            + "holds images, model " + image.name() + ")");
                }
                files.add(f);
            }
            // Image points are inputs: --decode must not replace one.
            roles.inputs("point image", files).check(cl);
            try (ImageEncoder enc = ImageEncoder.open(image, OnnxModel.Options.cpu(1), 1)) {
                try (FloatMatrix q = enc.encode(files, false).vectors()) {
                    for (int j = 0; j < texts.size(); j++) {
                        v[at.get(j)] = q.getRow(j);
                    }
                }
            }
            return v;
        }
        if (!texts.isEmpty()) {
            try (TextEncoder enc = model.open(index.metadata())) {
                if (enc.dimension() != index.dimension()) {
                    throw new IOException("model " + enc.modelName() + " gives vectors of dimension " + enc.dimension()
                            + ", the index holds dimension " + index.dimension());
                }
                try (FloatMatrix q = enc.encodeQueries(texts)) {
                    for (int j = 0; j < texts.size(); j++) {
                        v[at.get(j)] = q.getRow(j);
                    }
                }
            }
        }
        return v;
    }

    /** The image model of the index (--model, else the one its metadata records), or null for a text index. */
    private ModelSpec imageModel(VectorIndex index) {
        String name = model.model != null ? model.model : index.metadata().get("model");
        try {
            return ModelOptions.imageModel(name);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private void decode(VectorIndex index, float[] from, float[] to) throws IOException {
        ModelSpec spec = imageModel(index);
        if (spec == null) {
            throw new IllegalArgumentException("--decode needs an image model with a decoder; this index's model is "
                    + index.metadata().getOrDefault("model", "not recorded") + " (give --model)");
        }
        try (Autoencoder ae = Autoencoder.open(spec, OnnxModel.Options.cpu(1));
             FloatMatrix path = Walks.lerp(from, to, steps)) {
            if (ae.dimension() != index.dimension()) {
                throw new IllegalArgumentException("model " + spec.name() + " has a " + ae.dimension()
                        + "-dimensional latent space, the index holds dimension " + index.dimension());
            }
            float[] flat = new float[steps * ae.dimension()];
            for (int s = 0; s < steps; s++) {
                System.arraycopy(path.getRow(s), 0, flat, s * ae.dimension(), ae.dimension());
            }
            float[] frames = ae.decode(flat, steps);
            java.awt.image.BufferedImage strip = Autoencoder.strip(frames, steps, ae.encoder().preprocessor().spec(), scale,
                    Math.max(1, scale / 2));
            try (OutputSet outputs = new OutputSet()) {
                AtomicOutput o = outputs.open(decodePng);
                java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
                javax.imageio.ImageIO.write(strip, "png", png);
                o.channel().write(java.nio.ByteBuffer.wrap(png.toByteArray()));
                outputs.commit();
            }
        }
    }
}
