package io.easycontext.runtime.checkpoint;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.io.InvalidFileException;
import io.easycontext.runtime.io.SafetensorsDType;
import io.easycontext.runtime.io.SafetensorsFile;
import io.easycontext.runtime.io.SafetensorsWriter;
import io.easycontext.runtime.io.TensorInfo;
import io.easycontext.runtime.optim.AdamW;
import io.easycontext.runtime.optim.Optimizer;
import io.easycontext.runtime.optim.OptimizerMoments;
import io.easycontext.runtime.optim.TrainingOptimizer;
import io.easycontext.runtime.optim.zero.ShardState;
import io.easycontext.runtime.optim.zero.ShardedOptimizer;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One rank's AdamW state as a safetensors file {@code optimizer/rank-0000r.safetensors}: for each parameter
 * {@code <name>.exp_avg} and {@code <name>.exp_avg_sq} (PyTorch's names for the moments) and, where the parameter
 * is stored in lower precision, {@code <name>.master}, all in the type they live in; the step count is in the
 * metadata, with the moments' type as {@code --optimizer-moments} names it ({@code fp32}, or {@code bf16}), which a
 * resume must share. Every rank writes its own file, as the state lives per rank.
 *
 * <p>A sharded optimizer's file holds its rank's shard as it lives, whatever memory it lives in: each state vector
 * over the whole shard, as consecutive pieces {@code <vector>.00000}, {@code <vector>.00001}, … of at most
 * {@link #SHARD_PIECE} elements (a shard can exceed a Java array, and the pieces bound the heap a save and a restore
 * need); the metadata names the shard, the shard count and the flat layout, which a restore must match.
 */
final class OptimizerStateFile {

    private static final String STEP = "step";
    private static final String SHARD = "zero_shard";
    private static final String SHARDS = "zero_shards";
    private static final String LAYOUT = "zero_layout";
    /** {@code fp32} or {@code bf16} ({@code --optimizer-moments}); a file without it holds fp32 moments. */
    private static final String MOMENTS = "optimizer_moments";
    /** Elements per stored piece of a shard's vector: 128 MiB as float64 in the heap while it is written. */
    static final int SHARD_PIECE = 1 << 24;

    private OptimizerStateFile() {
    }

    static Path path(Path checkpoint, int rank) {
        return checkpoint.resolve("optimizer").resolve(String.format(Locale.ROOT, "rank-%05d.safetensors", rank));
    }

    /** Writes a rank's optimizer state in the form it has: every parameter's, or this rank's shard. */
    static void write(Path file, Backend backend, TrainingOptimizer optimizer) throws IOException {
        if (optimizer instanceof ShardedOptimizer sharded) {
            writeShard(file, sharded);
        } else {
            write(file, backend, replicated(optimizer).adamW());
        }
    }

    /**
     * Refuses a file whose moments were kept in another type than this run keeps them in: their values would be
     * silently rounded (bf16 into fp32 is exact but no longer the same run; fp32 into bf16 loses bits).
     */
    private static void checkMoments(SafetensorsFile f, OptimizerMoments now) {
        String saved = f.metadata().getOrDefault(MOMENTS, OptimizerMoments.FP32.flag());
        if (!saved.equals(now.flag())) {
            throw new InvalidFileException(f.path(), "holds AdamW moments in " + saved + " (saved with "
                    + "--optimizer-moments " + saved + "), but this run keeps them in " + now.flag()
                    + " (--optimizer-moments " + now.flag() + "); resume with --optimizer-moments " + saved);
        }
    }

    /** Restores a rank's optimizer state written by {@link #write(Path, Backend, TrainingOptimizer)}. */
    static void read(Path file, Backend backend, TrainingOptimizer optimizer) {
        if (optimizer instanceof ShardedOptimizer sharded) {
            readShard(file, sharded);
        } else {
            read(file, backend, replicated(optimizer).adamW());
        }
    }

    private static Optimizer replicated(TrainingOptimizer optimizer) {
        if (optimizer instanceof Optimizer o) {
            return o;
        }
        throw new IllegalArgumentException("no checkpoint format for " + optimizer.getClass().getName());
    }

    static void write(Path file, Backend backend, AdamW adamW) throws IOException {
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        for (AdamW.Slot s : adamW.slots()) {
            String name = s.parameter().name();
            entries.add(entry(backend, name + ".exp_avg", s.m()));
            entries.add(entry(backend, name + ".exp_avg_sq", s.v()));
            if (s.master() != null) {
                entries.add(entry(backend, name + ".master", s.master()));
            }
        }
        SafetensorsWriter.write(file, Map.of(STEP, String.valueOf(adamW.steps()),
                MOMENTS, adamW.hyper().moments().flag()), entries);
    }

    private static SafetensorsWriter.Entry entry(Backend backend, String name, Tensor t) {
        return new SafetensorsWriter.Entry(name, dtype(t), SafetensorsWriter.Entry.shapeOf(t.shape()),
                () -> backend.download(t));
    }

    /** Restores the moments, master weights and step count into {@code adamW}, checking every shape. */
    static void read(Path file, Backend backend, AdamW adamW) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            String step = f.metadata().get(STEP);
            if (step == null || !step.matches("\\d+")) {
                throw new InvalidFileException(file, "metadata has no step count (found " + step + ")");
            }
            if (f.metadata().containsKey(SHARDS)) {
                throw new InvalidFileException(file, "holds one shard of a sharded (ZeRO) optimizer's state, but this "
                        + "run replicates it; resume with the setting it was saved under");
            }
            checkMoments(f, adamW.hyper().moments());
            for (AdamW.Slot s : adamW.slots()) {
                String name = s.parameter().name();
                fill(f, name + ".exp_avg", backend, s.m());
                fill(f, name + ".exp_avg_sq", backend, s.v());
                if (s.master() != null) {
                    fill(f, name + ".master", backend, s.master());
                }
            }
            adamW.restoreSteps(Long.parseLong(step));
        }
    }

    /** Writes this rank's shard of a sharded optimizer's state, as it lives on the device or in host memory. */
    static void writeShard(Path file, ShardedOptimizer optimizer) throws IOException {
        writeShard(file, optimizer, SHARD_PIECE);
    }

    /** With pieces of {@code pieceElements}: small ones let tests cover vectors of several pieces. */
    static void writeShard(Path file, ShardedOptimizer optimizer, int pieceElements) throws IOException {
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        for (ShardState.Vector vector : optimizer.state().vectors()) {
            for (long from = 0, piece = 0; from < vector.length(); from += pieceElements, piece++) {
                long at = from;
                int n = (int) Math.min(pieceElements, vector.length() - from);
                entries.add(new SafetensorsWriter.Entry(pieceName(vector.name(), piece), dtype(vector.dtype()),
                        new long[]{n}, () -> vector.read(at, n)));
            }
        }
        SafetensorsWriter.write(file, shardMetadata(optimizer, String.valueOf(optimizer.steps())), entries);
    }

    /**
     * Restores a shard written by {@link #writeShard} into {@code optimizer}, which must have the same shard of the
     * same layout; where the state lives (device or host) may differ from the run that saved it.
     */
    static void readShard(Path file, ShardedOptimizer optimizer) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            String step = f.metadata().get(STEP);
            if (step == null || !step.matches("\\d+")) {
                throw new InvalidFileException(file, "metadata has no step count (found " + step + ")");
            }
            if (!f.metadata().containsKey(SHARDS)) {
                throw new InvalidFileException(file, "holds a replicated optimizer's state, but this run shards it "
                        + "(ZeRO); resume with the setting it was saved under");
            }
            checkMoments(f, optimizer.moments());
            Map<String, String> want = shardMetadata(optimizer, step);
            for (String key : List.of(SHARDS, SHARD, LAYOUT)) {
                if (!want.get(key).equals(f.metadata().get(key))) {
                    throw new InvalidFileException(file, "holds " + key + " " + f.metadata().get(key)
                            + ", but this rank's is " + want.get(key));
                }
            }
            for (ShardState.Vector vector : optimizer.state().vectors()) {
                long from = 0;
                for (long piece = 0; from < vector.length(); piece++) {
                    String name = pieceName(vector.name(), piece);
                    TensorInfo info = f.info(name);
                    if (info.shape().length != 1 || from + info.numel() > vector.length() || info.numel() == 0
                            || info.dtype() != dtype(vector.dtype())) {
                        throw new InvalidFileException(file, "tensor '" + name + "' is " + info.dtype() + " "
                                + info.shapeText() + ", but this run keeps " + (vector.length() - from)
                                + " more elements of " + vector.name() + " as " + dtype(vector.dtype()));
                    }
                    vector.write(from, f.readDoubles(name));
                    from += info.numel();
                }
            }
            optimizer.restoreSteps(Long.parseLong(step));
        }
    }

    private static Map<String, String> shardMetadata(ShardedOptimizer optimizer, String step) {
        return Map.of(STEP, step, SHARD, String.valueOf(optimizer.shard()),
                SHARDS, String.valueOf(optimizer.shards()), LAYOUT, optimizer.layoutFingerprint(),
                MOMENTS, optimizer.moments().flag());
    }

    private static String pieceName(String vector, long piece) {
        return String.format(Locale.ROOT, "%s.%05d", vector, piece);
    }

    private static void fill(SafetensorsFile f, String name, Backend backend, Tensor into) {
        TensorInfo info = f.info(name);
        if (!info.hasShape(into.shape()) || info.dtype() != dtype(into)) {
            throw new InvalidFileException(f.path(), "tensor '" + name + "' is " + info.dtype() + " "
                    + info.shapeText() + ", but this run keeps it as " + dtype(into) + " "
                    + Arrays.toString(into.shape()));
        }
        backend.uploadDoubles(into, f.readDoubles(name));
    }

    static SafetensorsDType dtype(Tensor t) {
        return dtype(t.dtype());
    }

    static SafetensorsDType dtype(DType type) {
        return switch (type) {
            case F64 -> SafetensorsDType.F64;
            case F32 -> SafetensorsDType.F32;
            case BF16 -> SafetensorsDType.BF16;
            case I32 -> SafetensorsDType.I32;
        };
    }
}
