package dev.latent.encode.onnx;

import static org.bytedeco.onnxruntime.global.onnxruntime.GetAvailableProviders;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_ENABLE_ALL;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_LOGGING_LEVEL_ERROR;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_SEQUENTIAL;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtArenaAllocator;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtDeviceAllocator;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtMemTypeDefault;

import dev.latent.encode.ModelFiles;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.onnxruntime.Env;
import org.bytedeco.onnxruntime.IoBinding;
import org.bytedeco.onnxruntime.LongVector;
import org.bytedeco.onnxruntime.MemoryInfo;
import org.bytedeco.onnxruntime.OrtCUDAProviderOptions;
import org.bytedeco.onnxruntime.RunOptions;
import org.bytedeco.onnxruntime.Session;
import org.bytedeco.onnxruntime.SessionOptions;
import org.bytedeco.onnxruntime.StringVector;
import org.bytedeco.onnxruntime.TypeInfo;
import org.bytedeco.onnxruntime.Value;
import org.bytedeco.onnxruntime.ValueVector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ONNX Runtime session on any ONNX model: named tensors in, named tensors out, any element type. With
 * {@link Feeds} and {@link Outputs} this package is the only code of Latent that touches
 * {@code org.bytedeco.onnxruntime}; what a model <em>means</em> (a text encoder's token inputs, an image
 * encoder's pixels) is checked by the encoder built on it, against {@link #inputs()} and {@link #outputs()}.
 *
 * <pre>{@code
 * try (OnnxModel m = OnnxModel.open(files, OnnxModel.Options.cpu(1));
 *      Feeds in = new Feeds()) {
 *     in.floats("pixel_values", pixels, 8, 3, 224, 224);
 *     try (Outputs out = m.run(in, "image_embeds")) {
 *         FloatBuffer v = out.floats(0);
 *     }
 * }
 * }</pre>
 *
 * <p><b>Session options</b> are set deliberately: graph optimisation {@code ORT_ENABLE_ALL}, sequential
 * execution with one inter-op thread (an encoder graph is a chain, nothing to run side by side), and the
 * intra-op thread count the caller chose. With one intra-op thread a {@link #run} computes entirely on the
 * calling thread, so several callers can share this one session (one copy of the weights) and run at once.
 * Extra session config entries come from the system property {@value #CONFIG_PROPERTY}; the CPU memory arena
 * can be turned off with {@value #CPU_ARENA_PROPERTY}{@code =false}.
 *
 * <p><b>Execution provider.</b> {@link Provider#AUTO}: CUDA when this ONNX Runtime build has the CUDA
 * provider (the {@code gpu} Maven profile brings that build) and a session can be made with it, else CPU.
 * {@code CPU} and {@code CUDA} force one; a forced CUDA that fails throws. One INFO line on logger
 * {@code dev.latent.encode} names the provider and the reason.
 *
 * <p><b>Outputs on the device.</b> {@link #run} returns host memory. {@link #runBound} runs through an ONNX
 * Runtime {@code IoBinding}: inputs bound from host tensors, outputs bound to host memory or, with the CUDA
 * provider, to device memory ({@code BindOutput(name, cudaMemoryInfo)}), so that a pooling kernel can read
 * the token embeddings where the model left them ({@link Outputs#address}) and vectors never cross to the
 * host before search.
 *
 * <p><b>Ownership and threads.</b> The process-wide {@link Env} lives until the JVM exits (ONNX Runtime wants
 * one per process). Everything else native is owned here and freed by {@link #close()}, exactly once.
 * {@link #run} is safe from any number of threads at once, each with its own {@link Feeds}; {@link #close()}
 * waits for runs in flight, and use after close throws {@link IllegalStateException}.
 */
public final class OnnxModel implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger("dev.latent.encode");

    /** System property with extra session config entries, {@code key=value;key=value}. */
    public static final String CONFIG_PROPERTY = "latent.encode.ortConfig";

    /**
     * System property: {@code false} turns off ONNX Runtime's CPU memory arena, which keeps the memory of the
     * largest batch shape seen (so resident memory rises in steps to that peak and stays); without it each run
     * allocates and frees its own buffers, for less memory at some cost in speed.
     */
    public static final String CPU_ARENA_PROPERTY = "latent.encode.cpuArena";

    /**
     * How to open a session.
     *
     * @param intraOpThreads ONNX Runtime intra-op threads (>= 1)
     * @param concurrentRuns how many threads will call {@link #run} at once; above 1, idle intra-op threads
     *                       do not spin, so they do not steal the cores the other runs need
     * @param provider       which execution provider
     */
    public record Options(int intraOpThreads, int concurrentRuns, Provider provider) {
        public Options {
            if (intraOpThreads < 1 || concurrentRuns < 1) {
                throw new IllegalArgumentException("intraOpThreads and concurrentRuns must be >= 1, got "
                        + intraOpThreads + " and " + concurrentRuns);
            }
            java.util.Objects.requireNonNull(provider, "provider");
        }

        /** CPU provider, {@code threads} intra-op threads, one caller at a time. */
        public static Options cpu(int threads) {
            return new Options(threads, 1, Provider.CPU);
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
    private MemoryInfo cudaMemory;   // made on the first runBound to the device; guarded by this
    private final RunOptions runOptions;
    private final String provider;
    private final List<TensorInfo> inputs;
    private final List<TensorInfo> outputs;
    private final PointerPointer<BytePointer> inputNames;
    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private boolean closed;

    /**
     * Opens a session on {@code files}' ONNX model.
     *
     * @throws IllegalArgumentException when ONNX Runtime cannot load the file (the message names it)
     * @throws IllegalStateException    when CUDA was forced and is not available
     */
    public static OnnxModel open(ModelFiles files, Options o) {
        Env env = EnvHolder.ENV;
        String origin = files.describeOnnx();
        boolean cudaBuilt = availableProviders().contains("CUDAExecutionProvider");
        String reason;
        SessionOptions options = null;
        Session session = null;
        String provider = "CPU";
        if (o.provider() == Provider.CPU) {
            reason = "requested";
        } else if (!cudaBuilt) {
            if (o.provider() == Provider.CUDA) {
                throw new IllegalStateException("CUDA execution provider requested, but this ONNX Runtime build has "
                        + "none (build with the Maven profile gpu for the CUDA build of ONNX Runtime)");
            }
            reason = "CUDA provider not in this ONNX Runtime build";
        } else {
            options = options(o);
            try {
                try (OrtCUDAProviderOptions cuda = new OrtCUDAProviderOptions()) {
                    options.AppendExecutionProvider_CUDA(cuda); // copies the options; device 0, defaults
                }
                session = newSession(env, files, options);
                provider = "CUDA";
                reason = o.provider() == Provider.CUDA ? "requested"
                        : "CUDA provider in this build and a device accepted the session";
            } catch (RuntimeException e) {
                options.close();
                options = null;
                if (o.provider() == Provider.CUDA) {
                    throw new IllegalStateException("CUDA execution provider requested but failed for " + origin + ": "
                            + e.getMessage(), e);
                }
                reason = "CUDA provider failed: " + firstLine(e.getMessage());
            }
        }
        if (session == null) {
            options = options(o);
            try {
                session = newSession(env, files, options);
            } catch (RuntimeException e) {
                options.close();
                throw new IllegalArgumentException("ONNX Runtime cannot load model " + origin + ": "
                        + firstLine(e.getMessage()), e);
            }
        }
        try {
            OnnxModel m = new OnnxModel(origin, options, session, provider);
            LOG.info("ONNX Runtime: " + provider + " provider (" + reason + "); model " + origin
                    + ", intra-op threads " + o.intraOpThreads() + ", concurrent runs " + o.concurrentRuns());
            return m;
        } catch (RuntimeException e) {
            session.close();
            options.close();
            throw e;
        }
    }

    private static SessionOptions options(Options o) {
        SessionOptions so = new SessionOptions();
        so.SetGraphOptimizationLevel(ORT_ENABLE_ALL);
        so.SetExecutionMode(ORT_SEQUENTIAL);
        so.SetIntraOpNumThreads(o.intraOpThreads());
        so.SetInterOpNumThreads(1);
        if ("false".equalsIgnoreCase(System.getProperty(CPU_ARENA_PROPERTY, "true").trim())) {
            so.DisableCpuMemArena();
        }
        if (o.concurrentRuns() > 1) {
            so.AddConfigEntry("session.intra_op.allow_spinning", "0");
        }
        // Extra ONNX Runtime session config entries, "key=value;key=value" (for example
        // session.set_denormal_as_zero=1), for tuning without code changes.
        String extra = System.getProperty(CONFIG_PROPERTY, "").trim();
        for (String entry : extra.isEmpty() ? new String[0] : extra.split(";")) {
            int eq = entry.indexOf('=');
            if (eq <= 0) {
                so.close();
                throw new IllegalArgumentException(CONFIG_PROPERTY + ": expected key=value, got '" + entry + "'");
            }
            so.AddConfigEntry(entry.substring(0, eq).trim(), entry.substring(eq + 1).trim());
        }
        return so;
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

    private OnnxModel(String origin, SessionOptions options, Session session, String provider) {
        this.origin = origin;
        this.options = options;
        this.session = session;
        this.provider = provider;
        List<String> in = names(session.GetInputNames());
        List<String> out = names(session.GetOutputNames());
        List<TensorInfo> ins = new ArrayList<>();
        for (int i = 0; i < in.size(); i++) {
            ins.add(info(in.get(i), session.GetInputTypeInfo(i)));
        }
        List<TensorInfo> outs = new ArrayList<>();
        for (int i = 0; i < out.size(); i++) {
            outs.add(info(out.get(i), session.GetOutputTypeInfo(i)));
        }
        this.inputs = List.copyOf(ins);
        this.outputs = List.copyOf(outs);
        this.cpuMemory = MemoryInfo.CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
        this.runOptions = new RunOptions();
        this.inputNames = new PointerPointer<>(in.toArray(new String[0]));
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

    private static TensorInfo info(String name, TypeInfo typeInfo) {
        try (typeInfo) {
            var tensor = typeInfo.GetTensorTypeAndShapeInfo();
            int code = tensor.GetElementType();
            try (LongVector dims = tensor.GetShape()) {
                return new TensorInfo(name, ElementType.ofCode(code), code, dims.get());
            }
        }
    }

    /** Where the model came from (file or jar entry), for messages. */
    public String origin() {
        return origin;
    }

    /** "CPU" or "CUDA": the execution provider in use. */
    public String provider() {
        return provider;
    }

    /** The model's inputs, in model order. */
    public List<TensorInfo> inputs() {
        return inputs;
    }

    /** The model's outputs, in model order. */
    public List<TensorInfo> outputs() {
        return outputs;
    }

    /** Names of {@link #inputs()}. */
    public List<String> inputNames() {
        return inputs.stream().map(TensorInfo::name).toList();
    }

    /** Names of {@link #outputs()}. */
    public List<String> outputNames() {
        return outputs.stream().map(TensorInfo::name).toList();
    }

    /**
     * Runs the model on {@code feeds}, which must hold exactly the model's inputs with their declared element
     * types, and returns the outputs named, in that order. Thread-safe; the caller closes the result.
     *
     * @throws IllegalArgumentException naming a missing, extra or mistyped input, or an unknown output
     */
    public Outputs run(Feeds feeds, String... outputNames) {
        lock.readLock().lock();
        try {
            checkRun(feeds, outputNames);
            int count = inputs.size();
            try (Value values = new Value(count); PointerPointer<BytePointer> outs = new PointerPointer<>(outputNames)) {
                for (int i = 0; i < count; i++) {
                    try (Value t = inputTensor(feeds, i)) {
                        values.position(i).put(t);
                    }
                }
                values.position(0);
                ValueVector out = session.Run(runOptions, inputNames, values, count, outs, outputNames.length);
                return new Outputs(List.of(outputNames), out, null, false); // closes out itself if it fails
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Where {@link #runBound} leaves the outputs. */
    public enum Placement {
        /** Host memory (as {@link #run}, through the binding). */
        HOST,
        /** The CUDA device of the session (the CUDA provider only). */
        DEVICE
    }

    /**
     * As {@link #run}, through an {@code IoBinding}: the outputs are bound to {@code placement}. With
     * {@link Placement#DEVICE} they stay in the CUDA device memory where the model computed them; read them
     * through {@link Outputs#address} (a device pointer) while the result is open. Thread-safe.
     *
     * @throws IllegalStateException for {@link Placement#DEVICE} on a session without the CUDA provider
     * @throws IllegalArgumentException as {@link #run}
     */
    public Outputs runBound(Feeds feeds, Placement placement, String... outputNames) {
        lock.readLock().lock();
        try {
            checkRun(feeds, outputNames);
            if (placement == Placement.DEVICE && !"CUDA".equals(provider)) {
                throw new IllegalStateException("outputs bound to the device need the CUDA provider; " + origin
                        + " runs on " + provider);
            }
            List<Value> bound = new ArrayList<>();
            IoBinding binding = new IoBinding(session);
            try {
                for (int i = 0; i < inputs.size(); i++) {
                    Value t = inputTensor(feeds, i);
                    bound.add(t);
                    binding.BindInput(inputs.get(i).name(), t);
                }
                MemoryInfo target = placement == Placement.DEVICE ? deviceMemory() : cpuMemory;
                for (String o : outputNames) {
                    binding.BindOutput(o, target.asOrtMemoryInfo());
                }
                session.Run(runOptions, binding);
                binding.SynchronizeOutputs();
                ValueVector out = binding.GetOutputValues();
                return new Outputs(List.of(outputNames), out, binding, placement == Placement.DEVICE);
            } catch (RuntimeException | Error e) {
                binding.close();
                throw e;
            } finally {
                bound.forEach(Value::close);
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The CUDA device the CUDA provider runs on (the provider options' default, device 0). */
    public int cudaDevice() {
        return 0;
    }

    /** CUDA device memory of {@link #cudaDevice()}, made once. */
    private MemoryInfo deviceMemory() {
        synchronized (this) {
            if (cudaMemory == null) {
                cudaMemory = new MemoryInfo("Cuda", OrtDeviceAllocator, cudaDevice(), OrtMemTypeDefault);
            }
            return cudaMemory;
        }
    }

    /** Checks a run's feeds and output names against the model; caller holds the read lock. */
    private void checkRun(Feeds feeds, String... outputNames) {
        if (closed) {
            throw new IllegalStateException("ONNX model " + origin + " is closed");
        }
        if (outputNames.length == 0) {
            throw new IllegalArgumentException("name at least one output of " + origin + "; it has "
                    + outputNames());
        }
        for (String o : outputNames) {
            if (!outputNames().contains(o)) {
                throw new IllegalArgumentException("model " + origin + " has no output '" + o + "'; outputs: "
                        + outputNames());
            }
        }
        for (String name : feeds.names()) {
            if (!inputNames().contains(name)) {
                throw new IllegalArgumentException("model " + origin + " has no input '" + name + "'; inputs: "
                        + inputs);
            }
        }
        for (TensorInfo want : inputs) {
            Feeds.Slot s = feeds.get(want.name());
            if (s == null) {
                throw new IllegalArgumentException("input '" + want.name() + "' of model " + origin
                        + " was not given; inputs: " + inputs);
            }
            if (s.type != want.type()) {
                throw new IllegalArgumentException("input '" + want.name() + "' of model " + origin
                        + " takes " + want + ", given " + s.type);
            }
        }
    }

    /** Input {@code i} as a tensor over the feed's host memory (checked by {@link #checkRun}); caller closes it. */
    private Value inputTensor(Feeds feeds, int i) {
        Feeds.Slot s = feeds.get(inputs.get(i).name());
        return Value.CreateTensor(cpuMemory.asOrtMemoryInfo(), s.data.position(0), s.bytes, s.shape, s.shape.length,
                s.type.code());
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
            synchronized (this) {
                if (cudaMemory != null) {
                    cudaMemory.close();
                }
            }
            runOptions.close();
            inputNames.close();
        } finally {
            lock.writeLock().unlock();
        }
    }
}
