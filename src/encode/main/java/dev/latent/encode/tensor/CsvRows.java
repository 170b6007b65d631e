package dev.latent.encode.tensor;

import dev.latent.core.FloatMatrix;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Numeric rows from a CSV file: comma-separated, one row per line, blank lines skipped. A first line holding
 * any field that is not a number is a header; a header column named {@code id} (any case) gives the ids and is
 * not a feature. Without one, ids are the data rows' line numbers. Every row must have the same number of
 * columns and only finite numbers: the first that does not is named by file and line. Quoted fields are not
 * supported (numeric data needs none).
 *
 * @param ids    one per row
 * @param values the features, {@code ids.size() × columns}
 */
public record CsvRows(List<String> ids, FloatMatrix values) {

    /** Reads {@code file}; {@code columns} > 0 checks the feature count (0: take the first row's). */
    public static CsvRows read(Path file, int columns) throws IOException {
        List<String> ids = new ArrayList<>();
        List<float[]> rows = new ArrayList<>();
        int idColumn = -1;
        int width = -1;
        int lineNo = 0;
        boolean first = true;
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            for (String line; (line = r.readLine()) != null; ) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                String[] f = line.split(",", -1);
                if (first) {
                    first = false;
                    if (!allNumbers(f)) {
                        for (int j = 0; j < f.length; j++) {
                            if (f[j].strip().equalsIgnoreCase("id")) {
                                idColumn = j;
                            }
                        }
                        width = f.length;
                        continue;
                    }
                }
                if (width < 0) {
                    width = f.length;
                }
                if (f.length != width) {
                    throw new IOException(file + ":" + lineNo + ": " + f.length + " columns, expected " + width);
                }
                int features = width - (idColumn >= 0 ? 1 : 0);
                if (columns > 0 && features != columns) {
                    throw new IOException(file + ":" + lineNo + ": " + features + " feature columns, the model takes " + columns);
                }
                float[] v = new float[features];
                int k = 0;
                for (int j = 0; j < f.length; j++) {
                    if (j == idColumn) {
                        continue;
                    }
                    try {
                        v[k] = Float.parseFloat(f[j].strip());
                    } catch (NumberFormatException e) {
                        throw new IOException(file + ":" + lineNo + ": column " + (j + 1) + " '" + f[j] + "' is not a number");
                    }
                    if (!Float.isFinite(v[k])) {
                        throw new IOException(file + ":" + lineNo + ": column " + (j + 1) + " is " + f[j].strip() + ", not a finite number");
                    }
                    k++;
                }
                ids.add(idColumn >= 0 ? f[idColumn].strip() : String.valueOf(lineNo));
                rows.add(v);
            }
        }
        if (rows.isEmpty()) {
            throw new IOException(file + ": no data rows");
        }
        FloatMatrix m = FloatMatrix.allocate(rows.size(), rows.get(0).length);
        for (int i = 0; i < rows.size(); i++) {
            m.setRow(i, rows.get(i));
        }
        return new CsvRows(List.copyOf(ids), m);
    }

    private static boolean allNumbers(String[] f) {
        for (String s : f) {
            try {
                Float.parseFloat(s.strip());
            } catch (NumberFormatException e) {
                return false;
            }
        }
        return true;
    }
}
