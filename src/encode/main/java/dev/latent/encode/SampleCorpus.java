package dev.latent.encode;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The sample corpus shipped in the jar: 5,000 WordNet 3.0 glosses (nouns, verbs, adjectives, adverbs) as
 * JSONL, {@code {"id": "00001740n", "text": "entity: that which is perceived ..."}} one per line. Source
 * and licence: {@code models/corpus/README.md} and {@code LICENSE} (WordNet 3.0 licence, Princeton
 * University). Stateless and thread-safe.
 */
public final class SampleCorpus {
    /** Class path resource of the JSONL file. */
    public static final String RESOURCE = "dev/latent/encode/models/corpus/wordnet-glosses.jsonl";

    /** One corpus line. */
    public record Entry(String id, String text) {
    }

    private SampleCorpus() {
    }

    /** Opens the JSONL file (UTF-8); the caller closes the stream. */
    public static InputStream open() {
        InputStream in = SampleCorpus.class.getClassLoader().getResourceAsStream(RESOURCE);
        if (in == null) {
            throw new IllegalStateException("sample corpus " + RESOURCE + " is missing from the class path "
                    + "(the jar was built without the models/ resources)");
        }
        return in;
    }

    /** All entries, in file order. */
    public static List<Entry> entries() {
        ObjectMapper json = new ObjectMapper();
        List<Entry> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(open(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode n = json.readTree(line);
                out.add(new Entry(n.get("id").asText(), n.get("text").asText()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read sample corpus " + RESOURCE, e);
        }
        return out;
    }

    /** All texts, in file order. */
    public static List<String> texts() {
        return entries().stream().map(Entry::text).toList();
    }
}
