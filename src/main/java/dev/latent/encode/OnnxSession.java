package dev.latent.encode;

import static org.bytedeco.onnxruntime.global.onnxruntime.GetAvailableProviders;
import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_ENABLE_ALL;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_LOGGING_LEVEL_ERROR;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_SEQUENTIAL;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtArenaAllocator;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtMemTypeDefault;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.logging.Logger;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.onnxruntime.Env;
import org.bytedeco.onnxruntime.LongVector;
import org.bytedeco.onnxruntime.MemoryInfo;
import org.bytedeco.onnxruntime.OrtCUDAProviderOptions;
import org.bytedeco.onnxruntime.RunOptions;
import org.bytedeco.onnxruntime.Session;
import org.bytedeco.onnxruntime.SessionOptions;
import org.bytedeco.onnxruntime.StringVector;
import org.bytedeco.onnxruntime.TensorTypeAndShapeInfo;
import org.bytedeco.onnxruntime.TypeInfo;
import org.bytedeco.onnxruntime.Value;
import org.bytedeco.onnxruntime.ValueVector;

/**
 * One ONNX Runtime session on a transformer encoder: the only class of Latent that touches
 * {@code org.bytedeco.onnxruntime}. Takes token ids, an attention mask and optionally token type ids
 * ({@code int64 [B, T]}), returns the model's chosen float output ({@code last_hidden_state [B, T, H]}, or a
 * pooled {@code [B, H]}) in host memory.
 *
 * <p><b>Session options</b> are set deliberately: graph optimisation {@code ORT_ENABLE_ALL}, sequential
 * execution with one inter-op thread (an encoder graph is a chain, nothing to run side by side), and the
 * intra-op thread count the caller chose. With one intra-op thread a {@link #run} computes entirely on the
 * calling thread, so several callers can share this one session (one copy of the weights) and run at once.
 *
 * <p><b>Execution provider.</b> {@code auto}: CUDA when this ONNX Runtime build has the CUDA provider (the
 * {@code gpu} Maven profile brings that build) and a session can be made with it, else CPU. {@code cpu} and
 * {@code cuda} force one; a forced CUDA that fails throws. One INFO line on logger {@code dev.latent.encode}
 * names the provider and the reason.
 *
 * <p><b>Ownership and threads.</b> The process-wide {@link Env} lives until the JVM exits (ONNX Runtime wants
 * one per process). Everything else native is owned here and freed by {@link #close()}, exactly once.
 * {@link #run} is safe from any number of threads at once, each with its own {@link Inputs}; {@link #close()}
 * waits for runs in flight, and use after close throws {@link IllegalStateException}.
 */
final class OnnxSession implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger("dev.latent.encode");

    /** Which execution provider a caller asks for. */
    enum Provider {
        AUTO, CPU, CUDA;

        static Provider parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown execution provider '" + s + "' (expected auto, cpu or cuda)");
            }
        }
    }

    /** ONNX Runtime wants one environment per process; it is never released before exit. */
    private static final class EnvHolder {
        static final Env ENV = new Env(ORT_LOGGING_LEVEL_ERROR, "latent");
    }

    private final String origin;
    private final SessionOptions options;
    private final Session session;
    private final MemoryInfo cpuMemory;
    private final RunOptions runOptions;
    private final String provider;
    private final boolean takesTokenTypeIds;
    private final List<String> inputNames;
    private final String outputName;
    private final int outputRank;
    private final long outputDim;
    private final PointerPointer<BytePointer> inputNamesPtr;
    private final PointerPointer<BytePointer> outputNamesPtr;
    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private boolean closed;

    /**
     * Opens a session on {@code files}' ONNX model and checks its inputs against {@code spec}.
     *
     * @param intraOpThreads ONNX Runtime intra-op threads (>= 1)
     * @param concurrentRuns how many threads will call {@link #run} at once; above 1, idle intra-op threads
     *                       do not spin, so they do not steal the cores the other runs need
     */
    static OnnxSession open(ModelFiles files, ModelSpec spec, int intraOpThreads, int concurrentRuns, Provider request) {
        Env env = EnvHolder.ENV;
        String origin = files.describeOnnx();
        boolean cudaBuilt = availableProviders().contains("CUDAExecutionProvider");
        String reason;
        SessionOptions options = null;
        Session session = null;
        String provider = "CPU";
        if (request == Provider.CPU) {
            reason = "requested";
        } else if (!cudaBuilt) {
            if (request == Provider.CUDA) {
                throw new IllegalStateException("CUDA execution provider requested, but this ONNX Runtime build has "
                        + "none (build with the Maven profile gpu for the CUDA build of ONNX Runtime)");
            }
            reason = "CUDA provider not in this ONNX Runtime build";
        } else {
            options = options(intraOpThreads, concurrentRuns);
            try {
                try (OrtCUDAProviderOptions cuda = new OrtCUDAProviderOptions()) {
                    options.AppendExecutionProvider_CUDA(cuda); // copies the options; device 0, defaults
                }
                session = newSession(env, files, options);
                provider = "CUDA";
                reason = request == Provider.CUDA ? "requested" : "CUDA provider in this build and a device accepted the session";
            } catch (RuntimeException e) {
                options.close();
                options = null;
                if (request == Provider.CUDA) {
                    throw new IllegalStateException("CUDA execution provider requested but failed for " + origin + ": "
                            + e.getMessage(), e);
                }
                reason = "CUDA provider failed: " + firstLine(e.getMessage());
            }
        }
        if (session == null) {
            options = options(intraOpThreads, concurrentRuns);
            try {
                session = newSession(env, files, options);
            } catch (RuntimeException e) {
                options.close();
                throw new IllegalArgumentException("ONNX Runtime cannot load model " + origin + ": "
                        + firstLine(e.getMessage()), e);
            }
        }
        try {
            OnnxSession s = new OnnxSession(origin, options, session, provider, spec);
            LOG.info("ONNX Runtime: " + provider + " provider (" + reason + "); model " + spec.name()
                    + ", intra-op threads " + intraOpThreads + ", concurrent runs " + concurrentRuns);
            return s;
        } catch (RuntimeException e) {
            session.close();
            options.close();
            throw e;
        }
    }

    /** System property with extra session config entries, {@code key=value;key=value}. */
    static final String CONFIG_PROPERTY = "latent.encode.ortConfig";

    private static SessionOptions options(int intraOpThreads, int concurrentRuns) {
        SessionOptions o = new SessionOptions();
        o.SetGraphOptimizationLevel(ORT_ENABLE_ALL);
        o.SetExecutionMode(ORT_SEQUENTIAL);
        o.SetIntraOpNumThreads(Math.max(1, intraOpThreads));
        o.SetInterOpNumThreads(1);
        if (concurrentRuns > 1) {
            o.AddConfigEntry("session.intra_op.allow_spinning", "0");
        }
        // Extra ONNX Runtime session config entries, "key=value;key=value" (for example
        // session.set_denormal_as_zero=1), for tuning without code changes.
        String extra = System.getProperty(CONFIG_PROPERTY, "").trim();
        for (String entry : extra.isEmpty() ? new String[0] : extra.split(";")) {
            int eq = entry.indexOf('=');
            if (eq <= 0) {
                o.close();
                throw new IllegalArgumentException(CONFIG_PROPERTY + ": expected key=value, got '" + entry + "'");
            }
            o.AddConfigEntry(entry.substring(0, eq).trim(), entry.substring(eq + 1).trim());
        }
        return o;
    }

    private static Session newSession(Env env, ModelFiles files, SessionOptions options) {
        if (files.onnxPath() != null) {
            try (BytePointer path = new BytePointer(files.onnxPath().toString())) {
                return new Session(env, path, options);
            }
        }
        try (BytePointer data = files.onnxNative()) {
            return new Session(env, data, data.limit(), options);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("cannot read model " + files.describeOnnx() + ": " + e.getMessage(), e);
        }
    }

    private static List<String> availableProviders() {
        List<String> names = new ArrayList<>();
        try (StringVector v = GetAvailableProviders()) {
            for (long i = 0; i < v.size(); i++) {
                names.add(v.get(i).getString());
            }
        }
        return names;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "(no message)";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private OnnxSession(String origin, SessionOptions options, Session session, String provider, ModelSpec spec) {
        this.origin = origin;
        this.options = options;
        this.session = session;
        this.provider = provider;
        this.inputNames = names(session.GetInputNames());
        List<String> outputs = names(session.GetOutputNames());

        // Inputs: input_ids and attention_mask always; token_type_ids as the manifest says, or as found.
        boolean hasTypes = inputNames.contains("token_type_ids");
        List<String> expected = new ArrayList<>(List.of("input_ids", "attention_mask"));
        Boolean wantTypes = spec.tokenTypeIds();
        if (wantTypes == null ? hasTypes : wantTypes) {
            expected.add("token_type_ids");
        }
        if (!inputNames.containsAll(expected) || !expected.containsAll(inputNames)) {
            throw new IllegalArgumentException("model file " + origin + " has inputs " + inputNames
                    + ", but model '" + spec.name() + "' expects " + expected
                    + (wantTypes == null ? "" : " (manifest tokenTypeIds=" + wantTypes + ")"));
        }
        for (int i = 0; i < inputNames.size(); i++) {
            int type = elementType(session.GetInputTypeInfo(i));
            if (type != ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64) {
                throw new IllegalArgumentException("model file " + origin + ": input " + inputNames.get(i)
                        + " has element type " + type + ", expected int64 (" + ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 + ")");
            }
        }
        this.takesTokenTypeIds = expected.contains("token_type_ids");

        // Output: last_hidden_state [B, T, H] when the export has it, else its first float output.
        int chosen = outputs.indexOf("last_hidden_state");
        if (chosen < 0) {
            chosen = outputs.indexOf("token_embeddings");
        }
        if (chosen < 0) {
            chosen = 0;
        }
        long[] shape;
        int type;
        try (TypeInfo info = session.GetOutputTypeInfo(chosen)) {
            var tensor = info.GetTensorTypeAndShapeInfo();
            type = tensor.GetElementType();
            try (LongVector dims = tensor.GetShape()) {
                shape = dims.get();
            }
        }
        if (type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || (shape.length != 3 && shape.length != 2)) {
            throw new IllegalArgumentException("model file " + origin + ": output " + outputs.get(chosen)
                    + " is not a float [batch, tokens, hidden] or [batch, hidden] tensor (element type " + type
                    + ", rank " + shape.length + "); outputs: " + outputs);
        }
        this.outputName = outputs.get(chosen);
        this.outputRank = shape.length;
        this.outputDim = shape[shape.length - 1];

        this.cpuMemory = MemoryInfo.CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
        this.runOptions = new RunOptions();
        this.inputNamesPtr = takesTokenTypeIds
                ? new PointerPointer<>("input_ids", "attention_mask", "token_type_ids")
                : new PointerPointer<>("input_ids", "attention_mask");
        this.outputNamesPtr = new PointerPointer<>(outputName);
    }

    private static List<String> names(StringVector v) {
        try (v) {
            List<String> out = new ArrayList<>();
            for (long i = 0; i < v.size(); i++) {
                out.add(v.get(i).getString());
            }
            return List.copyOf(out);
        }
    }

    private static int elementType(TypeInfo info) {
        try (info) {
            return info.GetTensorTypeAndShapeInfo().GetElementType();
        }
    }

    /** "CPU" or "CUDA". */
    String provider() {
        return provider;
    }

    /** Whether {@link #run} feeds {@code token_type_ids}. */
    boolean takesTokenTypeIds() {
        return takesTokenTypeIds;
    }

    /** The model's input names, in model order. */
    List<String> inputNames() {
        return inputNames;
    }

    /** Name of the output that {@link #run} returns. */
    String outputName() {
        return outputName;
    }

    /** 3 for per-token hidden states {@code [B, T, H]}, 2 for a pooled {@code [B, H]}. */
    int outputRank() {
        return outputRank;
    }

    /** Output width {@code H} as the model declares it, or -1 when the model leaves it symbolic. */
    long declaredOutputDim() {
        return outputDim;
    }

    /** Native input buffers for one worker; grow on demand, reused across runs. Not thread-safe. */
    static final class Inputs implements AutoCloseable {
        private LongPointer ids = new LongPointer(1);
        private LongPointer mask = new LongPointer(1);
        private LongPointer types = new LongPointer(1);
        private long capacity = 1;

        /** Copies a padded batch ({@code batch × seqLen}, row-major) into native memory. */
        void set(long[] inputIds, long[] attentionMask, long[] typeIds, int batch, int seqLen) {
            long n = (long) batch * seqLen;
            if (n > capacity) {
                close();
                long c = Math.max(n, capacity * 2);
                ids = new LongPointer(c);
                mask = new LongPointer(c);
                types = new LongPointer(c);
                capacity = c;
            }
            ids.position(0).put(inputIds, 0, (int) n);
            mask.position(0).put(attentionMask, 0, (int) n);
            types.position(0).put(typeIds, 0, (int) n);
        }

        @Override
        public void close() {
            ids.close();
            mask.close();
            types.close();
        }
    }

    /**
     * The output of one run, in host memory. Owns the native output tensor until {@link #close()}.
     *
     * <p>Seam for GPU residency: with the CUDA provider, {@link #run} could bind this output to device memory
     * through an {@code IoBinding} ({@code BindOutput(name, cudaMemoryInfo)}) and hand its device pointer to a
     * pooling kernel, so vectors never cross to the host before search. Callers only see {@link #shape()} and
     * {@link #hostData()}; a device-side variant would add a device pointer next to them.
     */
    static final class Output implements AutoCloseable {
        private final ValueVector values;
        /**
         * The output tensor. {@code ValueVector.get} is {@code @StdMove}: it moves the tensor out of the
         * vector into a new native {@code Ort::Value} owned by this Java object, so it must be closed here;
         * left to the garbage collector, each batch's output (about 1 MB) stayed allocated until a
         * collection happened to run, and resident memory grew with the corpus.
         */
        private final Value value;
        private final long[] shape;
        private final FloatBuffer data;

        private Output(ValueVector values) {
            this.values = values;
            this.value = values.get(0);
            try (TensorTypeAndShapeInfo info = value.GetTensorTypeAndShapeInfo(); LongVector dims = info.GetShape()) {
                this.shape = dims.get();
            } catch (RuntimeException | Error e) {
                value.close();
                throw e;
            }
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            FloatPointer p = value.GetTensorMutableDataFloat();
            this.data = p.capacity(n).asBuffer();
        }

        /** {@code [B, T, H]} or {@code [B, H]}. */
        long[] shape() {
            return shape;
        }

        /** Row-major float data, valid until {@link #close()}. */
        FloatBuffer hostData() {
            return data;
        }

        @Override
        public void close() {
            try {
                value.close();
            } finally {
                values.close();
            }
        }
    }

    /**
     * Runs the model on the batch held by {@code in}. Thread-safe; the returned output must be closed by the
     * caller.
     */
    Output run(Inputs in, int batch, int seqLen) {
        lock.readLock().lock();
        try {
            if (closed) {
                throw new IllegalStateException("OnnxSession on " + origin + " is closed");
            }
            int count = takesTokenTypeIds ? 3 : 2;
            long[] shape = {batch, seqLen};
            long bytes = (long) batch * seqLen * Long.BYTES;
            try (Value values = new Value(count)) {
                LongPointer[] buffers = {in.ids, in.mask, in.types};
                for (int i = 0; i < count; i++) {
                    try (Value t = Value.CreateTensor(cpuMemory.asOrtMemoryInfo(), buffers[i].position(0), bytes, shape,
                            2, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64)) {
                        values.position(i).put(t);
                    }
                }
                values.position(0);
                ValueVector out = session.Run(runOptions, inputNamesPtr, values, count, outputNamesPtr, 1);
                try {
                    return new Output(out);
                } catch (RuntimeException | Error e) {
                    out.close();
                    throw e;
                }
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            session.close();
            options.close();
            cpuMemory.close();
            runOptions.close();
            inputNamesPtr.close();
            outputNamesPtr.close();
        } finally {
            lock.writeLock().unlock();
        }
    }
}
