package dev.latent.serve;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Who may call an endpoint: optional bearer keys ({@code Authorization: Bearer KEY}, what OpenAI's clients send;
 * every route but {@code /health} then needs one, compared in constant time; a missing or wrong key gets 401), and
 * the browser origins allowed by CORS (none by default: no CORS headers are sent, and browsers keep other sites'
 * pages from calling the endpoint). Immutable and thread-safe.
 */
public final class Access {
    private final List<byte[]> keys;
    private final Set<String> origins;

    private Access(List<byte[]> keys, Set<String> origins) {
        this.keys = keys;
        this.origins = Set.copyOf(origins);
    }

    /** No key needed, no CORS. */
    public static Access open() {
        return new Access(List.of(), Set.of());
    }

    /**
     * Keys read from {@code file}, one a line (blank lines and lines starting with {@code #} skipped), and the CORS
     * origins allowed ({@code *} for any).
     *
     * @throws IOException naming the file when it is not a regular file, when users other than its owner may write
     *     it (they could add keys of their own), or when it holds no key
     */
    public static Access keys(Path file, Set<String> origins) throws IOException {
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(file + " is not a regular file (a link is not followed); give the key file itself");
        }
        Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
        if (mode.contains(PosixFilePermission.GROUP_WRITE) || mode.contains(PosixFilePermission.OTHERS_WRITE)) {
            throw new IOException(file + " may be written by other users, who could add keys of their own; "
                    + "chmod go-w " + file);
        }
        List<byte[]> keys = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String k = line.strip();
            if (!k.isEmpty() && !k.startsWith("#")) {
                keys.add(k.getBytes(StandardCharsets.UTF_8));
            }
        }
        if (keys.isEmpty()) {
            throw new IOException(file + " holds no key (one a line)");
        }
        return new Access(keys, origins);
    }

    /** Only CORS, for {@code origins}; no key needed. */
    public static Access cors(Set<String> origins) {
        return new Access(List.of(), origins);
    }

    /** Whether a key is needed. */
    boolean needsKey() {
        return !keys.isEmpty();
    }

    /** Whether an {@code Authorization} header value carries one of the keys. */
    boolean allows(String authorization) {
        if (keys.isEmpty()) {
            return true;
        }
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        byte[] given = authorization.substring(7).strip().getBytes(StandardCharsets.UTF_8);
        boolean ok = false;
        for (byte[] k : keys) {
            ok |= MessageDigest.isEqual(k, given);   // every key compared: the time says nothing
        }
        return ok;
    }

    /** The CORS origin to allow for a request's {@code Origin}, or null. */
    String corsOrigin(String origin) {
        if (origin == null || origins.isEmpty()) {
            return null;
        }
        return origins.contains("*") ? "*" : origins.contains(origin) ? origin : null;
    }
}
