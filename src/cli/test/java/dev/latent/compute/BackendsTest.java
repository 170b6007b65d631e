package dev.latent.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BackendsTest {
    private final List<LogRecord> records = new ArrayList<>();
    private final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord r) {
            records.add(r);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @AfterEach
    void restore() {
        Logger.getLogger("dev.latent.compute").removeHandler(handler);
        System.clearProperty(Backends.PROPERTY);
        Backends.reset();
    }

    private Backend chooseWith(String property) {
        if (property == null) {
            System.clearProperty(Backends.PROPERTY);
        } else {
            System.setProperty(Backends.PROPERTY, property);
        }
        Backends.reset();
        Logger.getLogger("dev.latent.compute").addHandler(handler);
        return Backends.get();
    }

    private String infoLine() {
        List<String> info = new ArrayList<>();
        for (LogRecord r : records) {
            if (r.getLevel() == Level.INFO) {
                info.add(r.getMessage());
            }
        }
        assertEquals(1, info.size(), "exactly one INFO line: " + info);
        return info.get(0);
    }

    @Test
    void autoPicksANativeBackendAndSaysWhy() {
        Backend b = chooseWith(null);
        String line = infoLine();
        assertTrue(line.startsWith("compute backend: " + b.description()), line);
        if (b.name().equals("cuda")) {
            assertTrue(line.contains("auto"), line);
        } else {
            // No GPU (or no CUDA build) here: the line must say why CUDA was passed over.
            assertEquals("cpu", b.name(), "the native CPU backend loads on this machine: " + line);
            assertTrue(line.contains("auto; CUDA: "), line);
            assertTrue(b.description().startsWith("native CPU: "), b.description());
        }
        assertTrue(Backends.get() == b, "chosen once");
    }

    @Test
    void javaPropertyIsHonoured() {
        Backend b = chooseWith("java");
        assertEquals("java", b.name());
        assertTrue(infoLine().contains("latent.backend=java"));
    }

    @Test
    void cpuPropertyIsHonoured() {
        Backend b = chooseWith("CPU");
        assertEquals("cpu", b.name());
        assertTrue(infoLine().contains("latent.backend=cpu"));
    }

    @Test
    void unknownValueIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> chooseWith("tpu"));
        assertTrue(e.getMessage().contains("tpu") && e.getMessage().contains("java"), e.getMessage());
    }

    @Test
    void forcedCudaThatCannotLoadThrows() {
        Backend cuda;
        try {
            cuda = Backends.cuda();
        } catch (BackendUnavailableException e) {
            IllegalStateException ise = assertThrows(IllegalStateException.class, () -> chooseWith("cuda"));
            assertTrue(ise.getMessage().contains(e.getMessage()), ise.getMessage());
            return;
        }
        cuda.close();  // a GPU host: forcing CUDA must then work
        assertEquals("cuda", chooseWith("cuda").name());
    }
}
