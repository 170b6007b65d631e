package dev.latent.cli;

import dev.latent.job.ShardedEmbedding;
import dev.latent.space.format.IdsFile;
import dev.latent.space.format.Npy;

import dev.latent.core.Metric;
import dev.latent.core.FloatMatrix;
import dev.latent.index.FlatIndex;
import dev.latent.index.IvfIndex;
import dev.latent.index.VectorIndex;
import dev.latent.space.VectorSet;
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
                        + "...",
                "A flat index is exact: every search scores every vector. With --lists, an ivf index scores only the "
                        + "lists nearest each query: approximate, and much faster on large sets (see docs/index-kinds.md)."})
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

    @Option(names = "--lists", paramLabel = "N|auto", description = "Build an inverted-file (ivf) index of N lists instead of a "
            + "flat one: k-means centroids, each vector in its nearest list, a search scores only the lists nearest the query "
            + "(approximate, much faster on large sets). auto: 4·sqrt(n).")
    String lists;

    @Option(names = "--nprobe", paramLabel = "N", description = "With --lists: lists a search probes by default (default: lists/8); "
            + "'latent search --nprobe' overrides it per run.")
    Integer nprobe;

    @Option(names = "--sq8", description = "Also keep 8-bit codes of the vectors (a quarter of the bytes): searches scan the codes "
            + "and re-rank the best rerank·k exactly on the float32 rows (approximate; 'latent search --rerank' sets the "
            + "factor, default 4). Flat or ivf.")
    boolean sq8;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "With --lists: the k-means seed (default: ${DEFAULT-VALUE}).")
    long seed;


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
        try (VectorIndex index = maybeIvf(FlatIndex.fromNpy(vectors, idArray, m, null))) {
            save(index, start, "");
        }
        return Main.OK;
    }

    /** The flat index itself, or with --lists an ivf index built from its rows and ids (the flat one closed). */
    private VectorIndex maybeIvf(FlatIndex flat) {
        if (lists == null) {
            if (nprobe != null) {
                flat.close();
                throw new CommandLine.ParameterException(spec.commandLine(), "--nprobe goes with --lists (an ivf index)");
            }
            return flat;
        }
        try (flat; VectorSet.Snapshot pinned = flat.snapshot(); FloatMatrix rows = pinned.rows()) {
            int n = IvfIndex.defaultLists(flat.size());
            if (!"auto".equals(lists)) {
                try {
                    n = Integer.parseInt(lists);
                } catch (NumberFormatException e) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "--lists must be a list count or auto, got " + lists);
                }
            }
            if (n < 1 || n > flat.size()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--lists must be in [1, " + flat.size()
                        + "] (one list per vector at most), got " + n);
            }
            long[] rowIds = java.util.Arrays.copyOf(pinned.idsShared(), pinned.size());
            IvfIndex ivf = IvfIndex.build(rowIds, rows, flat.metric(), n, seed, null);
            if (nprobe != null) {
                try {
                    ivf.nprobe(nprobe);
                } catch (IllegalArgumentException e) {
                    ivf.close();
                    throw new CommandLine.ParameterException(spec.commandLine(), "--" + e.getMessage());
                }
            }
            return ivf;
        }
    }

    /** Records the model and the command, saves, and prints what was written and its cost per vector. */
    private void save(VectorIndex index, long start, String from) throws IOException {
        if (sq8) {
            if (index instanceof IvfIndex ivf) {
                ivf.encodeSq8();
            } else {
                ((FlatIndex) index).encodeSq8();
            }
        }
        if (model != null) {
            index.putMetadata("model", model);
        }
        index.putMetadata("created_by", "latent index");
        index.save(output);
        long bytes = java.nio.file.Files.size(output);
        java.io.PrintWriter out = spec.commandLine().getOut();
        out.printf(java.util.Locale.ROOT, "indexed %s of dimension %d (%s)%s in %.2f s -> %s%n",
                Counts.of(index.size(), "vector", "vectors"), index.dimension(),
                index.metric().name().toLowerCase(java.util.Locale.ROOT), from, (System.nanoTime() - start) / 1e9, output);
        String kind = index instanceof IvfIndex ivf ? String.format(java.util.Locale.ROOT,
                "ivf: %d lists (about %d vectors each), nprobe %d by default", ivf.lists(),
                Math.round((double) index.size() / ivf.lists()), ivf.nprobe())
                : sq8 ? "flat: every code scanned, the best 4·k re-ranked exactly" : "flat: exact";
        out.printf(java.util.Locale.ROOT, "  %s; %.0f bytes per vector in the file (float32 rows %d, id 8%s)%s%n", kind,
                index.size() == 0 ? 0.0 : (double) bytes / index.size(), 4 * index.dimension(),
                index instanceof IvfIndex ? ", list 4" : "", sq8 ? String.format(java.util.Locale.ROOT,
                        "; sq8: codes of %d bytes per vector made at load, the float32 rows then read from the file", (index.dimension() + 3) / 4 * 4 + 4) : "");
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
        try (VectorIndex built = maybeIvf(index)) {
            save(built, start, " from the shards of " + vectors.toAbsolutePath().getParent());
        }
        return Main.OK;
    }
}
