package dev.latent.compute.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bytedeco.javacpp.annotation.Name;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The C API is declared once, in {@code native/cuda/latent_cuda_api.h}; the header, the loader table and the
 * forwarders are generated from its lists by the preprocessor, and this test keeps the one hand-written copy
 * left, the Java binding, in step: every entry has a {@code latent_cudal_*} method and every such method an
 * entry, with the same number of parameters. Needs no GPU and no loaded library (it reads annotations).
 */
class CudaNativeTest {
    private static final Path API = Path.of("native", "cuda", "latent_cuda_api.h");

    /** Entry name → parameter count, from X(...) lines of both lists. */
    private static List<String[]> entries(String header) {
        // Drop comments, then join continued lines.
        String text = header.replaceAll("(?s)/\\*.*?\\*/", " ").replace("\\\n", " ");
        List<String[]> out = new ArrayList<>();
        // LATENT_CUDA_INFO: X(type, name, (params), (args)); LATENT_CUDA_CALLS: X(name, (params), (args)).
        Matcher info = Pattern.compile("X\\(\\s*[^,()]+?,\\s*(\\w+),\\s*\\(([^()]*)\\)").matcher(text);
        while (info.find()) {
            out.add(new String[] {info.group(1), info.group(2)});
        }
        Matcher calls = Pattern.compile("X\\(\\s*(\\w+),\\s*\\(([^()]*)\\)").matcher(text);
        while (calls.find()) {
            out.add(new String[] {calls.group(1), calls.group(2)});
        }
        return out;
    }

    private static int parameters(String list) {
        String s = list.trim();
        return s.isEmpty() || s.equals("void") ? 0 : s.split(",").length;
    }

    @Test
    void everyApiEntryHasAJavaBindingAndNoneIsExtra() throws IOException {
        Assumptions.assumeTrue(Files.isRegularFile(API), "source tree not present: " + API.toAbsolutePath());
        List<String[]> api = entries(Files.readString(API));
        assertTrue(api.size() >= 15, "parsed only " + api.size() + " entries from " + API);
        Set<String> declared = new TreeSet<>();
        for (Method m : CudaNative.class.getDeclaredMethods()) {
            Name n = m.getAnnotation(Name.class);
            if (n != null && n.value()[0].startsWith("latent_cudal_")) {
                declared.add(n.value()[0].substring("latent_cudal_".length()) + "/" + m.getParameterCount());
            }
        }
        Set<String> expected = new TreeSet<>();
        for (String[] e : api) {
            expected.add(e[0] + "/" + parameters(e[1]));
        }
        // The loader's own entry points (load, is_loaded) are not part of the library's API.
        declared.removeIf(s -> s.startsWith("load/") || s.startsWith("is_loaded/"));
        assertEquals(expected, declared, "entries of " + API + " vs @Name methods of CudaNative (name/parameters)");
    }

    /**
     * The constants CudaNative copies from native/cuda/latent_cuda.h (ABI version, largest k, status codes,
     * pooling codes) have the header's values, and every status code and pooling code of the header has its
     * Java constant: a code added or renumbered on one side only fails here.
     */
    @Test
    void constantsMatchTheHeader() throws Exception {
        Path header = Path.of("native", "cuda", "latent_cuda.h");
        Assumptions.assumeTrue(Files.isRegularFile(header), "source tree not present: " + header.toAbsolutePath());
        Matcher m = Pattern.compile("(?m)^#define LATENT_(CUDA_E_\\w+|CUDA_ABI_VERSION|CUDA_MAX_K|POOL_\\w+) \\(?(-?\\d+)\\)?\\s*$")
                .matcher(Files.readString(header));
        int checked = 0;
        while (m.find()) {
            String c = m.group(1);
            String field = c.startsWith("CUDA_") ? c.substring("CUDA_".length()) : c;
            int value = Integer.parseInt(m.group(2));
            assertEquals(value, CudaNative.class.getField(field).getInt(null), "CudaNative." + field + " vs LATENT_" + c);
            checked++;
        }
        assertEquals(12, checked, "constants parsed from " + header);
    }
}
