package dev.latent.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.latent.compute.Backend;
import dev.latent.compute.Backends;
import dev.latent.compute.ResidentMatrix;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import java.io.BufferedWriter;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Times exact k-NN on the process's compute backend over a list of cases, on {@link BenchData}
 * (so another program can rebuild the same data from the seed), and writes one JSON line per case.
 * It is our side of {@code bench_torch.py} in the GPU bundle; it runs on any backend
 * ({@code -Dlatent.backend=cuda|cpu|java}).
 *
 * <p>Cases come as JSON lines: {@code {"id": "c1", "n": 1000000, "d": 384, "q": 1000, "k": 10,
 * "metric": "ip"}} (metric {@code ip}, {@code cosine} or {@code l2}). Consecutive cases with the
 * same n, d and metric share one prepared database (made and uploaded once). Each case: one
 * warm-up search, then at least {@code --repeats} timed searches (more while under
 * {@code --min-seconds}, at most {@code --max-repeats}, fewer when one search takes longer than
 * {@code --case-seconds}). A timed search is the whole call: queries from host memory to results
 * in host memory.
 *
 * <p>Result lines carry the case's fields plus {@code status} ({@code ok}, {@code error} with
 * {@code error}, or {@code skipped} past {@code --budget-seconds}), {@code times_ms},
 * {@code median_ms}, {@code min_ms}, {@code max_ms}, {@code prepare_ms} (data upload and norms,
 * once per database) and {@code backend}. With {@code --dump DIR}, the first
 * {@code --check-queries} queries' results go to {@code DIR/<id>.ids} (int64) and
 * {@code DIR/<id>.scores} (float32), little-endian, row-major {@code queries × count}.
 */
@Command(name = "knn-bench", mixinStandardHelpOptions = true,
        description = "Times exact k-NN on the compute backend over JSON-lines cases (see bench_torch.py).")
public final class KnnBench implements Callable<Integer> {
    @Option(names = "--cases", required = true, description = "JSON lines, one case each")
    Path cases;

    @Option(names = "--out", required = true, description = "JSON lines written here, one per case (appended)")
    Path out;

    @Option(names = "--dump", description = "folder for the first queries' results, for cross-checks")
    Path dump;

    @Option(names = "--check-queries", defaultValue = "32", description = "queries dumped per case (default 32)")
    int checkQueries;

    @Option(names = "--seed", defaultValue = "42", description = "BenchData seed (default 42)")
    long seed;

    @Option(names = "--repeats", defaultValue = "3", description = "timed searches per case, at least (default 3)")
    int repeats;

    @Option(names = "--max-repeats", defaultValue = "20", description = "timed searches per case, at most")
    int maxRepeats;

    @Option(names = "--min-seconds", defaultValue = "0.5", description = "keep timing until this long")
    double minSeconds;

    @Option(names = "--case-seconds", defaultValue = "20",
            description = "stop timing a case after this long (at least one timed search)")
    double caseSeconds;

    @Option(names = "--budget-seconds", defaultValue = "0",
            description = "skip databases not started within this many seconds (0: no limit)")
    double budgetSeconds;

    @Option(names = "--threads", description = "threads generating data (default: available processors)")
    Integer threads;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private final ObjectMapper json = new ObjectMapper();

    /** One case of the input. */
    record Case(String id, long n, int d, int q, int k, Metric metric, ObjectNode raw) {
        boolean sameDatabase(Case o) {
            return n == o.n && d == o.d && metric == o.metric;
        }
    }

    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new KnnBench());
        // A bad case file or a failed backend is one line, not a stack trace.
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            line.getErr().println("knn-bench: error: " + e.getMessage());
            return 2;
        });
        System.exit(cl.execute(args));
    }

    @Override
    public Integer call() throws IOException {
        List<Case> all = readCases();
        Backend backend = Backends.get();
        PrintWriter log = spec.commandLine().getErr();
        log.println("knn-bench: backend " + backend.description() + ", " + all.size() + " cases, seed " + seed);
        int dataThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        if (dump != null) {
            Files.createDirectories(dump);
        }
        long start = System.nanoTime();
        int failed = 0;
        try (BufferedWriter w = Files.newBufferedWriter(out, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND)) {
            for (int g = 0; g < all.size(); ) {
                int end = g + 1;
                while (end < all.size() && all.get(end).sameDatabase(all.get(g))) {
                    end++;
                }
                List<Case> group = all.subList(g, end);
                boolean firstGroup = g == 0;
                g = end;
                double elapsed = (System.nanoTime() - start) / 1e9;
                if (budgetSeconds > 0 && !firstGroup && elapsed > budgetSeconds) {
                    for (Case c : group) {
                        ObjectNode r = result(c, backend);
                        r.put("status", "skipped");
                        r.put("error", String.format(Locale.ROOT, "time budget of %.0f s spent", budgetSeconds));
                        write(w, r);
                    }
                    continue;
                }
                failed += runGroup(group, backend, dataThreads, w, log);
            }
        }
        log.printf(Locale.ROOT, "knn-bench: done in %.1f s, %d failed%n", (System.nanoTime() - start) / 1e9, failed);
        return failed == 0 ? 0 : 1;
    }

    private int runGroup(List<Case> group, Backend backend, int dataThreads, BufferedWriter w, PrintWriter log)
            throws IOException {
        Case first = group.get(0);
        int maxQ = group.stream().mapToInt(Case::q).max().orElse(1);
        long t0 = System.nanoTime();
        FloatMatrix db = null;
        FloatMatrix queries = null;
        ResidentMatrix prepared = null;
        int failed = 0;
        try {
            db = BenchData.matrix(first.n, first.d, seed, BenchData.DATABASE, dataThreads);
            queries = BenchData.matrix(maxQ, first.d, seed, BenchData.QUERIES, dataThreads);
            double genMs = (System.nanoTime() - t0) / 1e6;
            long t1 = System.nanoTime();
            prepared = backend.upload(db, first.metric);
            double prepareMs = (System.nanoTime() - t1) / 1e6;
            log.printf(Locale.ROOT, "knn-bench: n=%d d=%d %s: data %.0f ms, prepare %.0f ms%n", first.n, first.d,
                    first.metric, genMs, prepareMs);
            for (Case c : group) {
                ObjectNode r = result(c, backend);
                r.put("prepare_ms", prepareMs);
                try (FloatMatrix qv = queries.rowsView(0, c.q)) {
                    time(c, prepared, qv, r);
                    log.printf(Locale.ROOT, "knn-bench: %s n=%d d=%d q=%d k=%d %s: median %.3f ms%n", c.id, c.n, c.d,
                            c.q, c.k, c.metric, r.get("median_ms").asDouble());
                } catch (RuntimeException | OutOfMemoryError e) {
                    failed++;
                    r.put("status", "error");
                    r.put("error", String.valueOf(e));
                    log.println("knn-bench: " + c.id + " failed: " + e);
                }
                write(w, r);
            }
        } catch (RuntimeException | OutOfMemoryError e) {
            log.println("knn-bench: database n=" + first.n + " d=" + first.d + " " + first.metric + " failed: " + e);
            for (Case c : group) {
                ObjectNode r = result(c, backend);
                r.put("status", "error");
                r.put("error", String.valueOf(e));
                write(w, r);
                failed++;
            }
        } finally {
            if (prepared != null) {
                prepared.close();
            }
            if (queries != null) {
                queries.close();
            }
            if (db != null) {
                db.close();
            }
        }
        return failed;
    }

    private void time(Case c, ResidentMatrix db, FloatMatrix queries, ObjectNode r) throws IOException {
        long w0 = System.nanoTime();
        Neighbors first = db.search(queries, c.k);
        r.put("warmup_ms", (System.nanoTime() - w0) / 1e6);
        if (dump != null) {
            dump(c, first);
        }
        List<Double> times = new ArrayList<>();
        long caseStart = System.nanoTime();
        while (times.size() < maxRepeats) {
            long t = System.nanoTime();
            Neighbors nb = db.search(queries, c.k);
            times.add((System.nanoTime() - t) / 1e6);
            Objects.requireNonNull(nb);
            double spent = (System.nanoTime() - caseStart) / 1e9;
            if (spent >= caseSeconds || (times.size() >= repeats && spent >= minSeconds)) {
                break;
            }
        }
        double[] sorted = times.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        ArrayNode arr = r.putArray("times_ms");
        for (double t : times) {
            arr.add(t);
        }
        int n = sorted.length;
        r.put("median_ms", n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2);
        r.put("min_ms", sorted[0]);
        r.put("max_ms", sorted[n - 1]);
        r.put("status", "ok");
    }

    private void dump(Case c, Neighbors nb) throws IOException {
        int qs = Math.min(checkQueries, nb.queries());
        int count = nb.count();
        ByteBuffer ids = ByteBuffer.allocate(qs * count * 8).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer scores = ByteBuffer.allocate(qs * count * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int q = 0; q < qs; q++) {
            for (int i = 0; i < count; i++) {
                ids.putLong(nb.id(q, i));
                scores.putFloat(nb.score(q, i));
            }
        }
        writeFile(dump.resolve(c.id + ".ids"), ids.array());
        writeFile(dump.resolve(c.id + ".scores"), scores.array());
    }

    private static void writeFile(Path path, byte[] bytes) throws IOException {
        try (OutputStream o = new DataOutputStream(Files.newOutputStream(path))) {
            o.write(bytes);
        }
    }

    private ObjectNode result(Case c, Backend backend) {
        ObjectNode r = c.raw.deepCopy();
        r.put("backend", backend.name());
        r.put("backend_description", backend.description());
        r.put("seed", seed);
        return r;
    }

    private void write(BufferedWriter w, ObjectNode r) throws IOException {
        w.write(json.writeValueAsString(r));
        w.newLine();
        w.flush();
    }

    private List<Case> readCases() throws IOException {
        List<Case> list = new ArrayList<>();
        int line = 0;
        for (String s : Files.readAllLines(cases, StandardCharsets.UTF_8)) {
            line++;
            if (s.isBlank()) {
                continue;
            }
            String where = cases + ":" + line + ": ";
            JsonNode node;
            try {
                node = json.readTree(s);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalArgumentException(where + "not JSON: " + e.getOriginalMessage());
            }
            if (!(node instanceof ObjectNode o)) {
                throw new IllegalArgumentException(where + "not a JSON object");
            }
            for (String f : List.of("id", "n", "d", "q", "k", "metric")) {
                if (!o.hasNonNull(f)) {
                    throw new IllegalArgumentException(where + "missing field \"" + f + "\"");
                }
            }
            Metric metric = switch (o.get("metric").asText().toLowerCase(Locale.ROOT)) {
                case "ip" -> Metric.INNER_PRODUCT;
                case "cosine", "cos" -> Metric.COSINE;
                case "l2" -> Metric.L2;
                default -> throw new IllegalArgumentException(where + "metric must be ip, cosine or l2, got "
                        + o.get("metric"));
            };
            Case c = new Case(o.get("id").asText(), o.get("n").asLong(), o.get("d").asInt(), o.get("q").asInt(),
                    o.get("k").asInt(), metric, o);
            if (c.n < 1 || c.d < 1 || c.q < 1 || c.k < 1 || !c.id.matches("[A-Za-z0-9_.-]+")) {
                throw new IllegalArgumentException(where + "n, d, q and k must be >= 1 and the id a plain name: " + s);
            }
            list.add(c);
        }
        if (list.isEmpty()) {
            throw new IllegalArgumentException(cases + ": no cases");
        }
        return list;
    }
}
