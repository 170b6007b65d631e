package dev.latent.cli;

import dev.latent.corpus.ImageCorpus;
import dev.latent.corpus.Corpus;
import dev.latent.corpus.CorpusScan;
import dev.latent.job.CorpusEmbedding;
import dev.latent.job.ShardedEmbedding;
import dev.latent.encode.ModelSpec;
import dev.latent.encode.image.ImageEncoder;
import dev.latent.encode.tensor.CsvRows;
import dev.latent.encode.tensor.TensorEncoder;
import java.util.List;
import dev.latent.encode.onnx.OnnxModel;
import dev.latent.encode.onnx.Provider;
import dev.latent.core.FloatMatrix;

import dev.latent.core.Metric;
import dev.latent.encode.text.TextEncoder;
import dev.latent.space.AtomicOutput;
import dev.latent.index.FlatIndex;
import dev.latent.space.format.Npy;
import dev.latent.space.OutputSet;
import java.io.BufferedWriter;
import java.io.Writer;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code latent embed}: texts → vectors ({@code .npy} + ids file) and/or an index file. */
@Command(name = "embed", mixinStandardHelpOptions = true,
        header = "Embed texts, images or rows into vectors and an index.",
        description = {"Embed a corpus: one text per line, or JSONL with \"id\" and \"text\" per line; with an image model "
                        + "(--model digits-ae, or a manifest entry of modality image), a folder of images or a list file "
                        + "of image paths (ids: the paths relative to the folder); with a tensor model, a CSV file (a "
                        + "header names an id column) or a .npy of numeric rows.",
                "Writes vectors (.npy, float32) with an ids file (one id per line), and/or an index file. "
                        + "Outputs appear only when complete and together: all of them, or none changes."})
final class EmbedCommand extends ModelCommand {
    @Parameters(index = "0", paramLabel = "INPUT", description = "Corpus file (.jsonl/.ndjson/.json: JSONL; .csv: CSV; else one text per line); for an image model, a folder of images or a list file.")
    Path input;

    @Option(names = "--shards", paramLabel = "DIR",
            description = "Stream the corpus into numbered shards (shard-00000.npy + .ids, --shard-size rows each) with a "
                    + "manifest.json, in one pass with flat memory; a killed run continues with --resume.")
    Path shardsDir;

    @Option(names = "--shard-size", paramLabel = "N", defaultValue = "102400", description = "Rows per shard, a multiple of --block (default: ${DEFAULT-VALUE}, 25 blocks of 4096).")
    int shardSize;

    @Option(names = "--resume", description = "With --shards: continue the run in DIR after its last complete shard (checked against the manifest's checksums).")
    boolean resume;

    @Option(names = "--skip-unreadable", description = "Image models: leave out images that cannot be decoded (listed on stderr) instead of stopping before any output is written.")
    boolean skipUnreadable;

    @Option(names = "--format", paramLabel = "FMT", defaultValue = "auto",
            description = "Input format: auto (by extension: .jsonl/.ndjson/.json, .csv, else text), text, jsonl or csv "
                    + "(a header row, RFC 4180 quoting).")
    String format;

    @Option(names = "--text-column", paramLabel = "NAME", defaultValue = "text",
            description = "JSONL field or CSV column with the texts (default: ${DEFAULT-VALUE}).")
    String textColumn;

    @Option(names = "--id-column", paramLabel = "NAME", defaultValue = "id",
            description = "JSONL field or CSV column with the ids (default: ${DEFAULT-VALUE}; rows are numbered where it is absent).")
    String idColumn;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE.npy", converter = OutputFile.class, description = "Write the vectors here (float32 .npy, one row per text).")
    Path output;

    @Option(names = "--ids", paramLabel = "FILE", converter = OutputFile.class, description = "Write the ids here, one per line in row order (default with -o: FILE.ids beside the .npy).")
    Path idsFile;

    @Option(names = "--index", paramLabel = "FILE.lidx", converter = OutputFile.class, description = "Write an index file.")
    Path indexFile;

    @Option(names = "--metric", paramLabel = "METRIC", defaultValue = "cosine", description = "Index metric: cosine, ip or l2 (default: ${DEFAULT-VALUE}).")
    String metric;

    @Option(names = "--block", paramLabel = "N", defaultValue = "4096", description = "Texts read and encoded per block (default: ${DEFAULT-VALUE}).")
    int block;

    @Mixin
    QuietOption quietOption = new QuietOption();

    @Override
    protected Integer run(CommandLine cl) throws Exception {
        if (shardsDir != null && (output != null || indexFile != null || idsFile != null)) {
            throw new CommandLine.ParameterException(cl, "--shards writes its own files: give it without -o, --ids or --index");
        }
        if (shardsDir == null && resume) {
            throw new CommandLine.ParameterException(cl, "--resume continues a --shards run: give --shards DIR");
        }
        if (output == null && indexFile == null && shardsDir == null) {
            throw new CommandLine.ParameterException(cl, "nothing to write: give -o FILE.npy and/or --index FILE.lidx, or --shards DIR");
        }
        if (block <= 0) {
            throw new CommandLine.ParameterException(cl, "--block must be > 0");
        }
        Metric m;
        try {
            m = Metric.parse(metric);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
        Path ids = idsFile;
        if (ids == null && output != null) {
            String n = output.getFileName().toString();
            ids = output.resolveSibling((n.endsWith(".npy") ? n.substring(0, n.length() - 4) : n) + ".ids");
        }
        FileRoles roles = ModelOptions.isFolderModel(model.model) ? new FileRoles().inputOrFolder("input images", input)
                : new FileRoles().input("input corpus", input);
        roles
                .input("--onnx model", model.onnx)
                .input("--tokenizer file", model.tokenizer)
                .output("vectors output (-o)", output)
                .output(idsFile != null ? "ids output (--ids)" : "ids output (default for -o)", ids)
                .output("index output (--index)", indexFile)
                .outputFolder("--shards folder", shardsDir)
                .check(cl);
        ModelSpec imageModel;
        try {
            imageModel = ModelOptions.imageModel(model.model);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
        if (imageModel != null) {
            return embedImages(cl, imageModel, m, ids, roles);
        }
        ModelSpec tensorModel = ModelOptions.tensorModel(model.model);
        if (tensorModel != null) {
            return embedRows(cl, tensorModel, m, ids);
        }
        if (skipUnreadable) {
            throw new CommandLine.ParameterException(cl, "--skip-unreadable is for image models");
        }
        Corpus corpus;
        try {
            corpus = Corpus.file(input, format, textColumn, idColumn);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
        if (shardsDir != null) {
            if (shardSize < 1 || shardSize % block != 0) {
                throw new CommandLine.ParameterException(cl, "--shard-size must be a positive multiple of --block (" + block
                        + "), got " + shardSize);
            }
            // Given on the command line, or null: a new run's default, a resumed run's own metric.
            Metric asked = cl.getParseResult().hasMatchedOption("--metric") ? m : null;
            try (TextEncoder enc = model.open(null);
                 Progress progress = Progress.start("embed", -1, quietOption.quiet)) {
                ShardedEmbedding.Stats st;
                try {
                    st = ShardedEmbedding.run(corpus, enc, shardsDir, shardSize, block, resume, asked, progress::done);
                } catch (IllegalArgumentException e) {
                    throw new CommandLine.ParameterException(cl, e.getMessage());
                }
                cl.getOut().println(Progress.summary("embedded", st.texts(), st.tokens(), st.elapsed(), enc.provider(),
                        enc.modelName()) + String.format(java.util.Locale.ROOT, "; %d shards written%s, manifest %s",
                        st.shards(), st.resumedShards() > 0 ? " after " + st.resumedShards() + " resumed" : "",
                        shardsDir.resolve(ShardedEmbedding.MANIFEST)));
            }
            return Main.OK;
        }
        CorpusScan scan = CorpusScan.of(corpus);
        try (TextEncoder enc = model.open(null);
             OutputSet outputs = new OutputSet()) {
            FlatIndex index = null;
            try {
                if (indexFile != null) {
                    index = new FlatIndex(enc.dimension(), m);
                    // The corpus size is known: one allocation, no copies as the index grows.
                    index.reserve(scan.count());
                }
                Npy.Writer vectors = output == null ? null : Npy.writer(outputs.open(output), enc.dimension());
                AtomicOutput idsOut = ids == null ? null : outputs.open(ids);
                AtomicOutput indexOut = indexFile == null ? null : outputs.open(indexFile);
                Writer idsWriter = idsOut == null ? null
                        : new BufferedWriter(Channels.newWriter(idsOut.channel(), StandardCharsets.UTF_8), 1 << 16);
                CorpusEmbedding.Stats stats;
                try (Progress progress = Progress.start("embed", scan.count(), quietOption.quiet)) {
                    stats = CorpusEmbedding.run(corpus, scan, enc, block, vectors, idsWriter, index, progress::done);
                }
                if (vectors != null) {
                    vectors.finish();
                }
                if (idsWriter != null) {
                    idsWriter.flush();
                }
                if (index != null) {
                    ModelOptions.record(index, enc, model);
                    index.putMetadata("created_by", "latent embed");
                    index.writeTo(indexOut);
                }
                // All or nothing: every output appears, or none changes.
                outputs.commit();
                spec.commandLine().getOut().println(Progress.summary("embedded", stats.texts(), stats.tokens(),
                        stats.elapsed(), enc.provider(), enc.modelName()));
            } finally {
                if (index != null) {
                    index.close();
                }
            }
        }
        return Main.OK;
    }

    /** The image branch: decode, preprocess and encode every image, then write the same outputs as for texts. */
    private int embedImages(CommandLine cl, ModelSpec spec, Metric m, Path ids, FileRoles roles) throws Exception {
        ImageCorpus images;
        try {
            images = ImageCorpus.of(input);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
        // The images the folder or list file leads to are inputs too: no output may be one of them.
        roles.inputs("input image", images.files()).check(cl);
        long start = System.nanoTime();
        int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
        try (ImageEncoder enc = ImageEncoder.open(spec, new OnnxModel.Options(1, threads, Provider.AUTO), threads)) {
            ImageEncoder.Result r;
            try {
                r = enc.encode(images.files(), skipUnreadable);
            } catch (java.io.IOException e) {
                cl.getErr().println("error: " + e.getMessage());
                cl.getErr().println("nothing was written; --skip-unreadable leaves such images out");
                return Main.FAILURE;
            }
            for (String s : r.skipped()) {
                cl.getErr().println("skipped: " + s);
            }
            List<String> kept = new java.util.ArrayList<>();
            for (int item : r.kept()) {
                kept.add(images.ids().get(item));
            }
            try (FloatMatrix v = r.vectors()) {
                if (v.rows() == 0) {
                    cl.getErr().println("error: no image could be read; nothing was written");
                    return Main.FAILURE;
                }
                write(v, kept, spec.name(), "image", m, ids);
                double secs = (System.nanoTime() - start) / 1e9;
                cl.getOut().printf(java.util.Locale.ROOT, "embedded %d images in %.1f s (%.0f images/s), model %s%s%n",
                        v.rows(), secs, v.rows() / secs, spec.name(),
                        r.skipped().isEmpty() ? "" : ", " + r.skipped().size() + " skipped");
            }
        }
        return Main.OK;
    }

    /** The tensor branch: numeric rows from CSV or .npy through a tensor model. */
    private int embedRows(CommandLine cl, ModelSpec spec, Metric m, Path ids) throws Exception {
        if (skipUnreadable) {
            throw new CommandLine.ParameterException(cl, "--skip-unreadable is for image models");
        }
        long start = System.nanoTime();
        try (TensorEncoder enc = TensorEncoder.open(spec, OnnxModel.Options.cpu(Math.max(1, Runtime.getRuntime().availableProcessors())))) {
            List<String> rowIds;
            FloatMatrix rows;
            String name = input.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
            try {
                if (name.endsWith(".npy")) {
                    rows = Npy.read(input);
                    rowIds = new java.util.ArrayList<>();
                    for (long i = 0; i < rows.rows(); i++) {
                        rowIds.add(String.valueOf(i));
                    }
                } else {
                    CsvRows csv = CsvRows.read(input, enc.columns());
                    rows = csv.values();
                    rowIds = csv.ids();
                }
            } catch (java.io.IOException e) {
                cl.getErr().println("error: " + e.getMessage());
                cl.getErr().println("nothing was written");
                return Main.FAILURE;
            }
            try (FloatMatrix x = rows; FloatMatrix v = enc.encode(x)) {
                write(v, rowIds, spec.name(), "tensor", m, ids);
                double secs = (System.nanoTime() - start) / 1e9;
                cl.getOut().printf(java.util.Locale.ROOT, "embedded %s in %.2f s, model %s%n", Counts.of(v.rows(), "row", "rows"), secs, spec.name());
            } catch (IllegalArgumentException e) {
                cl.getErr().println("error: " + input + ": " + e.getMessage());
                cl.getErr().println("nothing was written");
                return Main.FAILURE;
            }
        }
        return Main.OK;
    }

    /** Writes the vectors (-o), their ids (--ids) and an index (--index) together: all of them, or none. */
    private void write(FloatMatrix v, List<String> rowIds, String modelName, String modality, Metric m, Path ids)
            throws java.io.IOException {
        try (OutputSet outputs = new OutputSet()) {
            if (output != null) {
                Npy.Writer w = Npy.writer(outputs.open(output), v.cols());
                w.append(v);
                w.finish();
            }
            if (ids != null) {
                StringBuilder sb = new StringBuilder();
                for (String id : rowIds) {
                    sb.append(id).append('\n');
                }
                AtomicOutput o = outputs.open(ids);
                o.channel().write(java.nio.ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.UTF_8)));
            }
            if (indexFile != null) {
                try (FlatIndex index = new FlatIndex(v.cols(), m)) {
                    long[] rows = new long[(int) v.rows()];
                    for (int i = 0; i < rows.length; i++) {
                        rows[i] = i;
                    }
                    index.add(rows, v);
                    index.putMetadata("model", modelName);
                    index.putMetadata("modality", modality);
                    index.putMetadata("created_by", "latent embed");
                    index.writeTo(outputs.open(indexFile));
                }
            }
            outputs.commit();
        }
    }
}
