package dev.latent.cli;

import dev.latent.job.ShardedEmbedding;
import dev.latent.encode.text.TextEncoder;
import dev.latent.engine.Engine;
import dev.latent.index.VectorIndex;
import dev.latent.serve.Access;
import dev.latent.serve.HttpEndpoint;
import dev.latent.serve.IndexWrites;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code latent serve}: an index and its model behind a small HTTP endpoint, through the shared engine. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        header = "Serve an index over HTTP with JSON requests.",
        description = {"Serve an index over HTTP (JSON): POST /v1/embed {\"texts\": [...]}, POST /v1/search {\"text\": "
                        + "\"...\", \"k\": 10} or {\"vector\": [...], \"k\": 10} (optional \"filter\"), POST /v1/embeddings (OpenAI's "
                        + "shape), POST /embed (TEI's), GET /health, GET /metrics (Prometheus), GET /v1/metrics (JSON). Requests from many "
                        + "clients are batched by the shared engine. Runs until interrupted (Ctrl-C, SIGTERM)."})
final class ServeCommand extends ModelCommand {
    @Parameters(index = "0", paramLabel = "INDEX.lidx", description = "The index file (or a finished 'embed --shards' run's manifest.json).")
    Path indexFile;

    @Option(names = "--api-key-file", paramLabel = "FILE", description = "Require 'Authorization: Bearer KEY' on every "
            + "route but /health, KEY one of the lines of FILE (a file only its owner may write).")
    Path apiKeyFile;

    @Option(names = "--cors-origin", paramLabel = "ORIGIN", description = "Let pages of this origin (e.g. "
            + "https://app.example.com, or * for any) call the server from a browser (repeatable; default: none).")
    java.util.List<String> corsOrigins = new java.util.ArrayList<>();

    @Option(names = "--writable", description = "Take writes: POST /v1/upsert, /v1/delete and /v1/save. Each write is "
            + "logged to INDEX.lidx.wal and forced to disk before it is answered, and replayed at the next start; "
            + "/v1/save writes the index file and starts the log again.")
    boolean writable;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}; 0.0.0.0 for every interface).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port (default: ${DEFAULT-VALUE}; 0: any free port).")
    int port;

    @Option(names = "--max-body", paramLabel = "BYTES", defaultValue = "1048576", description = "Largest request body (default: ${DEFAULT-VALUE}).")
    int maxBody;

    @Option(names = "--queue", paramLabel = "N", defaultValue = "1024", description = "Requests the engine queues before it answers 503 (default: ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--max-connections", paramLabel = "N", defaultValue = "1024", description = "Connections open at once; more wait to be accepted (default: ${DEFAULT-VALUE}).")
    int maxConnections;

    @Option(names = "--header-timeout", paramLabel = "SECONDS", defaultValue = "10", description = "A connection must complete a request's headers within this time of opening or of its previous response, else it is closed (default: ${DEFAULT-VALUE}).")
    int headerTimeout;

    @Option(names = "--body-timeout", paramLabel = "SECONDS", defaultValue = "30", description = "A request's body must arrive within this time after its headers, else 408 (default: ${DEFAULT-VALUE}).")
    int bodyTimeout;

    @Override
    protected Integer run(CommandLine cl) throws Exception {
        if (port < 0 || port > 65535 || maxBody < 1 || queue < 1 || maxConnections < 1 || headerTimeout < 1 || bodyTimeout < 1) {
            throw new CommandLine.ParameterException(cl, "--port must be 0..65535; --max-body, --queue, --max-connections, "
                    + "--header-timeout and --body-timeout >= 1");
        }
        new FileRoles().input("index", indexFile).input("--api-key-file", apiKeyFile).input("--onnx model", model.onnx).input("--tokenizer file", model.tokenizer).check(cl);
        PrintWriter out = cl.getOut();
        CountDownLatch stop = new CountDownLatch(1);
        try (VectorIndex index = ShardedEmbedding.openIndex(indexFile); TextEncoder enc = model.open(index.metadata())) {
            if (enc.dimension() != index.dimension()) {
                throw new IOException("model " + enc.modelName() + " gives vectors of dimension " + enc.dimension()
                        + ", the index holds dimension " + index.dimension());
            }
            if (writable && ShardedEmbedding.isManifest(indexFile)) {
                throw new CommandLine.ParameterException(cl, "--writable serves an index file; make one from the run "
                        + "first: latent index " + indexFile + " -o INDEX.lidx");
            }
            Access access = apiKeyFile != null ? Access.keys(apiKeyFile, java.util.Set.copyOf(corsOrigins))
                    : Access.cors(java.util.Set.copyOf(corsOrigins));
            IndexWrites writes = writable ? IndexWrites.open(index, indexFile) : null;
            if (writes != null && writes.replayed() > 0) {
                out.printf("replayed %d logged writes onto %s%n", writes.replayed(), indexFile);
            }
            try (writes; Engine engine = Engine.builder().encoder(enc).index(index).queueCapacity(queue).build();
                 HttpEndpoint http = HttpEndpoint.start(engine, new InetSocketAddress(host, port),
                         new HttpEndpoint.Options(maxBody, 256, 1024, 32).withConnections(maxConnections,
                                 Duration.ofSeconds(headerTimeout), Duration.ofSeconds(bodyTimeout),
                                 Duration.ofSeconds(Math.max(30, headerTimeout))), writes, access)) {
                Thread hook = new Thread(stop::countDown, "latent-serve-stop");
                Runtime.getRuntime().addShutdownHook(hook);
                out.printf("serving %s (%d vectors, model %s) on http://%s:%d/ ; Ctrl-C stops%n", indexFile, index.size(),
                        enc.modelName(), host, http.port());
                out.flush();
                stop.await();
            }
        }
        return Main.OK;
    }
}
