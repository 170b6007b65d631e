package dev.latent.analyse.map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTML page in a real browser: headless Chromium loads it from a file (no network), runs its script, and
 * we check the screenshot for points in the segments' colours and the DOM for the page's own count of drawn
 * points. Skipped, with the reason, where no Chromium is installed ({@code -Dlatent.chromium=/path} names
 * one elsewhere).
 */
class MapBrowserTest {
    private static final Pattern DRAWN = Pattern.compile("data-drawn=\"(\\d+)\"");
    private static final Pattern MATCHES = Pattern.compile("data-matches=\"(\\d+)\"");

    @TempDir
    Path dir;

    @Test
    void drawsEveryPointInHeadlessChromium() throws Exception {
        Path chromium = chromium();
        MapData map = SyntheticMap.blobs(3_000, 11);
        Path page = dir.resolve("map.html");
        MapHtml.create().write(map, page);

        Path shot = dir.resolve("shot.png");
        run(chromium, "--screenshot=" + shot, page.toUri().toString());
        BufferedImage image = ImageIO.read(shot.toFile());
        assertNotNull(image, "chromium wrote a screenshot");
        for (int s = 0; s < map.segments().size(); s++) {
            int pixels = MapPngTest.near(image, Palette.segment(s), 60);
            assertTrue(pixels > 100, "segment " + s + " drawn: " + pixels + " pixels of "
                    + Palette.hex(Palette.segment(s)));
        }

        String dom = run(chromium, "--dump-dom", page.toUri().toString());
        Matcher m = DRAWN.matcher(dom);
        assertTrue(m.find(), "the page marks the body with the number of points drawn");
        assertEquals(3_000, Integer.parseInt(m.group(1)), "every point drawn in the first view");
    }

    @Test
    void searchesFromTheLinkAndCountsMatches() throws Exception {
        Path chromium = chromium();
        MapData map = SyntheticMap.blobs(5_000, 12);
        Path page = dir.resolve("map.html");
        MapHtml.create().maxPoints(2_000).write(map, page);
        Sample sample = Sample.of(map, 2_000, 42);
        int expected = 0;
        for (int i : sample.rows()) {
            String t = map.ids()[i] + "\n" + map.text(i);
            if (t.toLowerCase(Locale.ROOT).contains("shark")) {
                expected++;
            }
        }
        assertTrue(expected > 0);
        String dom = run(chromium, "--dump-dom", page.toUri() + "#q=SHARK");
        Matcher m = MATCHES.matcher(dom);
        assertTrue(m.find(), "the page marks the body with the number of matches");
        assertEquals(expected, Integer.parseInt(m.group(1)));
        assertTrue(dom.contains("showing 2,000 of 5,000 points (random sample"), "the page says it shows a sample");
        Matcher d = DRAWN.matcher(dom);
        assertTrue(d.find());
        assertEquals(2_000, Integer.parseInt(d.group(1)), "matches lit, the rest dimmed: all drawn");
    }

    private Path chromium() {
        String forced = System.getProperty("latent.chromium");
        if (forced != null) {
            // Named on purpose: a missing browser is then a failure, not a skip.
            assertTrue(Files.isExecutable(Path.of(forced)), "-Dlatent.chromium=" + forced + " is not an executable");
            return Path.of(forced);
        }
        List<Path> candidates = new ArrayList<>();
        for (String p : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!p.isEmpty()) {
                candidates.add(Path.of(p, "chromium"));
                candidates.add(Path.of(p, "chromium-browser"));
            }
        }
        candidates.add(Path.of("/usr/bin/chromium"));
        for (Path c : candidates) {
            if (Files.isExecutable(c)) {
                return c;
            }
        }
        assumeTrue(false, "chromium not found: install it (Debian package chromium) or pass -Dlatent.chromium=PATH "
                + "to check the map page in a headless browser");
        return null;
    }

    /** Runs headless Chromium on one page; returns its standard output. */
    private String run(Path chromium, String action, String url) throws IOException, InterruptedException {
        Path profile = Files.createTempDirectory(dir, "profile");
        List<String> cmd = List.of(chromium.toString(), "--headless", "--disable-gpu", "--no-sandbox",
                "--no-first-run", "--disable-extensions", "--hide-scrollbars", "--user-data-dir=" + profile,
                "--window-size=1200,900", "--virtual-time-budget=3000", action, url);
        Path out = dir.resolve("chromium.out");
        Path err = dir.resolve("chromium.err");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("chromium did not finish in 120 s: " + String.join(" ", cmd));
        }
        assertEquals(0, p.exitValue(), () -> "chromium failed: " + String.join(" ", cmd) + "\n" + tail(err));
        return Files.readString(out, StandardCharsets.UTF_8);
    }

    private static String tail(Path file) {
        try {
            String s = Files.readString(file, StandardCharsets.UTF_8);
            return s.substring(Math.max(0, s.length() - 2000));
        } catch (IOException e) {
            return "(no output: " + e + ")";
        }
    }
}
