package dev.latent.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.util.Arrays;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import java.util.logging.StreamHandler;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code latent} command line: {@code embed}, {@code index}, {@code search}, {@code demo},
 * {@code models}. Exit codes: 0 success, 2 usage error, 1 failure (one line {@code error: ...} on
 * standard error; the stack trace only with {@code --verbose}).
 */
@Command(name = "latent", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Latent: embed texts and images, build exact vector indexes and search and analyse them, on CPU or GPU.",
        subcommands = {EmbedCommand.class, IndexCommand.class, SearchCommand.class, ClusterCommand.class,
                OutliersCommand.class, MapCommand.class, PathCommand.class, ProjectCommand.class, ServeCommand.class,
                DemoCommand.class, DigitsCommand.class, ReconstructCommand.class,
                ModelsCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    /** Declared once here for every command (read by {@link #main} itself before parsing). */
    @CommandLine.Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "Log details; print stack traces on errors.")
    boolean verbose;

    /** Exit code for success. */
    public static final int OK = 0;
    /** Exit code for a failure while running. */
    public static final int FAILURE = 1;
    /** Exit code for a usage error (bad option, missing argument). */
    public static final int USAGE = 2;

    /** Held strongly: java.util.logging forgets the level of a logger that is garbage collected. */
    private static final Logger LATENT_LOG = Logger.getLogger("dev.latent");
    /** The tokenizer library's loggers (held, so the level set on them stays). */
    private static final Logger DJL_LOG = Logger.getLogger("ai.djl");

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
    }

    public static void main(String[] args) {
        int code = run(System.out, System.err, args);
        System.out.flush();
        System.exit(code);
    }

    /** Runs the command line in this process (for tests and embedding) and returns the exit code. */
    public static int run(PrintStream out, PrintStream err, String... args) {
        boolean verbose = Arrays.asList(args).contains("--verbose");
        configureLogging(verbose, err);
        PrintWriter o = new PrintWriter(new java.io.OutputStreamWriter(out, StandardCharsets.UTF_8), true);
        PrintWriter e = new PrintWriter(new java.io.OutputStreamWriter(err, StandardCharsets.UTF_8), true);
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(o);
        cl.setErr(e);
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (verbose) {
                ex.printStackTrace(e);
            }
            e.println("error: " + describe(ex));
            e.flush();
            return FAILURE;
        });
        cl.setParameterExceptionHandler((ex, args2) -> {
            CommandLine c = ex.getCommandLine();
            e.println("error: " + ex.getMessage());
            e.println("Try '" + c.getCommandSpec().qualifiedName() + " --help' for more information.");
            e.flush();
            return USAGE;
        });
        cl.setExitCodeExceptionMapper(t -> t instanceof CommandLine.ParameterException ? USAGE : FAILURE);
        // An unknown command is a usage error even with --help (picocli would print the top-level help).
        for (String a : args) {
            if (a.startsWith("-")) {
                continue;
            }
            if (!cl.getSubcommands().containsKey(a)) {
                e.println("error: unknown command '" + a + "'");
                e.println("Try 'latent --help' for the commands.");
                e.flush();
                return USAGE;
            }
            break;
        }
        int code;
        try {
            code = cl.execute(args);
        } catch (OutOfMemoryError oom) {
            // picocli lets Errors through; this one has a remedy the user can apply.
            if (verbose) {
                oom.printStackTrace(e);
            }
            e.println("error: " + describe(oom));
            code = FAILURE;
        }
        o.flush();
        e.flush();
        return code;
    }

    /** One line for the user: the message, with the file named for the common I/O failures. */
    static String describe(Throwable ex) {
        Throwable t = ex;
        if (t instanceof java.io.UncheckedIOException && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof NoSuchFileException n) {
            return "no such file: " + n.getFile();
        }
        if (t instanceof AccessDeniedException a) {
            return "cannot read or write " + a.getFile() + " (permission denied)";
        }
        if (t instanceof OutOfMemoryError) {
            return "out of memory (" + t.getMessage() + "): the job needs more memory than this JVM may use. "
                    + "Give it more with java -Xmx<size> (for example java -Xmx8g -jar latent.jar ...), "
                    + "or do less at once: fewer queries per call, a narrower --radius, a smaller corpus";
        }
        String m = t.getMessage();
        if (m == null || m.isBlank()) {
            m = t.getClass().getSimpleName();
        } else if (t instanceof IOException && !(t.getClass() == IOException.class)) {
            m = t.getClass().getSimpleName() + ": " + m;
        }
        return m.replace('\n', ' ');
    }

    /** Single-line log records on standard error; dev.latent at WARNING unless --verbose. */
    private static void configureLogging(boolean verbose, PrintStream err) {
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "%4$s: %5$s%6$s%n");
        }
        // The tokenizer library (DJL) logs through SLF4J into java.util.logging: where it found its native
        // library (INFO) and, on a machine without a GPU, that it could count none (WARNING). Neither is news to a
        // user of the command line; --verbose shows them.
        DJL_LOG.setLevel(verbose ? Level.INFO : Level.SEVERE);
        Logger root = LATENT_LOG;
        for (Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        Handler h = new StreamHandler(err, new SimpleFormatter()) {
            @Override
            public synchronized void publish(java.util.logging.LogRecord record) {
                super.publish(record);
                flush();
            }
        };
        Level level = verbose ? Level.FINE : Level.WARNING;
        h.setLevel(level);
        root.setLevel(level);
        root.addHandler(h);
        root.setUseParentHandlers(false);
    }

    /** {@code latent --version}. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"latent " + (v == null ? "(development build)" : v)};
        }
    }
}
