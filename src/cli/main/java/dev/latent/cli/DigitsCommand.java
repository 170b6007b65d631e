package dev.latent.cli;

import dev.latent.encode.image.SampleDigits;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code latent digits}: the shipped handwritten digits as PNG files, sample images for the image commands. */
@Command(name = "digits", mixinStandardHelpOptions = true,
        header = "Write the handwritten digits that ship with Latent as PNG files.",
        description = {"Write the handwritten 8x8 digits that ship with Latent (UCI optical digits, CC BY 4.0) as "
                        + "grayscale PNGs, DIR/<label>/<index>.png: sample images for 'embed', 'reconstruct' and 'path "
                        + "--decode' with the digits-ae model."})
final class DigitsCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "Folder to write into (created; must hold no such files yet).")
    Path dir;

    @Option(names = "--count", paramLabel = "N", defaultValue = "1797", description = "How many digits, from the first (default: all ${DEFAULT-VALUE}).")
    int count;

    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        SampleDigits digits = SampleDigits.load();
        if (count < 1 || count > digits.size()) {
            throw new CommandLine.ParameterException(cl, "--count must be 1.." + digits.size() + ", got " + count);
        }
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new CommandLine.ParameterException(cl, dir + " exists and is not a folder");
        }
        digits.write(dir, 0, count);
        cl.getOut().printf("wrote %d digit images under %s%n", count, dir);
        return Main.OK;
    }
}
