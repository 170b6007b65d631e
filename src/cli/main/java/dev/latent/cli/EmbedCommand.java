package dev.latent.cli;

import dev.latent.core.Metric;
import dev.latent.corpus.Corpus;
import dev.latent.corpus.CorpusScan;
import dev.latent.corpus.ImageCorpus;
import dev.latent.encode.ModelSpec;
import dev.latent.encode.image.ImageEncoder;
import dev.latent.encode.onnx.OnnxModel;
import dev.latent.encode.onnx.Provider;
import dev.latent.encode.tensor.TensorEncoder;
import dev.latent.encode.text.TextEncoder;
import dev.latent.job.CorpusEmbedding;
import dev.latent.job.EmbeddingInputException;
import dev.latent.job.EmbeddingTargets;
import dev.latent.job.ImageEmbedding;
import dev.latent.job.RowEmbedding;
import dev.latent.job.ShardedEmbedding;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import static dev.latent.cli.Usage.usage;

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

    @Option(names = "--payload", paramLabel = "FIELDS", split = ",",
            description = "JSONL fields or CSV columns stored with each vector as its payload, for --filter and --fields "
                    + "at search time (comma-separated; * for every field but the text and the id). Each vector's "
                    + "key (its id) and text are stored in the index anyway.")
    List<String> payload = new ArrayList<>();

    @Option(names = "--upsert", description = "A text whose id came earlier in the corpus replaces the earlier one in "
            + "the index (the .npy and ids files keep every row); without it a repeated id stops the run with an error.")
    boolean upsert;

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
        Metric m = checkOptions(cl);
        Path ids = idsFile != null ? idsFile : output != null ? EmbeddingTargets.idsBeside(output) : null;
        FileRoles roles = roles(ids);
        roles.check(cl);
        ModelSpec imageModel = usage(cl, () -> ModelOptions.imageModel(model.model));
        ModelSpec tensorModel = imageModel == null ? ModelOptions.tensorModel(model.model) : null;
        if (skipUnreadable && imageModel == null) {
            throw new CommandLine.ParameterException(cl, "--skip-unreadable is for image models");
        }
        if (shardsDir != null && (imageModel != null || tensorModel != null)) {
            throw new CommandLine.ParameterException(cl, "--shards is for text corpora: with an image or tensor model "
                    + "give -o FILE.npy and/or --index FILE.lidx");
        }
        if (imageModel != null) {
            return embedImages(cl, imageModel, targets(m, ids), roles);
        }
        if (tensorModel != null) {
            return embedRows(cl, tensorModel, targets(m, ids));
        }
        Corpus corpus = usage(cl, () -> Corpus.file(input, format, textColumn, idColumn)).withPayload(payload);
        return shardsDir != null ? embedShards(cl, corpus, m) : embedTexts(cl, corpus, targets(m, ids));
    }

    /** The option combinations, before any file is looked at; returns the metric. */
    private Metric checkOptions(CommandLine cl) {
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
        return usage(cl, () -> Metric.parse(metric));
    }

    /** Every file by its role: the input (a folder too, for an image model), the model files and the outputs. */
    private FileRoles roles(Path ids) {
        FileRoles roles = ModelOptions.isFolderModel(model.model) ? new FileRoles().inputOrFolder("input images", input)
                : new FileRoles().input("input corpus", input);
        return roles
                .input("--onnx model", model.onnx)
                .input("--tokenizer file", model.tokenizer)
                .output("vectors output (-o)", output)
                .output(idsFile != null ? "ids output (--ids)" : "ids output (default for -o)", ids)
                .output("index output (--index)", indexFile)
                .outputFolder("--shards folder", shardsDir);
    }

    /** The outputs asked for, with the model's files (given by path) and this command in the index's metadata. */
    private EmbeddingTargets targets(Metric m, Path ids) {
        Map<String, String> metadata = new LinkedHashMap<>(model.fileMetadata());
        metadata.put("created_by", "latent embed");
        return new EmbeddingTargets(output, ids, indexFile, m, metadata);
    }

    /** Texts into vectors, ids and an index, all or nothing. */
    private int embedTexts(CommandLine cl, Corpus corpus, EmbeddingTargets targets) throws Exception {
        CorpusScan scan = CorpusScan.of(corpus);
        try (TextEncoder enc = model.open(null)) {
            CorpusEmbedding.Stats st;
            try (Progress progress = Progress.start("embed", scan.count(), quietOption.quiet)) {
                st = CorpusEmbedding.run(corpus, scan, enc, block, targets, progress::done, upsert);
            }
            cl.getOut().println(Progress.summary("embedded", st.texts(), st.tokens(), st.elapsed(), enc.provider(),
                    enc.modelName()));
        }
        return Main.OK;
    }

    /** Texts into resumable shards. */
    private int embedShards(CommandLine cl, Corpus corpus, Metric m) throws Exception {
        if (shardSize < 1 || shardSize % block != 0) {
            throw new CommandLine.ParameterException(cl, "--shard-size must be a positive multiple of --block (" + block
                    + "), got " + shardSize);
        }
        // Given on the command line, or null: a new run's default, a resumed run's own metric.
        Metric asked = cl.getParseResult().hasMatchedOption("--metric") ? m : null;
        try (TextEncoder enc = model.open(null);
             Progress progress = Progress.start("embed", -1, quietOption.quiet)) {
            ShardedEmbedding.Stats st = usage(cl,
                    () -> ShardedEmbedding.run(corpus, enc, shardsDir, shardSize, block, resume, asked, progress::done));
            cl.getOut().println(Progress.summary("embedded", st.texts(), st.tokens(), st.elapsed(), enc.provider(),
                    enc.modelName()) + String.format(Locale.ROOT, "; %d shards written%s, manifest %s",
                    st.shards(), st.resumedShards() > 0 ? " after " + st.resumedShards() + " resumed" : "",
                    shardsDir.resolve(ShardedEmbedding.MANIFEST)));
        }
        return Main.OK;
    }

    /** Images (a folder or a list file) into vectors, ids and an index, all or nothing. */
    private int embedImages(CommandLine cl, ModelSpec spec, EmbeddingTargets targets, FileRoles roles) throws Exception {
        ImageCorpus images = usage(cl, () -> ImageCorpus.of(input));
        // The images the folder or list file leads to are inputs too: no output may be one of them.
        roles.inputs("input image", images.files()).check(cl);
        int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
        try (ImageEncoder enc = ImageEncoder.open(spec, new OnnxModel.Options(1, threads, Provider.AUTO), threads)) {
            ImageEmbedding.Stats st = ImageEmbedding.run(images, enc, skipUnreadable, targets,
                    s -> cl.getErr().println("skipped: " + s));
            double secs = st.elapsed().toNanos() / 1e9;
            cl.getOut().printf(Locale.ROOT, "embedded %d images in %.1f s (%.0f images/s), model %s%s%n",
                    st.images(), secs, st.images() / secs, spec.name(),
                    st.skipped().isEmpty() ? "" : ", " + st.skipped().size() + " skipped");
        } catch (EmbeddingInputException e) {
            cl.getErr().println("error: " + e.getMessage());
            if (!skipUnreadable) {
                cl.getErr().println("nothing was written; --skip-unreadable leaves such images out");
            }
            return Main.FAILURE;
        }
        return Main.OK;
    }

    /** Numeric rows (CSV or .npy) through a tensor model into vectors, ids and an index, all or nothing. */
    private int embedRows(CommandLine cl, ModelSpec spec, EmbeddingTargets targets) throws Exception {
        try (TensorEncoder enc = TensorEncoder.open(spec, OnnxModel.Options.cpu(Math.max(1, Runtime.getRuntime().availableProcessors())))) {
            RowEmbedding.Stats st = RowEmbedding.run(input, enc, targets);
            cl.getOut().printf(Locale.ROOT, "embedded %s in %.2f s, model %s%n", Counts.of(st.rows(), "row", "rows"),
                    st.elapsed().toNanos() / 1e9, spec.name());
        } catch (EmbeddingInputException e) {
            cl.getErr().println("error: " + e.getMessage());
            cl.getErr().println("nothing was written");
            return Main.FAILURE;
        }
        return Main.OK;
    }
}
