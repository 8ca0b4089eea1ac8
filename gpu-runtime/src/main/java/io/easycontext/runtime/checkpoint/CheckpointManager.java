package io.easycontext.runtime.checkpoint;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.hf.HfModelDir;
import io.easycontext.runtime.hf.HfModelWriter;
import io.easycontext.runtime.io.InvalidFileException;
import io.easycontext.runtime.io.SafetensorsDType;
import io.easycontext.runtime.io.SafetensorsFile;
import io.easycontext.runtime.train.Checkpointing;
import io.easycontext.runtime.train.RankState;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Training checkpoints in an output directory, and the final model there in Hugging Face layout.
 * <pre>
 *   checkpoint-0000042/
 *     trainer_state.json               step, data position, world size, the run's settings
 *     model/config.json                a Hugging Face model directory, weights in the run's precision
 *     model/model.safetensors
 *     optimizer/rank-00000.safetensors AdamW moments (and master weights), one file per rank: all
 *                                      parameters' or, sharded (ZeRO), the rank's shard
 * </pre>
 * A save is collective: rank 0 prepares a temporary directory, every rank writes its optimizer state, rank 0 the
 * weights and the trainer state; once all have written, rank 0 forces everything to disk and renames the directory
 * into place, then removes checkpoints beyond {@code keepLast}. A save that fails on any rank fails the run (the
 * in-process world aborts every rank) and leaves the previous checkpoints as they were.
 */
public final class CheckpointManager implements Checkpointing {

    /**
     * @param outputDir  where checkpoints and the final model go; null saves nothing
     * @param every      save after every this many steps (0: only after the last step)
     * @param keepLast   checkpoints to keep, newest first (0: all)
     * @param resume     {@code latest}, a checkpoint directory, or null to start fresh
     * @param finalDtype the final model's weight type
     * @param baseConfig the config.json the model came from, whose extra fields the final model keeps; or null
     */
    public record Options(Path outputDir, int every, int keepLast, String resume, SafetensorsDType finalDtype,
                          ObjectNode baseConfig) {
        public Options {
            if (every < 0 || keepLast < 0) {
                throw new IllegalArgumentException("checkpoint interval (" + every + ") and number kept (" + keepLast
                        + ") must not be negative");
            }
            if (outputDir == null && every > 0) {
                throw new IllegalArgumentException("checkpoints every " + every + " steps need an output directory");
            }
        }

        public Options withBaseConfig(ObjectNode config) {
            return new Options(outputDir, every, keepLast, resume, finalDtype, config);
        }
    }

    /** Runs on rank 0 between writing a checkpoint and renaming it into place; tests inject failures here. */
    interface CommitHook {
        void beforeCommit(Path written) throws IOException;
    }

    private final Options options;
    private final CommitHook commitHook;

    public CheckpointManager(Options options) {
        this(options, written -> {
        });
    }

    CheckpointManager(Options options, CommitHook commitHook) {
        this.options = options;
        this.commitHook = commitHook;
    }

    /** The newest complete checkpoint of {@code outputDir}, the one {@code --resume latest} takes; empty if none. */
    public static Optional<Path> latest(Path outputDir) {
        List<Path> all = CheckpointDirs.list(outputDir);
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    /** The optimizer steps a checkpoint directory ({@code checkpoint-0000042}) holds. */
    public static long step(Path checkpoint) {
        return CheckpointDirs.step(checkpoint);
    }

    /** A checkpoint's weights as a Hugging Face model directory, in the run's own precision. */
    public static Path modelDir(Path checkpoint) {
        return checkpoint.resolve("model");
    }

    /**
     * {@inheritDoc} A checkpoint of the run's last step leaves nothing to train, but the final model is written
     * after that checkpoint, so a crash can have left it missing or half-written: it is written again.
     */
    @Override
    public long restore(RankState rank) {
        if (options.resume() == null) {
            return 0;
        }
        Path dir = CheckpointDirs.resolve(options.resume(), options.outputDir());
        TrainerState state = TrainerState.read(dir.resolve(TrainerState.FILE));
        state.checkResumable(dir, rank.config());
        int world = rank.world().size();
        if (state.worldSize() != world) {
            throw new IllegalArgumentException("cannot resume from " + dir + ": it holds the optimizer state of "
                    + state.worldSize() + " ranks, this run has " + world);
        }
        loadWeights(modelDir(dir).resolve(HfModelDir.SINGLE), rank);
        Path optimizer = OptimizerStateFile.path(dir, rank.world().rank());
        OptimizerStateFile.read(optimizer, rank.backend(), rank.optimizer());
        if (rank.optimizer().steps() != state.step()) {
            throw new InvalidFileException(optimizer, "is at step " + rank.optimizer().steps() + ", but "
                    + TrainerState.FILE + " says " + state.step());
        }
        if (state.step() == rank.config().maxTrainSteps() && options.outputDir() != null) {
            saveFinalModel(rank, state.step());
        }
        return state.step();
    }

    /** Exact values in the run's own precision, each tensor checked against the parameter it fills. */
    private static void loadWeights(Path file, RankState rank) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            rank.loadWeights((name, value) -> {
                if (!f.info(name).hasShape(value.shape())) {
                    throw new InvalidFileException(file, "tensor '" + name + "' has shape "
                            + f.info(name).shapeText() + ", not the model's");
                }
                rank.backend().uploadDoubles(value, f.readDoubles(name));
            });
        }
    }

    @Override
    public void afterStep(RankState rank, long completed) {
        if (options.outputDir() == null) {
            return;
        }
        boolean last = completed == rank.config().maxTrainSteps();
        boolean due = options.every() > 0 && completed % options.every() == 0;
        try {
            if (due || last) {
                save(rank, completed);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("saving after step " + completed + " in " + options.outputDir()
                    + " failed", e);
        }
        if (last) {
            saveFinalModel(rank, completed);
        }
    }

    /** The model after the last step, in Hugging Face layout in the output directory itself; written by rank 0. */
    private void saveFinalModel(RankState rank, long step) {
        // Collective: under ZeRO-3 every rank gathers its shards for rank 0.
        try (RankState.WholeWeights whole = rank.wholeWeights(0)) {
            if (rank.world().rank() != 0) {
                return;
            }
            HfModelWriter.save(whole.backend(), whole.weights(), options.outputDir(), options.finalDtype(),
                    HfModelWriter.DEFAULT_MAX_SHARD_BYTES, options.baseConfig());
        } catch (IOException e) {
            throw new UncheckedIOException("saving the final model after step " + step + " in "
                    + options.outputDir() + " failed", e);
        }
    }

    private void save(RankState rank, long step) throws IOException {
        Path out = options.outputDir();
        Path temp = CheckpointDirs.tempDir(out, step);
        boolean leader = rank.world().rank() == 0;
        Backend b = rank.backend();
        if (leader) {
            CheckpointDirs.deleteRecursively(temp); // left by a crash during an earlier save of this step
            Files.createDirectories(modelDir(temp));
            Files.createDirectories(temp.resolve("optimizer"));
        }
        barrier(rank);
        try {
            OptimizerStateFile.write(OptimizerStateFile.path(temp, rank.world().rank()), b, rank.optimizer());
            // Collective: under ZeRO-3 every rank gathers its shards for the leader.
            try (RankState.WholeWeights whole = rank.wholeWeights(0)) {
                if (leader) {
                    HfModelWriter.save(whole.backend(), whole.weights(), modelDir(temp),
                            OptimizerStateFile.dtype(whole.dtype()), Long.MAX_VALUE, options.baseConfig());
                    TrainerState.of(rank.config(), step, rank.data().describe())
                            .write(temp.resolve(TrainerState.FILE));
                }
            }
            barrier(rank);
            if (leader) {
                commitHook.beforeCommit(temp);
                CheckpointDirs.commit(temp, CheckpointDirs.finalDir(out, step));
                CheckpointDirs.prune(out, options.keepLast());
            }
        } catch (IOException | RuntimeException e) {
            if (leader) {
                CheckpointDirs.deleteRecursively(temp);
            }
            throw e;
        }
        barrier(rank);
    }

    private static void barrier(RankState rank) {
        rank.world().barrier();
    }
}
