package dev.latent.cli;

import dev.latent.corpus.Corpus;
import dev.latent.corpus.CorpusTexts;
import dev.latent.job.RecordSource;
import dev.latent.job.ShardedEmbedding;
import dev.latent.index.Filter;
import dev.latent.space.Record;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Neighbors;
import dev.latent.encode.text.TextEncoder;
import dev.latent.space.AtomicOutput;
import dev.latent.index.VectorIndex;
import dev.latent.space.format.Npy;
import dev.latent.index.IvfIndex;
import dev.latent.index.RangeResults;
import dev.latent.index.SearchParams;
import dev.latent.compute.TooManyResultsException;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import static dev.latent.cli.Usage.usage;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code latent search}: queries (texts or vectors) → nearest ids and scores, as TSV or JSONL. */
@Command(name = "search", mixinStandardHelpOptions = true,
        header = "Search an index with query texts or vectors.",
        description = {"Search an index with query texts (encoded with the index's model unless --model/--onnx) or "
                        + "query vectors (--queries-npy). Prints query, rank, id, score, and each hit's key and text from the "
                + "index's records (or from --corpus for an index made without them)."})
final class SearchCommand extends ModelCommand {
    private static final ObjectMapper JSON = new ObjectMapper();


    @Parameters(index = "0", paramLabel = "INDEX.lidx", description = "The index file (or a finished 'embed --shards' run's manifest.json).")
    Path indexFile;

    @Option(names = "--query", paramLabel = "TEXT", description = "A query text (repeatable).")
    List<String> queries = new ArrayList<>();

    @Option(names = "--queries", paramLabel = "FILE", description = "Query texts: one per line, or JSONL with \"text\".")
    Path queriesFile;

    @Option(names = "--queries-npy", paramLabel = "FILE.npy", description = "Query vectors (.npy).")
    Path queriesNpy;

    @Option(names = "-k", paramLabel = "K", defaultValue = "10", description = "Results per query (default: ${DEFAULT-VALUE}).")
    int k;

    @Option(names = "--radius", paramLabel = "R", description = "Range search instead of top-k: every vector with score >= R (ip, cosine) or squared distance <= R (l2).")
    Float radius;

    @Option(names = "--nprobe", paramLabel = "N", description = "For an ivf index: lists probed per query (default: the index's "
            + "own, set by 'latent index --nprobe'); more finds more of the true neighbours, slower. Ignored by a flat index.")
    Integer nprobe;

    @Option(names = "--rerank", paramLabel = "R", description = "For an index with codes (index --sq8): candidates per result "
            + "re-ranked exactly (default: 4); more finds more of the true neighbours, slower.")
    Integer rerank;

    @Option(names = "--format", paramLabel = "FMT", defaultValue = "tsv", description = "tsv or jsonl (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", converter = OutputFile.class, description = "Write results here (default: standard output).")
    Path output;

    @Option(names = "--filter", paramLabel = "EXPR", description = "Only vectors whose payload matches, e.g. "
            + "'lang = \"en\" and year >= 2020' (operators = != < <= > >= in, exists(f), and, or, not, parentheses; "
            + "see docs/records.md).")
    String filter;

    @Option(names = "--fields", paramLabel = "NAMES", split = ",", description = "Payload fields to print with each hit "
            + "(comma-separated): TSV columns after the text, JSONL keys.")
    List<String> fields = new ArrayList<>();

    @Option(names = "--corpus", paramLabel = "FILE", description = "For an index made without records: the corpus it was embedded from, for each hit's key (corpus id) and text.")
    Path corpusFile;

    @Option(names = "--corpus-format", paramLabel = "FMT", defaultValue = "auto", description = "auto, text or jsonl.")
    String corpusFormat;

    @Mixin
    QuietOption quietOption = new QuietOption();

    /** Queries searched at once for top-k (results of one batch are written before the next). */
    private static final int QUERY_BATCH = 1024;

    @Override
    protected Integer run(CommandLine cl) throws Exception {
        int sources = (queries.isEmpty() ? 0 : 1) + (queriesFile == null ? 0 : 1) + (queriesNpy == null ? 0 : 1);
        if (sources != 1) {
            throw new CommandLine.ParameterException(cl, "give query texts (--query or --queries) or query vectors (--queries-npy), one kind");
        }
        if (radius != null && Float.isNaN(radius)) {
            throw new CommandLine.ParameterException(cl, "--radius must be a number, got NaN");
        }
        if (radius == null && k <= 0) {
            throw new CommandLine.ParameterException(cl, "-k must be >= 1, got " + k);
        }
        boolean jsonl;
        switch (format.toLowerCase(Locale.ROOT)) {
            case "tsv": jsonl = false; break;
            case "jsonl": case "json": jsonl = true; break;
            default: throw new CommandLine.ParameterException(cl, "unknown --format '" + format + "' (expected tsv or jsonl)");
        }
        new FileRoles()
                .input("index", indexFile)
                .input("--queries file", queriesFile)
                .input("--queries-npy file", queriesNpy)
                .input("--corpus file", corpusFile)
                .input("--onnx model", model.onnx)
                .input("--tokenizer file", model.tokenizer)
                .output("results output (-o)", output)
                .check(cl);
        Corpus corpus = corpusFile == null ? null : Corpus.file(corpusFile, corpusFormat);

        long start = System.nanoTime();
        try (VectorIndex index = ShardedEmbedding.openIndex(indexFile)) {
            if (rerank != null && rerank < 1) {
                throw new CommandLine.ParameterException(cl, "--rerank must be >= 1, got " + rerank);
            }
            if (nprobe != null && (nprobe < 1 || index instanceof IvfIndex ivf && nprobe > ivf.lists())) {
                throw new CommandLine.ParameterException(cl, "--nprobe must be in [1, " + (index instanceof IvfIndex ivf
                        ? ivf.lists() + "]: the index has " + ivf.lists() + " lists" : "lists]") + ", got " + nprobe);
            }
            List<String> labels = new ArrayList<>();
            FloatMatrix q;
            if (queriesNpy != null) {
                q = Npy.read(queriesNpy);
                for (long i = 0; i < q.rows(); i++) {
                    labels.add(Long.toString(i));
                }
            } else {
                List<String> texts = new ArrayList<>(queries);
                if (queriesFile != null) {
                    try (Corpus.Reader r = Corpus.file(queriesFile, "auto").open()) {
                        Corpus.Entry e;
                        while ((e = r.next()) != null) {
                            texts.add(e.text());
                        }
                    }
                }
                for (int i = 0; i < texts.size(); i++) {
                    if (dev.latent.core.Texts.isBlank(texts.get(i))) {
                        throw new CommandLine.ParameterException(cl, "query " + (i + 1) + " is empty");
                    }
                }
                labels.addAll(texts);
                try (TextEncoder enc = model.open(index.metadata())) {
                    if (enc.dimension() != index.dimension()) {
                        throw new IOException("model " + enc.modelName() + " gives vectors of dimension " + enc.dimension()
                                + ", the index holds dimension " + index.dimension());
                    }
                    q = enc.encodeQueries(texts);
                }
            }
            try (q) {
                if (q.cols() != index.dimension()) {
                    throw new IOException(queriesNpy + " has dimension " + q.cols() + ", the index has " + index.dimension());
                }
                RecordSource texts = RecordSource.of(index,
                        corpus == null || index.hasRecords() ? null : new CorpusTexts(corpus));
                if (!fields.isEmpty() && !texts.available()) {
                    throw new CommandLine.ParameterException(cl, "--fields: the index has no records (embed it again, "
                            + "or give --corpus)");
                }
                long results;
                try (Results out = new Results(jsonl, texts.available() ? texts : null)) {
                    int nq = Math.toIntExact(q.rows());
                    if (radius != null) {
                        long limit = rangeLimit();
                        for (int i = 0; i < nq; i++) {
                            RangeResults rr;
                            try (FloatMatrix one = q.rowsView(i, i + 1)) {
                                rr = (RangeResults) index.search(one, SearchParams.within(radius).maxResults(limit));
                            } catch (TooManyResultsException e) {
                                throw new IOException("query " + (i + 1) + " has more than " + limit
                                        + " vectors within --radius " + radius + ", more results than fit in memory; "
                                        + "narrow the radius, or ask for the nearest -k instead");
                            }
                            out.write(labels.get(i), rr.ids(0), rr.scores(0));
                        }
                    } else {
                        SearchParams params = SearchParams.topK(k);
                        if (filter != null) {
                            params = params.filter(usage(cl, () -> Filter.parse(filter)));
                        }
                        params = nprobe == null ? params : params.nprobe(nprobe);
                        params = rerank == null ? params : params.rerank(rerank);
                        for (int q0 = 0; q0 < nq; q0 += QUERY_BATCH) {
                            int q1 = Math.min(nq, q0 + QUERY_BATCH);
                            Neighbors nb;
                            try (FloatMatrix view = q.rowsView(q0, q1)) {
                                final SearchParams p = params;
                                nb = (Neighbors) usage(cl, () -> index.search(view, p));
                            }
                            for (int i = 0; i < q1 - q0; i++) {
                                out.write(labels.get(q0 + i), nb.ids(i), nb.scores(i));
                            }
                        }
                    }
                    out.commit();
                    results = out.count();
                }
                if (filter != null && results == 0 && q.rows() > 0) {
                    spec.commandLine().getErr().println("note: the filter matches no vector, so there are no results");
                }
                if (!quietOption.quiet) {
                    spec.commandLine().getErr().printf(Locale.ROOT, "searched %s over %s: %s in %.2f s (%s backend)%n",
                            Counts.of(q.rows(), "query", "queries"), Counts.of(index.size(), "vector", "vectors"),
                            Counts.of(results, "result", "results"), (System.nanoTime() - start) / 1e9, index.backend().name());
                }
            }
        }
        return Main.OK;
    }

    /**
     * Results one range query may hold: about a 64th of the heap the JVM may use (a hit costs 8 bytes
     * while collected and 12 once sorted, and the list doubles as it grows).
     */
    static long rangeLimit() {
        String forced = System.getProperty("latent.search.maxRangeResults");
        if (forced != null) {
            return Long.parseLong(forced);
        }
        return Math.max(1 << 20, Runtime.getRuntime().maxMemory() / 64);
    }

    /** Writes results as they come, to standard output or atomically to {@code -o}. Not thread-safe. */
    private final class Results implements AutoCloseable {
        private final boolean jsonl;
        private final RecordSource texts;
        private final AtomicOutput file;
        private final Writer w;
        private long n;

        Results(boolean jsonl, RecordSource texts) throws IOException {
            this.jsonl = jsonl;
            this.texts = texts;
            this.file = output == null ? null : AtomicOutput.open(output);
            this.w = file == null ? spec.commandLine().getOut()
                    : new BufferedWriter(Channels.newWriter(file.channel(), StandardCharsets.UTF_8), 1 << 16);
            if (!jsonl) {
                StringBuilder h = new StringBuilder("query\trank\tid\tscore");
                if (texts != null) {
                    h.append("\tkey\ttext");
                    fields.forEach(f -> h.append('\t').append(tsv(f)));
                }
                w.write(h.append('\n').toString());
            }
        }

        void write(String label, long[] ids, float[] scores) throws IOException {
            for (int r = 0; r < ids.length; r++) {
                Record e = texts == null ? null : texts.get(ids[r]);
                Object[] values = RecordSource.fields(e, fields);
                if (jsonl) {
                    ObjectNode o = JSON.createObjectNode();
                    o.put("query", label);
                    o.put("rank", r + 1);
                    o.put("id", ids[r]);
                    o.put("score", scores[r]);
                    if (texts != null) {
                        o.put("key", e == null ? null : e.key());
                        o.put("text", e == null ? null : e.text());
                        for (int f = 0; f < values.length; f++) {
                            o.set(fields.get(f), JSON.valueToTree(values[f]));
                        }
                    }
                    w.write(JSON.writeValueAsString(o));
                } else {
                    w.write(tsv(label) + "\t" + (r + 1) + "\t" + ids[r] + "\t" + scores[r]);
                    if (texts != null) {
                        w.write("\t" + (e == null ? "" : tsv(e.key())) + "\t" + (e == null || e.text() == null ? "" : tsv(e.text())));
                        for (Object v : values) {
                            w.write("\t" + (v == null ? "" : v instanceof List<?> l
                                    ? tsv(String.join(",", l.stream().map(String::valueOf).toList())) : tsv(String.valueOf(v))));
                        }
                    }
                }
                w.write('\n');
                n++;
            }
            if (w instanceof PrintWriter pw && pw.checkError()) {
                throw new IOException("cannot write to standard output");
            }
        }

        long count() {
            return n;
        }

        void commit() throws IOException {
            w.flush();
            if (w instanceof PrintWriter pw && pw.checkError()) {
                throw new IOException("cannot write to standard output");
            }
            if (file != null) {
                file.commit();
            }
        }

        @Override
        public void close() throws IOException {
            if (file != null) {
                file.close();
            }
        }
    }

    /** Tabs and line breaks inside a TSV field become spaces. */
    static String tsv(String s) {
        return s.replace('\t', ' ').replace('\n', ' ').replace('\r', ' ');
    }
}
