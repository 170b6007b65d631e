package dev.latent.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Neighbors;
import dev.latent.encode.TextEncoder;
import dev.latent.space.AtomicOutput;
import dev.latent.space.FlatIndex;
import dev.latent.space.Npy;
import dev.latent.space.RangeResults;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code latent search}: queries (texts or vectors) → nearest ids and scores, as TSV or JSONL. */
@Command(name = "search", mixinStandardHelpOptions = true,
        description = {"Search an index with query texts (encoded with the index's model unless --model/--onnx)",
                "or query vectors (--queries-npy). Prints query, rank, id, score (and the text with --corpus)."})
final class SearchCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "INDEX.lidx", description = "The index file.")
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

    @Option(names = "--format", paramLabel = "FMT", defaultValue = "tsv", description = "tsv or jsonl (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write results here (default: standard output).")
    Path output;

    @Option(names = "--corpus", paramLabel = "FILE", description = "The corpus the index was embedded from: adds each hit's corpus id and text.")
    Path corpusFile;

    @Option(names = "--corpus-format", paramLabel = "FMT", defaultValue = "auto", description = "auto, text or jsonl.")
    String corpusFormat;

    @Option(names = {"-q", "--quiet"}, description = "No summary line on standard error.")
    boolean quiet;

    @Option(names = "--verbose", description = "Log details; print stack traces on errors.")
    boolean verbose;

    @Mixin
    ModelOptions model = new ModelOptions();

    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        model.check(cl);
        int sources = (queries.isEmpty() ? 0 : 1) + (queriesFile == null ? 0 : 1) + (queriesNpy == null ? 0 : 1);
        if (sources != 1) {
            throw new CommandLine.ParameterException(cl, "give query texts (--query or --queries) or query vectors (--queries-npy), one kind");
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
        Corpus corpus = corpusFile == null ? null : Corpus.file(corpusFile, corpusFormat);

        long start = System.nanoTime();
        try (FlatIndex index = FlatIndex.load(indexFile)) {
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
                    if (texts.get(i).isBlank()) {
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
                long[][] ids = new long[(int) q.rows()][];
                float[][] scores = new float[(int) q.rows()][];
                if (radius != null) {
                    RangeResults rr = index.rangeSearch(q, radius);
                    for (int i = 0; i < ids.length; i++) {
                        ids[i] = rr.ids(i);
                        scores[i] = rr.scores(i);
                    }
                } else {
                    Neighbors nb = index.search(q, k);
                    for (int i = 0; i < ids.length; i++) {
                        ids[i] = nb.ids(i);
                        scores[i] = nb.scores(i);
                    }
                }
                Map<Long, Corpus.Entry> texts = corpus == null ? null : lookUp(corpus, ids);
                long results = write(labels, ids, scores, texts, jsonl);
                if (!quiet) {
                    spec.commandLine().getErr().printf(Locale.ROOT, "searched %d queries over %d vectors: %d results in %.2f s (%s backend)%n",
                            ids.length, index.size(), results, (System.nanoTime() - start) / 1e9, index.backend().name());
                }
            }
        }
        return Main.OK;
    }

    /** Finds the corpus records of the hit ids (index ids as 'latent embed' assigned them). */
    static Map<Long, Corpus.Entry> lookUp(Corpus corpus, long[][] ids) throws IOException {
        Set<Long> wanted = new HashSet<>();
        for (long[] a : ids) {
            for (long id : a) {
                wanted.add(id);
            }
        }
        Embedding.Scan scan = Embedding.scan(corpus);
        Map<Long, Corpus.Entry> found = new HashMap<>();
        try (Corpus.Reader r = corpus.open()) {
            Corpus.Entry e;
            while ((e = r.next()) != null) {
                long indexId = scan.indexIds()[(int) e.position()];
                if (wanted.contains(indexId)) {
                    found.put(indexId, e);
                }
            }
        }
        return found;
    }

    private long write(List<String> labels, long[][] ids, float[][] scores, Map<Long, Corpus.Entry> texts,
            boolean jsonl) throws IOException {
        AtomicOutput file = output == null ? null : AtomicOutput.open(output);
        try {
            Writer w = file == null ? spec.commandLine().getOut()
                    : new BufferedWriter(Channels.newWriter(file.channel(), StandardCharsets.UTF_8), 1 << 16);
            long n = 0;
            if (!jsonl) {
                w.write(texts == null ? "query\trank\tid\tscore\n" : "query\trank\tid\tscore\tcorpus_id\ttext\n");
            }
            for (int q = 0; q < ids.length; q++) {
                for (int r = 0; r < ids[q].length; r++) {
                    Corpus.Entry e = texts == null ? null : texts.get(ids[q][r]);
                    if (jsonl) {
                        ObjectNode o = JSON.createObjectNode();
                        o.put("query", labels.get(q));
                        o.put("rank", r + 1);
                        o.put("id", ids[q][r]);
                        o.put("score", scores[q][r]);
                        if (texts != null) {
                            o.put("corpus_id", e == null ? null : e.id());
                            o.put("text", e == null ? null : e.text());
                        }
                        w.write(JSON.writeValueAsString(o));
                    } else {
                        w.write(tsv(labels.get(q)) + "\t" + (r + 1) + "\t" + ids[q][r] + "\t" + scores[q][r]);
                        if (texts != null) {
                            w.write("\t" + (e == null ? "" : tsv(e.id())) + "\t" + (e == null ? "" : tsv(e.text())));
                        }
                    }
                    w.write('\n');
                    n++;
                }
            }
            w.flush();
            if (w instanceof PrintWriter pw && pw.checkError()) {
                throw new IOException("cannot write to standard output");
            }
            if (file != null) {
                file.commit();
            }
            return n;
        } finally {
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
