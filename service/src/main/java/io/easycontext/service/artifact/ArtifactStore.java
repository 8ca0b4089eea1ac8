package io.easycontext.service.artifact;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

import io.easycontext.service.config.DataDirectory;
import org.springframework.stereotype.Component;

/**
 * Each job's files under {@code <data-dir>/jobs/<id>/}: training metrics, checkpoints and final models, evaluation
 * results. A file or folder whose name starts with a dot is work in progress (a checkpoint being written, a file being
 * replaced) and is no artifact. Names from clients are resolved so that nothing outside the job's directory can be
 * reached: no {@code ..}, no absolute paths, no symbolic link that leads out.
 */
@Component
public class ArtifactStore {

    private static final int MAX_DEPTH = 8;

    private final Path jobs;

    ArtifactStore(DataDirectory dataDirectory) {
        this.jobs = dataDirectory.root().resolve("jobs");
    }

    /** The job's directory, created if missing: where its runner writes. */
    public Path directoryOf(UUID jobId) {
        Path dir = jobs.resolve(jobId.toString());
        try {
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The job's directory, which exists once its runner has started: for readers, who must not create it. */
    public Path locationOf(UUID jobId) {
        return jobs.resolve(jobId.toString());
    }

    /** Every regular file of the job, by name. */
    public List<Artifact> list(UUID jobId) {
        Path dir = jobs.resolve(jobId.toString());
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(dir, MAX_DEPTH)) {
            return files.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) && !hidden(dir, p))
                    .map(p -> artifact(dir, p))
                    .sorted(Comparator.comparing(Artifact::name))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The file a client named, if it is a regular file inside the job's directory. */
    public Optional<Path> find(UUID jobId, String name) {
        if (name.isEmpty() || name.startsWith("/") || name.contains("\\") || name.indexOf('\0') >= 0) {
            return Optional.empty();
        }
        Path dir = jobs.resolve(jobId.toString());
        Path file = dir.resolve(name).normalize();
        if (!file.startsWith(dir) || file.equals(dir) || hidden(dir, file) || !Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            // Normalising handled "..": a symbolic link is the remaining way out, so compare the real paths.
            return file.toRealPath().startsWith(dir.toRealPath()) ? Optional.of(file) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static boolean hidden(Path dir, Path file) {
        for (Path part : dir.relativize(file)) {
            if (part.toString().startsWith(".")) {
                return true;
            }
        }
        return false;
    }

    private static Artifact artifact(Path dir, Path file) {
        try {
            BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS);
            String name = dir.relativize(file).toString().replace(file.getFileSystem().getSeparator(), "/");
            return new Artifact(name, attributes.size(), attributes.lastModifiedTime().toInstant());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
