package dev.latent.encode.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.latent.core.FloatMatrix;
import dev.latent.core.TokenEmbeddings;
import dev.latent.encode.BatchPipeline;
import dev.latent.encode.EncodeListener;
import dev.latent.encode.Encoder;
import dev.latent.encode.Modality;
import dev.latent.encode.ModelFiles;
import dev.latent.encode.ModelManifest;
import dev.latent.encode.ModelSpec;
import dev.latent.encode.Pooling;
import dev.latent.encode.onnx.Feeds;
import dev.latent.encode.onnx.OnnxModel;
import dev.latent.encode.onnx.Outputs;
import dev.latent.encode.onnx.Provider;
import dev.latent.core.Texts;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * Turns texts into L2-normalised float32 vectors with a sentence-transformer ONNX export and its
 * tokenizer.json: tokenise (Hugging Face tokenizers through DJL) → ONNX Runtime → pool → normalise.
 *
 * <pre>{@code
 * try (TextEncoder enc = TextEncoder.builder().model("all-minilm-l6-v2-q").build()) {
 *     FloatMatrix v = enc.encode(texts);          // one row per text, in input order; caller closes it
 *     FloatMatrix q = enc.encodeQueries(queries); // applies the model's query prefix
 * }
 * }</pre>
 *
 * <p><b>Engine.</b> Texts are ordered by length so a batch carries little padding, tokenised a chunk at a
 * time on the calling thread while worker threads run the model on earlier batches (a {@link BatchPipeline}
 * over one shared {@link OnnxModel}, checked against the {@link TextSignature}), cut into batches
 * capped by {@link Builder#maxBatchSize}, by a token budget ({@code batch × padded length},
 * {@link Builder#tokenBudget}) and by an attention budget ({@code batch × padded length²} at most
 * {@code tokenBudget × 128}: attention scores grow with the square of the length, so without it a batch of
 * long texts needs several times the activation memory of a batch of short ones, and the peak memory of a
 * run would depend on the longest texts the corpus happens to hold), then pooled (mean over the attention mask, or CLS) and normalised straight
 * into the result matrix at each text's input row. On CPU the defaults are one worker per core with one
 * ONNX Runtime intra-op thread each (up to four workers; more cores give each worker more threads), all
 * sharing one session: on a 2-core machine that beat one run with 2 intra-op threads.
 *
 * <p><b>int8 models.</b> Dynamically quantised exports choose one activation scale per tensor, that is per
 * batch, so an int8 vector depends slightly on which other texts share its batch (cosine about 0.99 to the
 * same text encoded alone); float32 exports give the same vector whatever the batch.
 *
 * <p><b>Truncation.</b> A text longer than the model's {@link #maxLength()} tokens (special tokens included)
 * is truncated to its first {@code maxLength} tokens.
 *
 * <p><b>Thread safety.</b> All methods may be called from several threads at once; concurrent encode calls
 * share the worker threads and run one after another on them. {@link #close()} must not race with encode
 * calls; after it, encode throws {@link IllegalStateException}. Each returned {@link FloatMatrix} belongs
 * to the caller.
 */
public final class TextEncoder implements Encoder<String> {
    /** System property choosing the execution provider when the builder does not: auto, cpu or cuda. */
    public static final String PROVIDER_PROPERTY = "latent.encode.provider";

    private final ModelSpec spec;
    private final HuggingFaceTokenizer tokenizer;
    private final OnnxModel session;
    private final TextSignature signature;
    private final BatchPipeline pipeline;
    private final int maxBatchSize;
    private final int tokenBudget;
    private final TextBatcher batcher;
    private final int dimension;
    private final AtomicLong tokensProcessed = new AtomicLong();
    private volatile boolean closed;

    /** The model used when none is named: the manifest's {@code "default"} entry, its one source. */
    public static String defaultModel() {
        return ModelManifest.get().defaultModel();
    }

    /** Names of the text models in the manifest, the default first when it is one. */
    public static List<String> knownModels() {
        ModelManifest m = ModelManifest.get();
        List<String> names = new ArrayList<>();
        for (String name : m.names()) {
            if (m.model(name).modality() == Modality.TEXT) {
                names.add(name.equals(m.defaultModel()) ? 0 : names.size(), name);
            }
        }
        return List.copyOf(names);
    }

    public static Builder builder() {
        return new Builder();
    }

    private TextEncoder(Builder b, ModelSpec spec, ModelFiles files) {
        this.spec = spec;
        this.tokenizer = loadTokenizer(files, spec.maxLength());
        int cores = Math.max(1, Runtime.getRuntime().availableProcessors());
        Provider request = Provider.parse(
                b.provider != null ? b.provider : System.getProperty(PROVIDER_PROPERTY, "auto"));
        int w = b.workers > 0 ? b.workers : Math.min(cores, 4);
        int threads = b.intraOpThreads > 0 ? b.intraOpThreads : Math.max(1, cores / w);
        OnnxModel s;
        TextSignature sig;
        try {
            s = OnnxModel.open(files, new OnnxModel.Options(threads, w, request));
            try {
                sig = TextSignature.check(s, spec);
            } catch (RuntimeException e) {
                s.close();
                throw e;
            }
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
        this.session = s;
        this.signature = sig;
        boolean gpu = "CUDA".equals(s.provider());
        // On a GPU the runs share one device stream; two workers are enough to overlap host work with it.
        this.pipeline = new BatchPipeline("latent-encode", gpu && b.workers <= 0 ? Math.min(w, 2) : w);
        this.maxBatchSize = b.maxBatchSize > 0 ? b.maxBatchSize : (gpu ? 256 : 32);
        this.tokenBudget = b.tokenBudget > 0 ? b.tokenBudget : (gpu ? 256 * 128 : 32 * 128);
        this.batcher = new TextBatcher(tokenizer, maxBatchSize, tokenBudget, sig.takesTokenTypeIds());
        try {
            this.dimension = probeDimension();
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private static HuggingFaceTokenizer loadTokenizer(ModelFiles files, int maxLength) {
        Map<String, String> options = Map.of(
                "addSpecialTokens", "true",
                "truncation", "true",
                "padding", "false",
                "maxLength", Integer.toString(maxLength));
        try {
            if (files.tokenizerPath() != null) {
                return HuggingFaceTokenizer.newInstance(files.tokenizerPath(), options);
            }
            return HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(files.tokenizerBytes()), options);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("tokenizer file " + files.describeTokenizer()
                    + " cannot be loaded as a Hugging Face tokenizer.json: " + e.getMessage(), e);
        }
    }

    /** Runs one short text to learn the output width and check it against the manifest. */
    private int probeDimension() {
        try (FloatMatrix m = encodeInternal(List.of("dimension probe"), "", null, false)) {
            int d = m.cols();
            if (spec.dimension() > 0 && spec.dimension() != d) {
                throw new IllegalArgumentException("model '" + spec.name() + "' gives vectors of dimension " + d
                        + ", but the manifest says " + spec.dimension());
            }
            return d;
        }
    }

    /** Output dimension. */
    @Override
    public int dimension() {
        return dimension;
    }

    /** Manifest name, or the ONNX file name for a model given by path. */
    public String modelName() {
        return spec.name();
    }

    /** The model's description as this encoder uses it. */
    @Override
    public ModelSpec spec() {
        return spec;
    }

    @Override
    public Modality modality() {
        return Modality.TEXT;
    }

    /** "CPU" or "CUDA": the ONNX Runtime execution provider in use. */
    @Override
    public String provider() {
        return session.provider();
    }

    /** Maximum tokens per text (special tokens included); longer texts are truncated. */
    public int maxLength() {
        return spec.maxLength();
    }

    /** Total non-padding tokens encoded by this encoder so far (all calls, the dimension probe excluded). */
    public long tokensProcessed() {
        return tokensProcessed.get();
    }

    /** Encodes passages (with the model's passage prefix, if any). Rows are in input order. */
    @Override
    public FloatMatrix encode(List<String> texts) {
        return encode(texts, null);
    }

    /** As {@link #encode(List)}, reporting progress to {@code listener} (may be {@code null}). */
    public FloatMatrix encode(List<String> texts, EncodeListener listener) {
        return encodeInternal(texts, spec.passagePrefix(), listener, true);
    }

    /** Encodes queries with the model's query prefix (for BGE: "Represent this sentence for searching ..."). */
    public FloatMatrix encodeQueries(List<String> queries) {
        return encodeQueries(queries, null);
    }

    /** As {@link #encodeQueries(List)}, reporting progress to {@code listener} (may be {@code null}). */
    public FloatMatrix encodeQueries(List<String> queries, EncodeListener listener) {
        return encodeInternal(queries, spec.queryPrefix(), listener, true);
    }

    /**
     * Encodes {@code texts} (as queries when {@code queries}) in one model run through an ONNX Runtime IoBinding,
     * and hands the token embeddings, not yet pooled, to {@code use} while the run's output is alive: with
     * {@link OnnxModel.Placement#DEVICE} (the CUDA provider) they stay in device memory, for a search that
     * pools them on the device ({@link TokenEmbeddings#onDevice()}); with {@code HOST} they are host memory.
     * The record carries this model's pooling and normalisation; rows are in input order. One run takes every
     * text, so the caller bounds the batch (the engine's token budget does).
     *
     * @throws IllegalStateException for {@code DEVICE} without the CUDA provider
     * @throws IllegalArgumentException for an empty or null text (named by its index)
     */
    public <T> T encodeBound(List<String> texts, boolean queries, OnnxModel.Placement where,
                             Function<TokenEmbeddings, T> use) {
        String[] input = checkedInput(texts, queries ? spec.queryPrefix() : spec.passagePrefix());
        if (input.length == 0) {
            throw new IllegalArgumentException("no texts to encode");
        }
        TextBatcher.Tokens enc = batcher.tokenize(input, signature.takesTokenTypeIds());
        Integer[] idx = new Integer[input.length];
        int seqLen = 0;
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
            seqLen = Math.max(seqLen, enc.ids()[i].length);
        }
        Batch b = TextBatcher.pack(enc, idx, 0, idx.length, seqLen, e -> e);
        try (Feeds feeds = new Feeds()) {
            feeds.longs(TextSignature.IDS, b.ids(), b.size(), b.seqLen());
            feeds.longs(TextSignature.MASK, b.mask(), b.size(), b.seqLen());
            if (signature.takesTokenTypeIds()) {
                feeds.longs(TextSignature.TYPES, b.types(), b.size(), b.seqLen());
            }
            try (Outputs out = session.runBound(feeds, where, signature.output())) {
                long[] shape = out.shape(0);
                boolean pooled = shape.length == 2;
                TokenEmbeddings tokens = new TokenEmbeddings(out.address(0, dev.latent.encode.onnx.ElementType.FLOAT),
                        b.size(), pooled ? 1 : (int) shape[1], (int) shape[shape.length - 1], b.mask(),
                        pooled || spec.pooling() == Pooling.CLS, spec.normalize(),
                        out.onDevice() ? session.cudaDevice() : TokenEmbeddings.HOST);
                tokensProcessed.addAndGet(b.tokens());
                return use.apply(tokens);
            }
        }
    }

    /** Number of tokens {@code text} becomes (special tokens included, after truncation), without encoding it. */
    public int countTokens(String text) {
        return batcher.tokenize(new String[] {text}, false).ids()[0].length;
    }

    /**
     * A padded batch as the encoder feeds it to the model: {@code size} texts, each padded with token id 0 and
     * mask 0 to {@code seqLen} tokens (the longest text of the batch). {@code ids}, {@code mask} and
     * {@code types} are {@code [size][seqLen]} row-major (types all 0 for a model without token type ids);
     * {@code rows[i]} is the input row of batch row {@code i}; {@code tokens} counts the real tokens. The
     * arrays belong to the batch: read them, do not change them.
     */
    public record Batch(int[] rows, long[] ids, long[] mask, long[] types, int size, int seqLen, long tokens) {
    }

    /**
     * The batches {@link #encode(List)} runs for {@code texts}, in the order it queues them: the same length
     * ordering, chunks and budgets, so a benchmark or another runtime can do exactly the same work. Tokenises
     * only; runs no model.
     *
     * @throws IllegalArgumentException for an empty or null text (named by its index)
     */
    public List<Batch> batches(List<String> texts) {
        String[] input = checkedInput(texts, spec.passagePrefix());
        List<Batch> out = new ArrayList<>();
        batcher.produce(input, TextBatcher.lengthOrder(input), out::add);
        return out;
    }

    private FloatMatrix encodeInternal(List<String> texts, String prefix, EncodeListener listener, boolean count) {
        String[] input = checkedInput(texts, prefix);
        int n = input.length;
        int d = dimension > 0 ? dimension : (int) Math.max(0, signature.declaredDim());
        if (n == 0) {
            return FloatMatrix.allocate(0, d > 0 ? d : 1);
        }
        int[] order = TextBatcher.lengthOrder(input);
        AtomicReference<FloatMatrix> result = new AtomicReference<>(d > 0 ? FloatMatrix.allocate(n, d) : null);
        Progress progress = new Progress(listener);
        try {
            pipeline.run(sink -> batcher.produce(input, order, sink), () -> new Worker(result, n, progress, count));
        } catch (RuntimeException | Error e) {
            FloatMatrix m = result.get();
            if (m != null) {
                m.close();
            }
            throw e;
        }
        return result.get();
    }

    /** The texts with {@code prefix}, each checked to have content (else named by its index). */
    private String[] checkedInput(List<String> texts, String prefix) {
        if (closed) {
            throw new IllegalStateException("TextEncoder for model " + spec.name() + " is closed");
        }
        Objects.requireNonNull(texts, "texts");
        String[] input = new String[texts.size()];
        for (int i = 0; i < input.length; i++) {
            String t = texts.get(i);
            if (t == null || Texts.isBlank(t)) {
                throw new IllegalArgumentException("text " + i + " is " + (t == null ? "null" : "empty or blank")
                        + " (white space, no-break or zero-width spaces only); every text must have content");
            }
            input[i] = prefix.isEmpty() ? t : prefix + t;
        }
        return input;
    }

    /** Serialises listener calls and keeps per-call totals. */
    private static final class Progress {
        private final EncodeListener listener;
        private long texts;
        private long tokens;

        Progress(EncodeListener listener) {
            this.listener = listener;
        }

        synchronized void add(int batchTexts, long batchTokens) {
            texts += batchTexts;
            tokens += batchTokens;
            if (listener != null) {
                listener.progress(texts, tokens);
            }
        }
    }

    /** One worker thread's state for one call: its native input buffers and pooling scratch. */
    private final class Worker implements BatchPipeline.Worker<Batch> {
        private final Feeds feeds = new Feeds();
        private final AtomicReference<FloatMatrix> result;
        private final int n;
        private final Progress progress;
        private final boolean count;
        private float[] row;
        private float[] token;

        Worker(AtomicReference<FloatMatrix> result, int n, Progress progress, boolean count) {
            this.result = result;
            this.n = n;
            this.progress = progress;
            this.count = count;
        }

        @Override
        public void accept(Batch b) {
            feeds.longs(TextSignature.IDS, b.ids(), b.size(), b.seqLen());
            feeds.longs(TextSignature.MASK, b.mask(), b.size(), b.seqLen());
            if (signature.takesTokenTypeIds()) {
                feeds.longs(TextSignature.TYPES, b.types(), b.size(), b.seqLen());
            }
            try (Outputs out = session.run(feeds, signature.output())) {
                long[] shape = out.shape(0);
                int h = (int) shape[shape.length - 1];
                FloatMatrix m = result.get();
                if (m == null) {
                    synchronized (result) {
                        if (result.get() == null) {
                            result.set(FloatMatrix.allocate(n, h));
                        }
                        m = result.get();
                    }
                }
                if (m.cols() != h) {
                    throw new IllegalStateException("model output width " + h + " differs from " + m.cols());
                }
                if (row == null || row.length != h) {
                    row = new float[h];
                    token = new float[h];
                }
                pool(out.floats(0), shape, b, row, token, m);
            }
            if (count) {
                tokensProcessed.addAndGet(b.tokens());
            }
            progress.add(b.size(), b.tokens());
        }

        @Override
        public void close() {
            feeds.close();
        }
    }

    /**
     * Pools each batch row into {@code row} (mean over the mask, or CLS), normalises, stores it at its input
     * row; {@code token} is scratch of the same length.
     */
    private void pool(FloatBuffer data, long[] shape, Batch b, float[] row, float[] token, FloatMatrix m) {
        int h = row.length;
        boolean pooled = shape.length == 2;
        int t = pooled ? 1 : (int) shape[1];
        for (int r = 0; r < b.size(); r++) {
            TokenEmbeddings.pool(data, r * t * h, t, b.mask(), r * b.seqLen(), pooled || spec.pooling() == Pooling.CLS,
                    spec.normalize(), row, token);
            m.setRow(b.rows()[r], row);
        }
    }

    /** Stops the workers and frees the session and tokenizer. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        pipeline.close();
        session.close();
        tokenizer.close();
    }

    /**
     * Configures a {@link TextEncoder}. Either {@link #model(String)} (a manifest name; the default is
     * {@link #defaultModel()}) or {@link #modelPath(Path)} plus {@link #tokenizerPath(Path)} (a user's own
     * export; dimension read from the model, pooling mean unless set). Not thread-safe.
     */
    public static final class Builder {
        private String model;
        private Path modelPath;
        private Path tokenizerPath;
        private Pooling pooling;
        private Integer maxLength;
        private Boolean normalize;
        private String queryPrefix;
        private String provider;
        private int workers;
        private int intraOpThreads;
        private int maxBatchSize;
        private int tokenBudget;

        private Builder() {
        }

        /** A model by manifest name (see {@link TextEncoder#knownModels()}). */
        public Builder model(String name) {
            this.model = Objects.requireNonNull(name, "name");
            return this;
        }

        /** A user's own ONNX export; needs {@link #tokenizerPath(Path)} too. */
        public Builder modelPath(Path onnx) {
            this.modelPath = Objects.requireNonNull(onnx, "onnx");
            return this;
        }

        /** The tokenizer.json that goes with {@link #modelPath(Path)}. */
        public Builder tokenizerPath(Path tokenizerJson) {
            this.tokenizerPath = Objects.requireNonNull(tokenizerJson, "tokenizerJson");
            return this;
        }

        /** Overrides the pooling (default: the manifest's, or mean for a model by path). */
        public Builder pooling(Pooling pooling) {
            this.pooling = Objects.requireNonNull(pooling, "pooling");
            return this;
        }

        /** Overrides the maximum tokens per text (default: the manifest's, or 512 for a model by path). */
        public Builder maxLength(int tokens) {
            this.maxLength = tokens;
            return this;
        }

        /** Overrides L2 normalisation (default: the manifest's, or true for a model by path). */
        public Builder normalize(boolean normalize) {
            this.normalize = normalize;
            return this;
        }

        /** Overrides the query prefix (default: the manifest's, or none for a model by path). */
        public Builder queryPrefix(String prefix) {
            this.queryPrefix = Objects.requireNonNull(prefix, "prefix");
            return this;
        }

        /** Execution provider: "auto" (default, or the {@value #PROVIDER_PROPERTY} property), "cpu", "cuda". */
        public Builder provider(String provider) {
            this.provider = Objects.requireNonNull(provider, "provider");
            return this;
        }

        /** Worker threads running ONNX Runtime at once (default: cores, at most 4). */
        public Builder workers(int workers) {
            this.workers = positive(workers, "workers");
            return this;
        }

        /** ONNX Runtime intra-op threads per run (default: cores / workers, at least 1). */
        public Builder intraOpThreads(int threads) {
            this.intraOpThreads = positive(threads, "intraOpThreads");
            return this;
        }

        /** Most texts in one batch (default 32 on CPU, 256 on CUDA). */
        public Builder maxBatchSize(int texts) {
            this.maxBatchSize = positive(texts, "maxBatchSize");
            return this;
        }

        /** Most tokens, padding included, in one batch (default 32 × 128 on CPU, 256 × 128 on CUDA). */
        public Builder tokenBudget(int tokens) {
            this.tokenBudget = positive(tokens, "tokenBudget");
            return this;
        }

        private static int positive(int v, String what) {
            if (v <= 0) {
                throw new IllegalArgumentException(what + " must be > 0, got " + v);
            }
            return v;
        }

        /**
         * Loads the tokenizer and the model and starts the workers.
         *
         * @throws IllegalArgumentException for an unknown model (the message lists the known ones), a missing
         *         or unreadable file, a tokenizer.json that does not parse, or a model whose inputs or output
         *         do not match its description
         */
        public TextEncoder build() {
            ModelSpec spec;
            if (modelPath != null || tokenizerPath != null) {
                if (modelPath == null || tokenizerPath == null) {
                    throw new IllegalArgumentException("a model given by path needs both modelPath (the .onnx file) "
                            + "and tokenizerPath (its tokenizer.json)");
                }
                if (model != null) {
                    throw new IllegalArgumentException("give either a manifest model name or model paths, not both");
                }
                spec = ModelSpec.builder(modelPath.getFileName().toString(), Modality.TEXT,
                                ModelSpec.Source.ofPaths(modelPath, tokenizerPath))
                        .description("ONNX model " + modelPath)
                        .maxLength(maxLength != null ? maxLength : 512)
                        .pooling(pooling != null ? pooling : Pooling.MEAN)
                        .normalize(normalize != null ? normalize : true)
                        .queryPrefix(queryPrefix != null ? queryPrefix : "")
                        .build();
            } else {
                ModelSpec base = ModelManifest.get().model(model != null ? model : defaultModel());
                if (base.modality() != Modality.TEXT) {
                    throw new IllegalArgumentException("model '" + base.name() + "' takes " + base.modality()
                            .name().toLowerCase(java.util.Locale.ROOT) + " input, not text; text models: "
                            + String.join(", ", knownModels()));
                }
                ModelSpec.Builder b = base.toBuilder();
                if (maxLength != null) {
                    b.maxLength(maxLength);
                }
                if (pooling != null) {
                    b.pooling(pooling);
                }
                if (normalize != null) {
                    b.normalize(normalize);
                }
                if (queryPrefix != null) {
                    b.queryPrefix(queryPrefix);
                }
                spec = b.build();
            }
            return new TextEncoder(this, spec, ModelFiles.locate(spec.source()));
        }
    }
}
