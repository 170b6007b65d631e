package dev.latent.cli;

import dev.latent.corpus.ImageCorpus;
import dev.latent.analyse.map.MapJob;
import dev.latent.corpus.Corpus;
import dev.latent.job.VectorInput;
import dev.latent.analyse.Outliers;
import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code latent map}: a 2-D map of a corpus as a PNG and a self-contained HTML page. */
@Command(name = "map", mixinStandardHelpOptions = true,
        header = "Draw a 2-D map of vectors as a PNG and an HTML page.",
        description = {"Draw a map of vectors (.lidx index or .npy): a 2-D layout that keeps neighbourhoods (UMAP on "
                        + "the exact k-NN graph, or PCA), points coloured by k-means segment and outliers marked. Writes a "
                        + "PNG and a self-contained HTML page (hover shows id and text, a search box highlights matches, "
                        + "shift-drag selects points and exports their keys). --coords writes the coordinates; "
                        + "--place-on updates an earlier map, placing only the points it lacks."})
final class MapCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "VECTORS", description = "An index file (.lidx) or vectors (.npy).")
    Path input;

    @Option(names = {"-o", "--output"}, paramLabel = "NAME", defaultValue = "map",
            description = "Writes NAME.png and NAME.html (default: ${DEFAULT-VALUE}).")
    String output;

    @Mixin
    VectorOptions vectors = new VectorOptions();

    @Option(names = "--segments", paramLabel = "K", defaultValue = "12", description = "k-means segments to colour by (0: none; default: ${DEFAULT-VALUE}).")
    int segments;

    @Option(names = "--layout", paramLabel = "METHOD", defaultValue = "umap", description = "umap or pca (default: ${DEFAULT-VALUE}).")
    String layout;

    @Option(names = "--neighbors", paramLabel = "N", defaultValue = "15", description = "UMAP neighbourhood size (default: ${DEFAULT-VALUE}).")
    int neighbors;

    @Option(names = "--min-dist", paramLabel = "D", defaultValue = "0",
            description = "UMAP: distance below which neighbours are drawn no closer, 0 to 1 (default: ${DEFAULT-VALUE}; umap-learn's is 0.1).")
    double minDist;

    @Option(names = "--repulsion", paramLabel = "G", defaultValue = "8",
            description = "UMAP: weight of the push between non-neighbours (default: ${DEFAULT-VALUE}; umap-learn's is 1).")
    double repulsion;

    @Option(names = "--coords", paramLabel = "FILE",
            description = "Also write the 2-D coordinates with each point's key: FILE.tsv (key, x, y) or FILE.npy (a NumPy structured array).")
    Path coords;

    @Option(names = "--place-on", paramLabel = "COORDS",
            description = "Keep the layout of an earlier map (a --coords file): points whose key it holds keep their "
                    + "coordinates, the others are placed on it by UMAP's transform.")
    Path placeOn;

    @Option(names = "--color-by", paramLabel = "FIELD",
            description = "Colour by a field of the records (the index's payload, or the --corpus records' fields) instead of k-means segments; numbers are listed in numeric order.")
    String colorBy;

    @Option(names = "--outliers", paramLabel = "SCORE", defaultValue = "knn",
            description = "Score that marks outliers: lof, knn, mean-knn, centroid or none (default: ${DEFAULT-VALUE}).")
    String outliers;

    @Option(names = "--quantile", paramLabel = "Q", defaultValue = "0.99", description = "Outliers: scores above this quantile of the corpus's own (default: ${DEFAULT-VALUE}).")
    double quantile;

    @Option(names = "--html-points", paramLabel = "N", defaultValue = "100000",
            description = "Most points drawn in the HTML page; beyond, a random sample, said on the page (default: ${DEFAULT-VALUE}).")
    int htmlPoints;

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--restarts", paramLabel = "N", defaultValue = "1",
            description = "k-means runs for the segments, the lowest inertia kept (default: ${DEFAULT-VALUE}).")
    int restarts;

    @Mixin
    QuietOption quietOption = new QuietOption();

    @Option(names = "--image-ids", paramLabel = "FILE",
            description = "An image index's ids file (from 'embed': one image path per row, relative to --image-root): "
                    + "the page shows each point's image when hovered.")
    Path imageIds;

    @Option(names = "--image-root", paramLabel = "DIR", description = "Folder the --image-ids paths are relative to (default: the current folder).")
    Path imageRoot;

    @Option(names = "--color-by-folder", description = "With --image-ids: colour by each image's first folder (a label, such as the digit) instead of k-means segments.")
    boolean colorByFolder;


    @Mixin
    TermOptions termOptions = new TermOptions();

    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        MapJob job = new MapJob();
        try {
            job.layout(MapJob.Layout.valueOf(layout.toUpperCase(Locale.ROOT)));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, "unknown --layout '" + layout + "' (expected umap or pca)");
        }
        if (placeOn != null && !layout.equalsIgnoreCase("umap")) {
            throw new CommandLine.ParameterException(cl, "--place-on needs the UMAP layout, not --layout " + layout
                    + " (points are placed by UMAP's transform)");
        }
        if (segments < 0) {
            throw new CommandLine.ParameterException(cl, "--segments must be >= 0, got " + segments);
        }
        if (restarts < 1) {
            throw new CommandLine.ParameterException(cl, "--restarts must be >= 1, got " + restarts);
        }
        if (neighbors < 2) {
            throw new CommandLine.ParameterException(cl, "--neighbors must be >= 2, got " + neighbors);
        }
        if (htmlPoints < 1) {
            throw new CommandLine.ParameterException(cl, "--html-points must be >= 1, got " + htmlPoints);
        }
        if (!(minDist >= 0 && minDist <= 1)) {
            throw new CommandLine.ParameterException(cl, "--min-dist must be between 0 and 1, got " + minDist);
        }
        if (!(repulsion >= 0) || Double.isInfinite(repulsion)) {
            throw new CommandLine.ParameterException(cl, "--repulsion must be finite and >= 0, got " + repulsion);
        }
        if (coords != null) {
            try {
                dev.latent.analyse.map.MapCoords.checkName(coords);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cl, "--coords: " + e.getMessage());
            }
        }
        if (colorBy != null && colorByFolder) {
            throw new CommandLine.ParameterException(cl, "give --color-by or --color-by-folder, not both");
        }
        if (colorBy != null && colorBy.isBlank()) {
            throw new CommandLine.ParameterException(cl, "--color-by needs a field name");
        }
        if (!(quantile > 0 && quantile < 1)) {
            throw new CommandLine.ParameterException(cl, "--quantile must be between 0 and 1, got " + quantile);
        }
        job.outliers(outliers.equalsIgnoreCase("none") ? null : parseScore(cl, outliers));
        job.segments(segments);
        job.neighbors(neighbors);
        job.umapShape(minDist, repulsion);
        job.quantile(quantile);
        job.htmlPoints(htmlPoints);
        job.seed(seed);
        job.restarts(restarts);
        job.progress(Progress.stages(quietOption.quiet));
        Path png = Path.of(output + ".png");
        Path html = Path.of(output + ".html");
        FileRoles roles = vectors.inputs(new FileRoles())
                .input("input vectors", input)
                .input("--image-ids file", imageIds)
                .input("--place-on coordinates", placeOn)
                .input("--onnx model", termOptions.model.onnx)
                .input("--tokenizer file", termOptions.model.tokenizer)
                .output("PNG output", png)
                .output("HTML output", html)
                .output("--coords output", coords);
        roles.check(cl);
        List<String> paths = null;
        if (imageIds != null) {
            paths = ImageCorpus.readList(imageIds, "--image-ids file", false);
            // The images the ids file leads to are read for the thumbnails: inputs no output may be.
            Path root = imageRoot == null ? Path.of("") : imageRoot;
            roles.inputs("image (--image-ids)", paths.stream().map(root::resolve).toList()).check(cl);
        }
        Corpus texts = vectors.corpus(cl);
        PrintWriter out = cl.getOut();
        Backend backend = Backends.get();
        try (VectorInput in = vectors.open(input, cl)) {
            String[] idStrings = in.keys();
            if (idStrings == null) {
                idStrings = new String[in.rows()];
                for (int i = 0; i < idStrings.length; i++) {
                    idStrings[i] = Long.toString(in.ids()[i]);
                }
            }
            String[] textArray = in.textsOrRecords(texts);
            if (paths != null) {
                for (int i = 0; i < idStrings.length; i++) {
                    if (in.ids()[i] < 0 || in.ids()[i] >= paths.size()) {
                        throw new CommandLine.ParameterException(cl, "row " + i + " has id " + in.ids()[i] + ", but "
                                + imageIds + " names " + paths.size() + " images");
                    }
                }
                if (colorByFolder) {
                    String[] groups = new String[idStrings.length];
                    for (int i = 0; i < groups.length; i++) {
                        String p = paths.get((int) in.ids()[i]);
                        int slash = p.indexOf('/');
                        groups[i] = slash > 0 ? p.substring(0, slash) : "(top)";
                    }
                    job.groups(groups, "folder");
                }
                for (int i = 0; i < idStrings.length; i++) {
                    idStrings[i] = paths.get((int) in.ids()[i]);
                }
            } else if (colorByFolder) {
                throw new CommandLine.ParameterException(cl, "--color-by-folder needs --image-ids");
            }
            if (colorBy != null) {
                try {
                    job.groups(in.field(texts, colorBy), colorBy);
                } catch (IllegalArgumentException e) {
                    throw new CommandLine.ParameterException(cl, "--color-by: " + e.getMessage());
                }
            }
            if (placeOn != null) {
                dev.latent.analyse.map.MapCoords previous;
                try {
                    previous = dev.latent.analyse.map.MapCoords.read(placeOn);
                } catch (IllegalArgumentException e) {
                    throw new CommandLine.ParameterException(cl, "--place-on: " + e.getMessage());
                }
                job.placeOn(previous, placeOn.getFileName().toString());
            }
            if (coords != null) {
                // Before the map is computed: a key the file cannot hold would otherwise fail only at the write.
                try {
                    dev.latent.analyse.map.MapCoords.checkKeys(idStrings, coords);
                } catch (IllegalArgumentException e) {
                    throw new CommandLine.ParameterException(cl, "--coords: " + e.getMessage());
                }
            }
            MapJob.Result r;
            dev.latent.encode.text.TextEncoder termEncoder = null;
            try {
                if (textArray != null && segments > 0 && !colorByFolder) { // segments named by their texts' terms
                    termEncoder = termOptions.open(in.metadata(), in.vectors().cols(), cl);
                    job.termNaming(termOptions.settings(4, cl).encoder(TermOptions.terms(termEncoder)).backend(backend));
                }
                r = job.build(in.vectors(), in.metric(), idStrings, textArray, "Map of " + input.getFileName(), backend);
                if (paths != null) {
                    r = new MapJob.Result(r.data().withImages(Thumbnails.of(paths, in.ids(), imageRoot, job.htmlPoints(), cl)), r.summary());
                }
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cl, e.getMessage());
            } finally {
                if (termEncoder != null) {
                    termEncoder.close();
                }
            }
            job.write(r.data(), png, html, coords);
            MapReport.print(out, r.summary(), png, html, coords);
        }
        out.flush();
        return Main.OK;
    }

    private static Outliers.Score parseScore(CommandLine cl, String s) {
        try {
            return Outliers.Score.parse(s);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, "unknown --outliers '" + s
                    + "' (expected lof, knn, mean-knn, centroid or none)");
        }
    }
}
