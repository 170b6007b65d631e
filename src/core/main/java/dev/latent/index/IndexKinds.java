package dev.latent.index;

import dev.latent.compute.Backend;
import dev.latent.space.format.IndexHeader;
import java.io.IOException;
import java.nio.file.Path;

/** Opens an index file as the kind its header names ({@link VectorIndex#load(Path, Backend)}). */
final class IndexKinds {
    private IndexKinds() {}

    static VectorIndex load(Path file, Backend backend) throws IOException {
        IndexHeader h = IndexHeader.peek(file);
        return switch (h.kind()) {
            case IndexHeader.KIND_FLAT -> FlatIndex.load(file, backend);
            case IndexHeader.KIND_IVF -> IvfIndex.load(file, backend);
            default -> throw new IOException(file + ": index kind " + h.kind()
                    + " is not supported by this build (it reads " + IndexHeader.KINDS + ")");
        };
    }
}
