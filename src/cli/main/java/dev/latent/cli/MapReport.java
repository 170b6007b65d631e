package dev.latent.cli;

import dev.latent.analyse.map.MapJob;
import java.io.PrintWriter;
import java.nio.file.Path;

/** What {@code map} and {@code demo} print after a map: the summary line, then where the PNG and the page are. */
final class MapReport {
    private MapReport() {}

    /** Prints {@code s}, then the absolute paths of the PNG and the page where they were written (null: not). */
    static void print(PrintWriter out, MapJob.Summary s, Path png, Path html) {
        print(out, s, png, html, null);
    }

    /** As {@link #print(PrintWriter, MapJob.Summary, Path, Path)}, then the coordinates file (null: none). */
    static void print(PrintWriter out, MapJob.Summary s, Path png, Path html, Path coords) {
        out.println(s);
        if (png != null) {
            out.println("  PNG:  " + png.toAbsolutePath());
        }
        if (html != null) {
            out.println("  HTML: " + html.toAbsolutePath() + "  (self-contained: open it in a browser)");
        }
        if (coords != null) {
            out.println("  coordinates: " + coords.toAbsolutePath());
        }
    }
}
