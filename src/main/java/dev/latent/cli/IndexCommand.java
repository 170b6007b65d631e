package dev.latent.cli;

import dev.latent.job.ShardedEmbedding;
import dev.latent.space.format.IdsFile;
import dev.latent.space.format.Npy;

import dev.latent.core.Metric;
import dev.latent.index.FlatIndex;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code latent index}: vectors ({@code .npy}) and optional ids → an index file. */
@Command(name = "index", mixinStandardHelpOptions = true,
        header = "Build an index file from .npy vectors or embedding shards.",
        description = {"Build an index file from vectors in an .npy file (float32 or float64, 2-D, C order), or from "
                        + "the shards of an 'embed --shards' run (its manifest.json; merged one shard at a time, each "
                        + "checked first). Ids come from --ids (one 64-bit integer per line, in row order), else 0, 1, 2, "
                        + "..."})
final class IndexCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "VECTORS", description = "The vectors: an .npy file, or a shard manifest.json.")
    Path vectors;

    @Option(names = "--ids", paramLabel = "FILE", description = "Ids, one integer per line, row order.")
    Path ids;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE.lidx", converter = OutputFile.class, description = "The index file to write.")
    Path output;

    @Option(names = "--metric", paramLabel = "METRIC", description = "cosine, ip or l2 (default: cosine; for shards, the metric their run recorded).")
    String metric;

    @Option(names = "--model", paramLabel = "NAME", description = "Record this model name in the index (used by 'latent search' for text queries).")
    String model;


    @Override
    public Integer call() throws Exception {
        Metric m;
        try {
            m = metric == null ? (ShardedEmbedding.isManifest(vectors) ? null : Metric.COSINE) : Metric.parse(metric);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        new FileRoles()
                .input("input vectors", vectors)
                .input("ids input (--ids)", ids)
                .output("index output (-o)", output)
                .check(spec.commandLine());
        long start = System.nanoTime();
        if (ShardedEmbedding.isManifest(vectors)) {
            return mergeShards(m, start);
        }
        long[] idArray = ids == null ? null : IdsFile.read(ids);
        try (FlatIndex index = FlatIndex.fromNpy(vectors, idArray, m, null)) {
            if (model != null) {
                index.putMetadata("model", model);
            }
            index.putMetadata("created_by", "latent index");
            index.save(output);
            spec.commandLine().getOut().printf(java.util.Locale.ROOT, "indexed %s of dimension %d (%s) in %.2f s -> %s%n",
                    Counts.of(index.size(), "vector", "vectors"), index.dimension(), m.name().toLowerCase(java.util.Locale.ROOT),
                    (System.nanoTime() - start) / 1e9, output);
        }
        return Main.OK;
    }

    /** Merges the shards of a complete sharded run, one shard in memory at a time; rows keep their run order. */
    private int mergeShards(Metric m, long start) throws IOException {
        CommandLine cl = spec.commandLine();
        if (ids != null) {
            throw new CommandLine.ParameterException(cl, "--ids does not go with a shard manifest: rows are numbered in run order");
        }
        FlatIndex index;
        try {
            index = ShardedEmbedding.toIndex(vectors, m);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
        try (index) {
            if (model != null) {
                index.putMetadata("model", model);
            }
            index.putMetadata("created_by", "latent index");
            index.save(output);
            cl.getOut().printf(java.util.Locale.ROOT, "indexed %s of dimension %d (%s) from the shards of %s in %.2f s -> %s%n",
                    Counts.of(index.size(), "vector", "vectors"), index.dimension(), index.metric().name().toLowerCase(java.util.Locale.ROOT),
                    vectors.toAbsolutePath().getParent(), (System.nanoTime() - start) / 1e9, output);
        }
        return Main.OK;
    }
}
