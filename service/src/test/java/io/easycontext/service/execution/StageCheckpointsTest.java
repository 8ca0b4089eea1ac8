package io.easycontext.service.execution;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.runtime.spec.TrainStage;
import io.easycontext.service.execution.StageCheckpoints.ResumePoint;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where an attempt starts, from the checkpoint directories the earlier ones left; the kill -9 test runs it for real. */
class StageCheckpointsTest {

    @TempDir
    Path job;

    /** Two stages, of 4 and 6 steps. */
    private final List<TrainSpec> stages = TrainSpec.builder().maxTrainSteps(4).stages(List.of(
            new TrainStage(null, null, null, null, null, null, null),
            new TrainStage(null, null, 6, null, null, null, null))).build().runs();
    private StageCheckpoints checkpoints;

    @BeforeEach
    void inTheJobsDirectory() {
        checkpoints = new StageCheckpoints(job, stages, 2, null);
    }

    @Test
    void withoutCheckpointsTheJobStartsAtItsBeginning() {
        assertThat(checkpoints.resumePoint()).isEqualTo(ResumePoint.START);
    }

    @Test
    void aStageCutShortContinuesFromItsNewestCheckpoint() throws IOException {
        checkpoint(0, 2);
        checkpoint(0, 4);
        checkpoint(1, 2);
        checkpoint(1, 4);
        // Being written when the service died: never taken for a checkpoint.
        Files.createDirectories(job.resolve("checkpoints/stage-1/.checkpoint-0000006.tmp"));

        assertThat(checkpoints.resumePoint()).isEqualTo(new ResumePoint(1, 4));
        assertThat(checkpoints.describeLatest(1)).isEqualTo("checkpoints/stage-1/checkpoint-0000004");
    }

    @Test
    void aFinishedStageHandsOverToTheNextFromItsStart() throws IOException {
        checkpoint(0, 4);

        assertThat(checkpoints.resumePoint()).isEqualTo(new ResumePoint(1, 0));
    }

    @Test
    void aFinishedLastStageResumesAtItsEndWhereOnlyItsModelIsWrittenAgain() throws IOException {
        checkpoint(0, 4);
        checkpoint(1, 6);

        assertThat(checkpoints.resumePoint()).isEqualTo(new ResumePoint(1, 6));
    }

    private void checkpoint(int stage, int step) throws IOException {
        Files.createDirectories(job.resolve(TrainSpec.outputDir(stage)).resolve(String.format("checkpoint-%07d", step)));
    }
}
