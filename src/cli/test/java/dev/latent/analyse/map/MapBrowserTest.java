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
    void namesEverySegmentOnThePlotWithoutOverlaps() throws Exception {
        Path chromium = chromium();
        MapData map = SyntheticMap.blobs(3_000, 11);
        Path page = dir.resolve("map.html");
        MapHtml.create().write(map, page);
        String dom = run(chromium, "--dump-dom", page.toUri().toString());
        Matcher m = Pattern.compile("data-names=\"([^\"]*)\"").matcher(dom);
        assertTrue(m.find(), "the page marks the body with the names it placed");
        List<int[]> boxes = new ArrayList<>();
        java.util.Set<Integer> named = new java.util.TreeSet<>();
        for (String entry : m.group(1).split(";")) {
            String[] sr = entry.split(":");
            named.add(Integer.parseInt(sr[0]));
            boxes.add(java.util.Arrays.stream(sr[1].split(",")).mapToInt(Integer::parseInt).toArray());
        }
        assertEquals(map.segments().size(), named.size(), "every segment named: " + m.group(1));
        for (int i = 0; i < boxes.size(); i++) {
            int[] a = boxes.get(i);
            assertTrue(a[0] >= 0 && a[1] >= 0 && a[2] > 20 && a[3] > 0, "a name's box in the plot: " + m.group(1));
            for (int j = i + 1; j < boxes.size(); j++) {
                int[] b = boxes.get(j);
                boolean apart = a[0] + a[2] <= b[0] || b[0] + b[2] <= a[0] || a[1] + a[3] <= b[1] || b[1] + b[3] <= a[1];
                assertTrue(apart, "names " + i + " and " + j + " overlap: " + m.group(1));
            }
        }
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

    @Test
    void searchMatchesWordStartsOnly() throws Exception {
        Path chromium = chromium();
        String[] texts = {"a river in spring", "the driver of a bus", "Rivers of Europe", "RIVER", "up-river town",
            "a riverbank", "undriverable", "arriver", "rive", "river", "le rivière", "x_river", "7river"};
        int n = texts.length;
        float[] x = new float[n];
        float[] y = new float[n];
        String[] ids = new String[n];
        for (int i = 0; i < n; i++) {
            x[i] = i;
            y[i] = i % 3;
            ids[i] = "t" + i;
        }
        Path page = dir.resolve("words.html");
        MapHtml.create().write(new MapData(x, y, ids, texts, null, null, null, "words", ""), page);
        // The reference: Java's own regex for "the query at the start of a word", case-insensitive.
        Pattern word = Pattern.compile("(?:^|[^\\p{L}\\p{N}_])river", Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE);
        int expected = 0;
        for (String t : texts) {
            if (word.matcher(t).find()) {
                expected++;
            }
        }
        assertEquals(6, expected, "a river, Rivers, RIVER, up-river, riverbank, river; not driver, undriverable, arriver, "
                + "rive, rivière, x_river, 7river");
        String dom = run(chromium, "--dump-dom", page.toUri() + "#q=river");
        Matcher m = MATCHES.matcher(dom);
        assertTrue(m.find(), "the page marks the body with the number of matches");
        assertEquals(expected, Integer.parseInt(m.group(1)), "'river' finds words starting with it, not 'driver'");
    }

    @Test
    void lassoSelectionExportsTheSelectedKeys() throws Exception {
        Path chromium = chromium();
        // Three round blobs of odd sizes, far apart: a lasso around the third must catch exactly its points.
        int[] sizes = {37, 51, 23};
        double[][] centres = {{0, 0}, {10, 0}, {5, 8}};
        int n = sizes[0] + sizes[1] + sizes[2];
        float[] x = new float[n];
        float[] y = new float[n];
        String[] ids = new String[n];
        int[] seg = new int[n];
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        List<String> third = new ArrayList<>();
        int i = 0;
        for (int b = 0; b < 3; b++) {
            for (int j = 0; j < sizes[b]; j++, i++) {
                double a = r.nextDouble(2 * Math.PI);
                double d = Math.sqrt(r.nextDouble());
                x[i] = (float) (centres[b][0] + d * Math.cos(a));
                y[i] = (float) (centres[b][1] + d * Math.sin(a));
                ids[i] = "blob" + b + "-é" + j;
                seg[i] = b;
                if (b == 2) {
                    third.add(ids[i]);
                }
            }
        }
        List<MapData.Segment> segments = List.of(new MapData.Segment("a", 37), new MapData.Segment("b", 51),
                new MapData.Segment("c", 23));
        Path page = dir.resolve("select.html");
        MapHtml.create().write(new MapData(x, y, ids, null, seg, null, segments, "selection", ""), page);
        // Drive the page as a person would: shift-drag a hexagon (radius 3, map units) around the third blob,
        // then read the file its download link offers.
        String driver = """
                <pre id="exported"></pre>
                <script>
                setTimeout(function () {
                  var wrap = document.getElementById('plotwrap'), rect = wrap.getBoundingClientRect();
                  function fire(type, p, target) {
                    var s = window.latentMap.toScreen(p[0], p[1]);
                    (target || wrap).dispatchEvent(new MouseEvent(type, { clientX: rect.left + s[0],
                      clientY: rect.top + s[1], shiftKey: true, bubbles: true }));
                  }
                  var pts = [];
                  for (var k = 0; k <= 6; k++) {
                    pts.push([5 + 3 * Math.cos(k * Math.PI / 3), 8 + 3 * Math.sin(k * Math.PI / 3)]);
                  }
                  fire('mousedown', pts[0]);
                  for (k = 1; k < pts.length; k++) fire('mousemove', pts[k]);
                  fire('mouseup', pts[pts.length - 1]);
                  var link = document.getElementById('download');
                  document.body.dataset.filename = link.getAttribute('download');
                  fetch(link.href).then(function (r) { return r.text(); }).then(function (t) {
                    document.getElementById('exported').textContent = t;
                    document.body.dataset.exported = 'yes';
                  });
                }, 50);
                </script>
                </body>""";
        String html = Files.readString(page, StandardCharsets.UTF_8);
        int end = html.lastIndexOf("</body>");
        Path driven = dir.resolve("driven.html");
        Files.writeString(driven, html.substring(0, end) + driver + html.substring(end + "</body>".length()),
                StandardCharsets.UTF_8);
        String dom = run(chromium, "--dump-dom", driven.toUri().toString());
        Matcher sel = Pattern.compile("data-selected=\"(\\d+)\"").matcher(dom);
        assertTrue(sel.find(), "the page marks the body with the number selected");
        assertEquals(23, Integer.parseInt(sel.group(1)));
        assertTrue(dom.contains("data-exported=\"yes\""), "the download link's file was read");
        assertTrue(dom.contains("data-filename=\"selection.txt\""), "offered as selection.txt");
        Matcher text = Pattern.compile("<pre id=\"exported\">([^<]*)</pre>").matcher(dom);
        assertTrue(text.find());
        assertEquals(String.join("\n", third) + "\n", text.group(1), "the third blob's keys, one per line");
        assertTrue(dom.contains("23 points selected"), "the page says how many");
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
                "--no-first-run", "--disable-extensions", "--hide-scrollbars", "--disable-quic",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile,
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
