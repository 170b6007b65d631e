package dev.latent.cli;

import java.nio.file.Path;
import picocli.CommandLine;

/**
 * Converts an output option to a path, refusing a name that ends with {@code /} (or {@code /.}, {@code /..}):
 * such a name means a folder to the OS, while a plain path conversion would drop the slash and write a file
 * of that name. Stateless.
 */
final class OutputFile implements CommandLine.ITypeConverter<Path> {
    @Override
    public Path convert(String value) {
        if (value.isEmpty()) {
            throw new CommandLine.TypeConversionException("an empty file name");
        }
        if (value.endsWith("/") || value.endsWith("/.") || value.endsWith("/..") || value.equals(".") || value.equals("..")) {
            throw new CommandLine.TypeConversionException("'" + value + "' names a directory (it ends with '/'); give a file name");
        }
        return Path.of(value);
    }
}
