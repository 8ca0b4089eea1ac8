package io.easycontext.service.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

/**
 * {@code easycontext.data-dir}: where the node keeps its files (the embedded database, jobs' artifacts, the
 * generated admin token). Created at start-up if missing.
 */
@Component
public class DataDirectory {

    private final Path root;

    public DataDirectory(@Value("${easycontext.data-dir}") String dataDir) {
        this.root = Path.of(dataDir).toAbsolutePath().normalize();
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create easycontext.data-dir " + root, e);
        }
    }

    public Path root() {
        return root;
    }
}
