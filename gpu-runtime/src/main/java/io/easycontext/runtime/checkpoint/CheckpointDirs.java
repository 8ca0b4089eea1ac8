package io.easycontext.runtime.checkpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The checkpoints of an output directory: {@code checkpoint-0000042} for the state after optimizer step 42, written
 * first as {@code .checkpoint-0000042.tmp} and renamed when complete. A rename within one directory is atomic, so a
 * {@code checkpoint-*} directory is always whole, and a crash leaves at worst a temporary directory, which the next
 * save of that step removes and {@link #latest} never considers.
 */
final class CheckpointDirs {

    static final String RESUME_LATEST = "latest";
    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)");

    private CheckpointDirs() {
    }

    static Path finalDir(Path outputDir, long step) {
        return outputDir.resolve(String.format(Locale.ROOT, "checkpoint-%07d", step));
    }

    static Path tempDir(Path outputDir, long step) {
        return outputDir.resolve(String.format(Locale.ROOT, ".checkpoint-%07d.tmp", step));
    }

    /** Complete checkpoints, oldest first. */
    static List<Path> list(Path outputDir) {
        if (!Files.isDirectory(outputDir)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(outputDir)) {
            return entries.filter(p -> NAME.matcher(p.getFileName().toString()).matches() && Files.isDirectory(p))
                    .sorted(Comparator.comparingLong(CheckpointDirs::step)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list checkpoints in " + outputDir, e);
        }
    }

    static long step(Path checkpoint) {
        Matcher m = NAME.matcher(checkpoint.getFileName().toString());
        if (!m.matches()) {
            throw new IllegalArgumentException(checkpoint + " is not named checkpoint-<step>");
        }
        return Long.parseLong(m.group(1));
    }

    /** {@code latest} (the newest complete checkpoint of {@code outputDir}) or a checkpoint directory. */
    static Path resolve(String resume, Path outputDir) {
        if (resume.equals(RESUME_LATEST)) {
            if (outputDir == null) {
                throw new IllegalArgumentException("--resume latest needs --output-dir, where the checkpoints are");
            }
            List<Path> all = list(outputDir);
            if (all.isEmpty()) {
                throw new IllegalArgumentException("--resume latest: " + outputDir + " holds no checkpoint-* directory");
            }
            return all.get(all.size() - 1);
        }
        Path dir = Path.of(resume);
        if (!Files.isRegularFile(dir.resolve(TrainerState.FILE))) {
            throw new IllegalArgumentException("--resume " + resume + " is not a checkpoint directory (no "
                    + TrainerState.FILE + ")");
        }
        return dir;
    }

    /** Makes {@code temp} the checkpoint {@code target}: contents and names durable before and after the rename. */
    static void commit(Path temp, Path target) throws IOException {
        if (Files.exists(target)) {
            // A newer run may save a step that an older run also reached (it resumed from an earlier checkpoint):
            // the older directory goes first, so the rename below still lands a whole checkpoint or none.
            deleteRecursively(target);
        }
        try (Stream<Path> walk = Files.walk(temp)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                fsync(p);
            }
        }
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        fsync(target.getParent());
    }

    /** Keeps the newest {@code keep} checkpoints ({@code 0}: all). */
    static void prune(Path outputDir, int keep) throws IOException {
        if (keep <= 0) {
            return;
        }
        List<Path> all = list(outputDir);
        for (Path old : new ArrayList<>(all.subList(0, Math.max(0, all.size() - keep)))) {
            deleteRecursively(old);
        }
    }

    /** Forces a file's data, or a directory's entries, to disk. */
    static void fsync(Path p) throws IOException {
        try (FileChannel c = FileChannel.open(p, StandardOpenOption.READ)) {
            c.force(true);
        }
    }

    static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
