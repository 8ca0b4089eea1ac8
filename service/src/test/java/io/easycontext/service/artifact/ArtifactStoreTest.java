package io.easycontext.service.artifact;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

import io.easycontext.service.config.DataDirectory;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArtifactStoreTest {

    @TempDir
    Path dataDir;

    private ArtifactStore store;
    private final UUID job = UUID.randomUUID();
    private Path dir;

    @BeforeEach
    void writeFiles() throws IOException {
        store = new ArtifactStore(new DataDirectory(dataDir.toString()));
        dir = store.directoryOf(job);
        Files.createDirectories(dir.resolve("metrics"));
        Files.writeString(dir.resolve("metrics/stage-0.jsonl"), "{\"step\":1}\n");
        Files.writeString(dir.resolve("report.json"), "{}");
        Files.writeString(dataDir.resolve("admin-token"), "secret");
    }

    @Test
    void listsEveryFileByItsSlashSeparatedName() {
        assertThat(store.list(job)).extracting(Artifact::name, Artifact::size)
                .containsExactly(tuple("metrics/stage-0.jsonl", 11L),
                        tuple("report.json", 2L));
        assertThat(store.list(UUID.randomUUID())).isEmpty();
    }

    @Test
    void findsAFileByItsName() {
        assertThat(store.find(job, "metrics/stage-0.jsonl")).contains(dir.resolve("metrics/stage-0.jsonl"));
        assertThat(store.find(job, "metrics/../report.json")).contains(dir.resolve("report.json"));
    }

    @Test
    void nothingOutsideTheJobsDirectoryCanBeReached() throws IOException {
        Files.createSymbolicLink(dir.resolve("link"), dataDir.resolve("admin-token"));

        assertThat(store.find(job, "../../admin-token")).isEmpty();
        assertThat(store.find(job, "metrics/../../../admin-token")).isEmpty();
        assertThat(store.find(job, dataDir.resolve("admin-token").toString())).isEmpty();
        assertThat(store.find(job, "link")).isEmpty();
        assertThat(store.find(job, "..\\..\\admin-token")).isEmpty();
        assertThat(store.find(job, "metrics")).isEmpty();
        assertThat(store.find(job, "")).isEmpty();
        assertThat(store.list(job)).extracting(Artifact::name).doesNotContain("link");
    }

    @Test
    void filesBeingWrittenUnderADotNameAreNoArtifacts() throws IOException {
        Path temporary = dir.resolve("checkpoints/stage-0/.checkpoint-0000004.tmp/model");
        Files.createDirectories(temporary);
        Files.writeString(temporary.resolve("config.json"), "{}");
        Files.writeString(dir.resolve("metrics/.stage-0.jsonl.tmp"), "");

        assertThat(store.list(job)).extracting(Artifact::name)
                .containsExactly("metrics/stage-0.jsonl", "report.json");
        assertThat(store.find(job, "checkpoints/stage-0/.checkpoint-0000004.tmp/model/config.json")).isEmpty();
        assertThat(store.find(job, "metrics/.stage-0.jsonl.tmp")).isEmpty();
    }
}
