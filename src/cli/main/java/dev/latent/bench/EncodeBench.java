package dev.latent.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.latent.core.FloatMatrix;
import dev.latent.encode.ModelFiles;
import dev.latent.encode.ModelManifest;
import dev.latent.encode.SampleCorpus;
import dev.latent.encode.onnx.OnnxModel;
import dev.latent.encode.text.TextEncoder;
import dev.latent.space.format.Npy;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.BytePointer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Times the text encoder on the sample corpus for each batch size and path, and writes what another
 * runtime needs to do the same work: our side of {@code native/cuda/gpu/encoder_peer.py}, a torch
 * implementation of the same ONNX file.
 *
 * <p><b>Texts.</b> The first {@code --texts} glosses of {@link SampleCorpus}, the corpus repeated cyclically
 * when more are asked for than it holds (text {@code i} is gloss {@code i mod 5000}).
 *
 * <p><b>Batches.</b> For each batch size B an encoder with {@code maxBatchSize} B and a token budget large
 * enough never to cut a batch ({@link #tokenBudget}); {@link TextEncoder#batches} gives the batches its
 * {@code encode} runs: texts in length order, each batch padded with id 0 and mask 0 to its longest text,
 * every batch of B texts except the last of each tokenising chunk of max(4B, 64) texts (for B of 16 or more,
 * only the last of the run); the output counts the shorter ones.
 *
 * <p><b>Paths.</b> {@code run}: {@link TextEncoder#encode} of all the texts at once (tokenising overlaps the
 * model runs of the worker threads; pooled vectors in host memory), texts/s from the median of the timed
 * passes; its p50 batch latency from one more pass of {@code encode} calls of one batch each.
 * {@code bound}: one {@link TextEncoder#encodeBound} call per batch, one after another; on the CUDA provider
 * the token embeddings stay in device memory unpooled (the device search pools them), on the CPU provider they
 * are pooled on the host. Both paths tokenise inside the timed calls; {@code tokenize_s} in the timing file is
 * what tokenising alone takes per pass. Each (path, batch) has one untimed pass first, then timed passes while
 * under {@code --seconds} (at least one).
 *
 * <p><b>Dump</b> ({@code --dump DIR}). {@code manifest.json} names everything below. Token sets: {@code check}
 * (the first M = {@code --check-texts} texts, batched as for the first batch size) and {@code b<B>} (all texts,
 * batch size B), each as five {@code .npy} files, {@code <set>-ids}, {@code -mask}, {@code -types} (int32,
 * 1-D: the batches one after another, each {@code [rows][seqLen]} row-major), {@code <set>-batches} (int64,
 * {@code [batches][3]}: offset of the batch's first element in those arrays, rows, seqLen) and
 * {@code <set>-rows} (int32: the text row of each batch row, in batch order). {@code embeddings.npy}: our
 * float32 vectors of the first M texts in text order, from this run's provider. {@code model.onnx}: the model,
 * when it sits inside a jar (else the manifest gives its path). {@code timing.json}: per (path, batch)
 * {@code texts_per_s}, {@code p50_batch_ms}, pass times and token counts.
 *
 * <p><b>Reference</b> ({@code --reference FILE}): the minimum cosine of this run's vectors of the first M
 * texts to the rows of an {@code .npy} made elsewhere (for example on the CPU provider); below
 * {@code --min-cosine} the exit code is 1.
 *
 * <pre>
 *   java -cp target/latent.jar:target/lib/* dev.latent.bench.EncodeBench --texts 4096 --batches 32,128 --dump out
 * </pre>
 */
@Command(name = "encode-bench", mixinStandardHelpOptions = true,
        description = "Times the text encoder per batch size and path; dumps tokens, vectors and timings "
                + "for encoder_peer.py.")
public final class EncodeBench implements Callable<Integer> {
    /** Format name in manifest.json, raised when the layout changes. */
    public static final String FORMAT = "latent-encode-dump 1";

    @Option(names = "--model", defaultValue = "all-minilm-l6-v2",
            description = "manifest model name (default all-minilm-l6-v2, the float32 export)")
    String model;

    @Option(names = "--model-path", description = "an ONNX file instead of a manifest model (needs --tokenizer)")
    Path modelPath;

    @Option(names = "--tokenizer", description = "the tokenizer.json that goes with --model-path")
    Path tokenizer;

    @Option(names = "--provider", defaultValue = "cpu", description = "cpu, cuda or auto (default cpu)")
    String provider;

    @Option(names = "--texts", defaultValue = "4096", description = "texts from the sample corpus (default 4096)")
    int texts;

    @Option(names = "--batches", defaultValue = "32,128,512", split = ",",
            description = "batch sizes (default 32,128,512)")
    int[] batches;

    @Option(names = "--paths", defaultValue = "run,bound", split = ",", description = "run and/or bound")
    String[] paths;

    @Option(names = "--seconds", defaultValue = "10",
            description = "timing budget per path and batch size, after the untimed pass (default 10)")
    double seconds;

    @Option(names = "--check-texts", defaultValue = "2048",
            description = "texts whose vectors are dumped and compared (default 2048)")
    int checkTexts;

    @Option(names = "--dump", description = "folder for tokens, vectors and timings (see encoder_peer.py)")
    Path dump;

    @Option(names = "--reference", description = "an .npy of reference vectors of the first texts")
    Path reference;

    @Option(names = "--min-cosine", defaultValue = "0.9999",
            description = "least cosine to --reference (default 0.9999)")
    double minCosine;

    @Option(names = "--workers", description = "encoder worker threads (default: the encoder's)")
    Integer workers;

    @Option(names = "--intra-op-threads", description = "ONNX Runtime threads per run (default: the encoder's)")
    Integer intraOpThreads;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private final ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** Times of one (path, batch). */
    record Timing(String path, int batch, int batchCount, long texts, long tokens, long paddedTokens,
                  List<Double> passSeconds, List<Double> batchMs, double tokenizeSeconds) {
        double textsPerSecond() {
            return texts / median(passSeconds);
        }

        double p50BatchMs() {
            return median(batchMs);
        }
    }

    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new EncodeBench());
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            line.getErr().println("encode-bench: error: " + e.getMessage());
            return 2;
        });
        System.exit(cl.execute(args));
    }

    @Override
    public Integer call() throws IOException {
        validate();
        PrintWriter out = spec.commandLine().getOut();
        List<String> corpus = SampleCorpus.texts();
        List<String> input = new ArrayList<>(texts);
        for (int i = 0; i < texts; i++) {
            input.add(corpus.get(i % corpus.size()));
        }
        if (texts > corpus.size()) {
            out.printf(Locale.ROOT, "encode-bench: the sample corpus holds %d texts; repeated cyclically to %d "
                    + "(text i is text i mod %d)%n", corpus.size(), texts, corpus.size());
        }
        int m = Math.min(checkTexts, texts);
        if (dump != null) {
            Files.createDirectories(dump);
        }
        ObjectNode manifest = json.createObjectNode();
        manifest.put("format", FORMAT);
        manifest.put("model", modelPath != null ? modelPath.toString() : model);
        manifest.putNull("provider");
        manifest.put("texts", texts);
        manifest.put("corpus_texts", corpus.size());
        manifest.put("repeated", texts > corpus.size());
        manifest.put("padding", "texts in length order; each batch padded with id 0, mask 0 and type 0 to "
                + "its longest text; a batch holds the batch size unless the set's batches file says fewer rows");
        ObjectNode sets = json.createObjectNode();
        List<Timing> timings = new ArrayList<>();
        int exit = 0;
        String providerName = null;
        for (int bi = 0; bi < batches.length; bi++) {
            int b = batches[bi];
            try (TextEncoder enc = encoder(b)) {
                if (bi == 0) {
                    providerName = enc.provider();
                    out.printf(Locale.ROOT, "encode-bench: model %s on %s (%s), %d texts, batches %s, paths %s%n",
                            enc.modelName(), enc.provider(), device(enc.provider()), texts,
                            Arrays.toString(batches), String.join(",", paths));
                    out.println("encode-bench: padding: texts in length order, each batch padded with id 0 and "
                            + "mask 0 to its longest text; batches hold the batch size unless marked shorter");
                    out.flush();
                    exit = check(enc, input.subList(0, m), manifest, sets, out);
                }
                List<TextEncoder.Batch> plan = enc.batches(input);
                if (dump != null) {
                    sets.set("b" + b, writeSet("b" + b, plan, b));
                }
                for (String path : paths) {
                    Timing t = time(enc, path, b, input, plan);
                    timings.add(t);
                    long shorter = plan.stream().filter(x -> x.size() < b).count();
                    out.printf(Locale.ROOT, "encode-bench: %-5s batch %4d: %d batches%s, %.1f texts/s, p50 batch "
                                    + "%.2f ms, %d passes, padding %.1f%% of tokens, tokenising %.3f s a pass%n",
                            path, b, plan.size(), shorter == 0 ? "" : " (" + shorter + " shorter)", t.textsPerSecond(),
                            t.p50BatchMs(), t.passSeconds().size(),
                            100.0 * (t.paddedTokens() - t.tokens()) / t.paddedTokens(), t.tokenizeSeconds());
                    out.flush();
                }
            }
        }
        if (dump != null) {
            manifest.put("provider", providerName);
            manifest.set("sets", sets);
            manifest.put("timing", "timing.json");
            writeTiming(timings, providerName);
            Files.writeString(dump.resolve("manifest.json"), json.writeValueAsString(manifest),
                    StandardCharsets.UTF_8);
            out.println("encode-bench: wrote " + dump.toAbsolutePath());
        }
        out.flush();
        return exit;
    }

    private void validate() {
        if (texts < 1 || checkTexts < 1 || seconds < 0 || batches.length == 0) {
            throw new IllegalArgumentException("--texts and --check-texts must be >= 1, --seconds >= 0 and "
                    + "--batches non-empty");
        }
        for (int b : batches) {
            if (b < 1) {
                throw new IllegalArgumentException("batch sizes must be >= 1, got " + b);
            }
        }
        for (String p : paths) {
            if (!p.equals("run") && !p.equals("bound")) {
                throw new IllegalArgumentException("--paths takes run and bound, got '" + p + "'");
            }
        }
        if ((modelPath == null) != (tokenizer == null)) {
            throw new IllegalArgumentException("--model-path and --tokenizer go together");
        }
    }

    private TextEncoder encoder(int batch) {
        TextEncoder.Builder b = TextEncoder.builder().provider(provider).maxBatchSize(batch);
        if (modelPath != null) {
            b.modelPath(modelPath).tokenizerPath(tokenizer);
        } else {
            b.model(model);
        }
        if (workers != null) {
            b.workers(workers);
        }
        if (intraOpThreads != null) {
            b.intraOpThreads(intraOpThreads);
        }
        // The budget must not cut a batch: it is sized for texts of the model's most tokens (the builder's 512
        // for a model by path).
        int maxLength = modelPath != null ? 512 : ModelManifest.get().model(model).maxLength();
        return b.tokenBudget(tokenBudget(batch, maxLength)).build();
    }

    /**
     * A token budget under which a batch of {@code batch} texts of up to {@code maxLength} tokens is never cut:
     * the encoder also caps {@code batch × length²} at 128 times the budget.
     */
    static int tokenBudget(int batch, int maxLength) {
        long budget = Math.max((long) batch * maxLength, (long) batch * maxLength * maxLength / 128);
        if (budget > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("batch size " + batch + " is too large");
        }
        return (int) budget;
    }

    /** Encodes the check texts, dumps them and their tokens, and compares with --reference; the exit code. */
    private int check(TextEncoder enc, List<String> check, ObjectNode manifest, ObjectNode sets, PrintWriter out)
            throws IOException {
        int exit = 0;
        try (FloatMatrix v = enc.encode(check)) {
            if (reference != null) {
                try (FloatMatrix ref = Npy.read(reference)) {
                    if (ref.cols() != v.cols()) {
                        throw new IllegalArgumentException("reference " + reference + " has " + ref.cols()
                                + " columns, our vectors " + v.cols());
                    }
                    int rows = (int) Math.min(ref.rows(), v.rows());
                    double[] cos = cosines(v, ref, rows);
                    double min = Arrays.stream(cos).min().orElse(1);
                    boolean ok = min >= minCosine;
                    out.printf(Locale.ROOT, "encode-bench: cosine to reference %s over %d texts: min %.7f, "
                                    + "median %.7f (%s %s)%n", reference, rows, min, median(cos),
                            ok ? "ok, at least" : "FAILED, below", minCosine);
                    exit = ok ? 0 : 1;
                }
            }
            if (dump != null) {
                Npy.write(dump.resolve("embeddings.npy"), v);
                manifest.put("embeddings", "embeddings.npy");
                manifest.put("embedding_texts", v.rows());
                manifest.put("dimension", v.cols());
                manifest.put("pooling", enc.spec().pooling().name().toLowerCase(Locale.ROOT));
                manifest.put("normalize", enc.spec().normalize());
                sets.set("check", writeSet("check", enc.batches(check), batches[0]));
                manifest.put("onnx", onnxFile(enc));
            }
        }
        return exit;
    }

    private static double[] cosines(FloatMatrix a, FloatMatrix b, int rows) {
        double[] cos = new double[rows];
        float[] x = new float[a.cols()];
        float[] y = new float[a.cols()];
        for (int r = 0; r < rows; r++) {
            a.getRow(r, x);
            b.getRow(r, y);
            double dot = 0;
            double xx = 0;
            double yy = 0;
            for (int i = 0; i < x.length; i++) {
                dot += (double) x[i] * y[i];
                xx += (double) x[i] * x[i];
                yy += (double) y[i] * y[i];
            }
            cos[r] = dot / Math.sqrt(xx * yy);
        }
        return cos;
    }

    /** Path of the model file for the peer: the file itself, or a copy of it out of its jar. */
    private String onnxFile(TextEncoder enc) throws IOException {
        ModelFiles files = ModelFiles.locate(enc.spec().source());
        if (files.onnxPath() != null) {
            return files.onnxPath().toAbsolutePath().toString();
        }
        Path target = dump.resolve("model.onnx");
        try (BytePointer bytes = files.onnxNative();
             FileChannel ch = FileChannel.open(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = bytes.asByteBuffer();
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
        }
        return target.getFileName().toString();
    }

    private Timing time(TextEncoder enc, String path, int batch, List<String> input, List<TextEncoder.Batch> plan) {
        List<List<String>> batchTexts = new ArrayList<>(plan.size());
        long tokens = 0;
        long padded = 0;
        for (TextEncoder.Batch b : plan) {
            List<String> t = new ArrayList<>(b.size());
            for (int row : b.rows()) {
                t.add(input.get(row));
            }
            batchTexts.add(t);
            tokens += b.tokens();
            padded += (long) b.size() * b.seqLen();
        }
        OnnxModel.Placement where = "CUDA".equals(enc.provider()) ? OnnxModel.Placement.DEVICE
                : OnnxModel.Placement.HOST;
        List<Double> passes = new ArrayList<>();
        List<Double> batchMs = new ArrayList<>();
        boolean run = path.equals("run");
        for (int pass = 0; ; pass++) {
            long t0 = System.nanoTime();
            if (run) {
                enc.encode(input).close();
            } else {
                for (List<String> t : batchTexts) {
                    long b0 = System.nanoTime();
                    enc.encodeBound(t, false, where, tokensOut -> {
                        if (!tokensOut.onDevice()) {
                            tokensOut.poolOnHost().close();
                        }
                        return null;
                    });
                    if (pass > 0) {
                        batchMs.add((System.nanoTime() - b0) / 1e6);
                    }
                }
            }
            double s = (System.nanoTime() - t0) / 1e9;
            if (pass > 0) {
                passes.add(s);
                if (passes.stream().mapToDouble(Double::doubleValue).sum() >= seconds) {
                    break;
                }
            }
        }
        if (run) {
            for (List<String> t : batchTexts) {
                long b0 = System.nanoTime();
                enc.encode(t).close();
                batchMs.add((System.nanoTime() - b0) / 1e6);
            }
        }
        long k0 = System.nanoTime();
        enc.batches(input);
        double tokenize = (System.nanoTime() - k0) / 1e9;
        return new Timing(path, batch, plan.size(), input.size(), tokens, padded, passes, batchMs, tokenize);
    }

    /** Writes the five files of one token set; returns its manifest entry. */
    private ObjectNode writeSet(String name, List<TextEncoder.Batch> plan, int batch) throws IOException {
        long elements = 0;
        int rows = 0;
        for (TextEncoder.Batch b : plan) {
            elements += (long) b.size() * b.seqLen();
            rows += b.size();
        }
        if (elements > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("token set " + name + " holds " + elements + " tokens, more than "
                    + "one .npy of this dump takes (2^31 - 1)");
        }
        int[] ids = new int[(int) elements];
        int[] mask = new int[(int) elements];
        int[] types = new int[(int) elements];
        int[] rowOf = new int[rows];
        long[] index = new long[plan.size() * 3];
        int at = 0;
        int r = 0;
        for (int i = 0; i < plan.size(); i++) {
            TextEncoder.Batch b = plan.get(i);
            index[3 * i] = at;
            index[3 * i + 1] = b.size();
            index[3 * i + 2] = b.seqLen();
            for (int e = 0; e < b.size() * b.seqLen(); e++) {
                ids[at + e] = Math.toIntExact(b.ids()[e]);
                mask[at + e] = (int) b.mask()[e];
                types[at + e] = (int) b.types()[e];
            }
            at += b.size() * b.seqLen();
            System.arraycopy(b.rows(), 0, rowOf, r, b.size());
            r += b.size();
        }
        writeInts(dump.resolve(name + "-ids.npy"), ids);
        writeInts(dump.resolve(name + "-mask.npy"), mask);
        writeInts(dump.resolve(name + "-types.npy"), types);
        writeInts(dump.resolve(name + "-rows.npy"), rowOf);
        writeLongs(dump.resolve(name + "-batches.npy"), index, 3);
        ObjectNode s = json.createObjectNode();
        s.put("batch", batch);
        s.put("texts", rows);
        s.put("batches", plan.size());
        s.put("tokens", elements);
        return s;
    }

    private static void writeInts(Path file, int[] values) throws IOException {
        ByteBuffer data = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        data.asIntBuffer().put(values);
        writeNpy(file, "<i4", "(" + values.length + ",)", data.array());
    }

    private static void writeLongs(Path file, long[] values, int cols) throws IOException {
        ByteBuffer data = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        data.asLongBuffer().put(values);
        writeNpy(file, "<i8", "(" + values.length / cols + ", " + cols + ")", data.array());
    }

    /** Writes an {@code .npy} file, version 1.0: the header for {@code descr} and {@code shape}, then {@code data}. */
    private static void writeNpy(Path file, String descr, String shape, byte[] data) throws IOException {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
        // Magic (6), version (2), header length (2), then the dict padded with spaces and a newline so the data
        // starts at a multiple of 64 bytes.
        int total = (10 + dict.length() + 1 + 63) / 64 * 64;
        StringBuilder h = new StringBuilder(dict);
        while (h.length() < total - 10 - 1) {
            h.append(' ');
        }
        h.append('\n');
        ByteBuffer head = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN);
        head.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0)
                .putShort((short) h.length());
        try (OutputStream o = Files.newOutputStream(file)) {
            o.write(head.array());
            o.write(h.toString().getBytes(StandardCharsets.US_ASCII));
            o.write(data);
        }
    }

    private void writeTiming(List<Timing> timings, String providerName) throws IOException {
        ObjectNode root = json.createObjectNode();
        root.put("who", "latent");
        root.put("model", modelPath != null ? modelPath.toString() : model);
        root.put("provider", providerName);
        root.put("device", device(providerName));
        root.put("texts", texts);
        ArrayNode results = root.putArray("results");
        for (Timing t : timings) {
            ObjectNode r = results.addObject();
            r.put("path", t.path());
            r.put("batch", t.batch());
            r.put("batches", t.batchCount());
            r.put("texts", t.texts());
            r.put("tokens", t.tokens());
            r.put("padded_tokens", t.paddedTokens());
            r.put("texts_per_s", t.textsPerSecond());
            r.put("p50_batch_ms", t.p50BatchMs());
            r.put("tokenize_s", t.tokenizeSeconds());
            ArrayNode p = r.putArray("pass_s");
            t.passSeconds().forEach(p::add);
        }
        Files.writeString(dump.resolve("timing.json"), json.writeValueAsString(root), StandardCharsets.UTF_8);
    }

    /** The CPU model (from /proc/cpuinfo) on the CPU provider, else the provider's name. */
    static String device(String provider) {
        if (!"CPU".equals(provider)) {
            return provider;
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8)) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim() + ", "
                            + Runtime.getRuntime().availableProcessors() + " cores";
                }
            }
        } catch (IOException | RuntimeException e) {
            // no /proc here: the architecture has to do
        }
        return System.getProperty("os.arch") + ", " + Runtime.getRuntime().availableProcessors() + " cores";
    }

    static double median(List<Double> values) {
        return median(values.stream().mapToDouble(Double::doubleValue).toArray());
    }

    static double median(double[] values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
