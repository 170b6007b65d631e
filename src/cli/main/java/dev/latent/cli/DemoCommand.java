package dev.latent.cli;

import dev.latent.analyse.map.MapJob;
import dev.latent.core.FloatMatrix;
import dev.latent.core.Metric;
import dev.latent.core.Neighbors;
import dev.latent.encode.SampleCorpus;
import dev.latent.encode.text.TextEncoder;
import dev.latent.analyse.KMeans;
import dev.latent.analyse.KMeansResult;
import dev.latent.analyse.text.SegmentTerms;
import dev.latent.analyse.text.Segments;
import dev.latent.index.FlatIndex;
import dev.latent.index.VectorIndex;
import dev.latent.space.VectorSet;
import dev.latent.space.OutputSet;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code latent demo}: embed the bundled sample corpus, then show the nearest texts for a query. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        header = "Embed and search the bundled sample corpus (needs only the jar).",
        description = {"Embed the bundled sample corpus (5,000 WordNet glosses) with the default model into an "
                        + "in-memory index, then print the nearest texts for a query. Needs nothing but the jar."})
final class DemoCommand extends ModelCommand {
    /** The query shown when none is given. */
    static final String DEFAULT_QUERY = "a large animal that lives in the sea";


    @Option(names = "--query", paramLabel = "TEXT", description = "Query text (repeatable; default: \"" + DEFAULT_QUERY + "\").")
    List<String> queries = new ArrayList<>();

    @Option(names = "-k", paramLabel = "K", defaultValue = "5", description = "Results per query (default: ${DEFAULT-VALUE}).")
    int k;

    @Option(names = "--limit", paramLabel = "N", description = "Embed only the first N texts of the corpus.")
    Integer limit;

    @Option(names = "--index", paramLabel = "FILE.lidx", converter = OutputFile.class, description = "Also save the index to this file.")
    Path indexFile;

    @Option(names = "--segments", paramLabel = "K", defaultValue = "12", description = "Cluster the glosses into K segments and describe each (0: skip; default: ${DEFAULT-VALUE}).")
    int segments;

    @Option(names = "--map", paramLabel = "NAME", defaultValue = "latent-demo-map",
            description = "Write the map of the corpus to NAME.png and NAME.html (none: skip; default: ${DEFAULT-VALUE}).")
    String map;

    @Mixin
    QuietOption quietOption = new QuietOption();

    private final MapJob mapJob = new MapJob();

    @Override
    protected Integer run(CommandLine cl) throws Exception {
        if (k <= 0) {
            throw new CommandLine.ParameterException(cl, "-k must be >= 1, got " + k);
        }
        if (limit != null && limit <= 0) {
            throw new CommandLine.ParameterException(cl, "--limit must be >= 1");
        }
        new FileRoles()
                .input("--onnx model", model.onnx)
                .input("--tokenizer file", model.tokenizer)
                .output("index output (--index)", indexFile)
                .output("map PNG (--map)", mapFile(".png"))
                .output("map HTML (--map)", mapFile(".html"))
                .check(cl);
        List<String> qs = queries.isEmpty() ? List.of(DEFAULT_QUERY) : queries;
        PrintWriter out = cl.getOut();

        List<SampleCorpus.Entry> all = SampleCorpus.entries();
        List<SampleCorpus.Entry> entries = limit == null ? all : all.subList(0, Math.min(limit, all.size()));
        try (TextEncoder enc = model.open(null);
             FlatIndex index = new FlatIndex(enc.dimension(), Metric.COSINE)) {
            out.println("Embedding " + entries.size() + " WordNet glosses with " + enc.modelName() + " ...");
            // Segments are named by their c-TF-IDF terms re-ranked with the model that embedded the glosses.
            mapJob.termNaming(SegmentTerms.of(4).encoder(TermOptions.terms(enc)).backend(index.backend()));
            out.flush();
            long start = System.nanoTime();
            long tokensBefore = enc.tokensProcessed();
            int block = 1024;
            Map<Long, SampleCorpus.Entry> byId = new HashMap<>();
            try (Progress progress = Progress.start("embed", entries.size(), quietOption.quiet)) {
                for (int b = 0; b < entries.size(); b += block) {
                    List<SampleCorpus.Entry> part = entries.subList(b, Math.min(entries.size(), b + block));
                    List<String> texts = new ArrayList<>(part.size());
                    long[] ids = new long[part.size()];
                    List<dev.latent.space.Record> records = new ArrayList<>(part.size());
                    for (int i = 0; i < part.size(); i++) {
                        texts.add(part.get(i).text());
                        ids[i] = b + i;
                        byId.put(ids[i], part.get(i));
                        records.add(dev.latent.space.Record.of(part.get(i).id(), part.get(i).text()));
                    }
                    final long base = b;
                    try (FloatMatrix v = enc.encode(texts, (done, tokens) -> progress.done(base + done))) {
                        index.add(ids, v, records);
                    }
                }
            }
            java.time.Duration elapsed = java.time.Duration.ofNanos(System.nanoTime() - start);
            out.println(Progress.summary("embedded", entries.size(), enc.tokensProcessed() - tokensBefore,
                    elapsed, enc.provider(), enc.modelName()));
            if (indexFile != null) {
                ModelOptions.record(index, enc, model);
                index.putMetadata("created_by", "latent demo");
            }
            long t0 = System.nanoTime();
            Neighbors nb;
            try (FloatMatrix q = enc.encodeQueries(qs)) {
                nb = index.search(q, k);
            }
            double ms = (System.nanoTime() - t0) / 1e6;
            for (int i = 0; i < qs.size(); i++) {
                out.println();
                out.println("query: " + qs.get(i));
                for (int r = 0; r < nb.count(); r++) {
                    SampleCorpus.Entry e = byId.get(nb.id(i, r));
                    out.printf(Locale.ROOT, "%3d  %.4f  %-10s  %s%n", r + 1, nb.score(i, r), e.id(), shorten(e.text(), 100));
                }
            }
            out.println();
            out.printf(Locale.ROOT, "searched %s for %s in %.1f ms (encoding included) on the %s backend%n",
                    Counts.of(index.size(), "vector", "vectors"), Counts.of(qs.size(), "query", "queries"), ms, index.backend().name());
            KMeansResult fitted = null;
            if (segments > 0 && index.size() >= segments) {
                // The map colours by these same segments instead of fitting them again.
                fitted = summariseSegments(out, index, entries, enc);
                mapJob.fittedSegments(fitted);
            }
            try {
                MapJob.Result map = null;
                if (mapFile(".png") != null && index.size() >= 2) {
                    map = buildMap(out, index, entries);
                } else if (mapFile(".png") != null) {
                    out.println();
                    out.println("map: skipped (a map needs at least 2 texts)");
                }
                // Every output is written only now, and together: a failure before leaves the old files.
                commit(out, index, map);
            } finally {
                if (fitted != null) {
                    fitted.close();
                }
            }
        }
        return Main.OK;
    }

    private Path mapFile(String ext) {
        return map == null || map.equalsIgnoreCase("none") ? null : Path.of(map + ext);
    }

    /** The map of the sample corpus: UMAP layout, the same segments, outliers by the k-th-neighbour distance. */
    private MapJob.Result buildMap(PrintWriter out, VectorIndex index, List<SampleCorpus.Entry> entries) {
        String[] ids = new String[entries.size()];
        String[] texts = new String[entries.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = entries.get(i).id();
            texts[i] = entries.get(i).text();
        }
        mapJob.segments(Math.min(Math.max(segments, 0), entries.size()));
        mapJob.progress(Progress.stages(quietOption.quiet));
        out.println();
        out.flush();
        try (VectorSet.Snapshot pinned = index.snapshot(); FloatMatrix rows = pinned.rows()) {
            return mapJob.build(rows, index.metric(), ids, texts,
                    String.format(Locale.ROOT, "Map of %,d WordNet glosses", entries.size()), index.backend());
        }
    }

    /** The index (--index) and the map's PNG and HTML, committed together through one OutputSet. */
    private void commit(PrintWriter out, VectorIndex index, MapJob.Result map) throws java.io.IOException {
        if (indexFile == null && map == null) {
            return;
        }
        try (OutputSet outputs = new OutputSet()) {
            if (indexFile != null) {
                index.writeTo(outputs.open(indexFile));
            }
            if (map != null) {
                mapJob.writeInto(outputs, map.data(), mapFile(".png"), mapFile(".html"));
            }
            outputs.commit();
        }
        if (indexFile != null) {
            out.println("saved the index to " + indexFile);
        }
        if (map != null) {
            MapReport.print(out, map.summary(), mapFile(".png"), mapFile(".html"));
        }
    }

    /** k-means over the demo's vectors, each cluster described by its terms and most central gloss. */
    /** Prints the segment summary and returns the k-means result (the caller closes it). */
    private KMeansResult summariseSegments(PrintWriter out, VectorIndex index, List<SampleCorpus.Entry> entries,
            TextEncoder enc) {
        List<String> texts = new ArrayList<>(entries.size());
        for (SampleCorpus.Entry e : entries) {
            texts.add(e.text());
        }
        KMeansResult r;
        try (VectorSet.Snapshot pinned = index.snapshot(); FloatMatrix rows = pinned.rows()) {
            r = KMeans.of(segments).seed(42).backend(index.backend()).fit(rows, index.metric());
        }
        try {
            List<Segments.Segment> list = SegmentTerms.of(5).encoder(TermOptions.terms(enc)).backend(index.backend())
                    .describe(r.labels(), r.distances(), segments, r.centroids(), texts, 1);
            out.println();
            out.printf(Locale.ROOT, "segments: k-means, k = %d, %d iterations in %.2f s on the %s backend; each "
                    + "cluster's most distinctive terms (class-based TF-IDF, re-ranked by similarity to the "
                    + "centroid) and most central gloss%n", segments,
                    r.iterations(), r.seconds(), r.backend());
            for (Segments.Segment seg : list) {
                out.println(Segments.line(seg, texts, 60));
            }
            return r;
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
    }

    private static String shorten(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 3) + "...";
    }
}
