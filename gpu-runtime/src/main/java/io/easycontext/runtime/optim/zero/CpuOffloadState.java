package io.easycontext.runtime.optim.zero;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.AdamWArithmetic;
import io.easycontext.runtime.optim.AdamW;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * {@link OffloadMode#CPU}: the host's cores update the state where it lives. Per chunk, the reduced gradients (and,
 * without master weights, the values) come down into a host staging slot, the host updates, and the new values go up
 * from another staging slot; the copies of the chunks before and after overlap the host's work on this one. The
 * arithmetic is the CPU reference's ({@link AdamWArithmetic}), so on the CPU backend the result is bit for bit that
 * of the backend's own AdamW.
 */
final class CpuOffloadState extends OffloadState {

    /** Elements per task of the host update: enough work to be worth a fork, small enough to balance. */
    private static final int TASK = 1 << 14;

    private record Task(ShardPiece part, long chunkFrom) {
    }

    private final HostBuffer[] gradStage = new HostBuffer[RING];
    private final HostBuffer[] valueStage = new HostBuffer[RING];
    private final HostTransfers.Fence[] downloaded;
    private final HostTransfers.Fence[] uploaded;
    private final HostTransfers.Fence ready;
    private final HostTransfers.Fence updated;
    private final ThreadLocal<double[][]> scratch = ThreadLocal.withInitial(() -> new double[4][TASK]);

    CpuOffloadState(Backend backend, ShardValues valueShard, Tensor gradShard, List<ShardPiece> pieces,
                    AdamW.Hyper hyper, int chunkElements) {
        super(backend, valueShard, gradShard, pieces, hyper, chunkElements);
        for (int k = 0; k < RING; k++) {
            gradStage[k] = transfers.allocate(backend.floatType(), this.chunkElements, this.chunkElements);
            valueStage[k] = transfers.allocate(backend.floatType(), this.chunkElements, this.chunkElements);
        }
        downloaded = fences();
        uploaded = fences();
        ready = transfers.fence();
        updated = transfers.fence();
    }

    @Override
    public void update(double lr, long step, double gradScale) {
        AdamWArithmetic decaying = new AdamWArithmetic(lr, hyper.beta1(), hyper.beta2(), hyper.eps(),
                hyper.weightDecay(), step, gradScale);
        AdamWArithmetic plain = new AdamWArithmetic(lr, hyper.beta1(), hyper.beta2(), hyper.eps(), 0, step, gradScale);
        // The gradients were reduced on the backend's stream; the copies down must come after.
        ready.record(HostTransfers.Lane.COMPUTE);
        ready.await(HostTransfers.Lane.DOWNLOAD);
        int n = chunks.size();
        for (int c = 0; c < Math.min(RING - 1, n); c++) {
            fetch(c);
        }
        for (int c = 0; c < n; c++) {
            if (c + RING - 1 < n) {
                fetch(c + RING - 1);
            }
            int k = c % RING;
            Chunk chunk = chunks.get(c);
            downloaded[k].awaitOnHost();
            uploaded[k].awaitOnHost(); // chunk c − RING's values may still be going up from this slot
            compute(chunk, k, decaying, plain);
            for (ShardPiece p : chunk.pieces()) {
                transfers.upload(valueStage[k], p.offset() - chunk.from(), valueView(p));
            }
            uploaded[k].record(HostTransfers.Lane.UPLOAD);
        }
        // The all-gather that follows on the backend's stream sends the new values.
        updated.record(HostTransfers.Lane.UPLOAD);
        updated.await(HostTransfers.Lane.COMPUTE);
    }

    private void fetch(int c) {
        int k = c % RING;
        Chunk chunk = chunks.get(c);
        if (master == null) {
            uploaded[k].await(HostTransfers.Lane.DOWNLOAD); // the values come down into the slot that sends them up
        }
        for (ShardPiece p : chunk.pieces()) {
            transfers.download(gradView(p), gradStage[k], p.offset() - chunk.from());
            if (master == null) {
                transfers.download(valueView(p), valueStage[k], p.offset() - chunk.from());
            }
        }
        downloaded[k].record(HostTransfers.Lane.DOWNLOAD);
    }

    private void compute(Chunk chunk, int k, AdamWArithmetic decaying, AdamWArithmetic plain) {
        List<Task> tasks = new ArrayList<>();
        for (ShardPiece p : chunk.pieces()) {
            for (long from = p.offset(); from < p.end(); from += TASK) {
                int length = (int) Math.min(TASK, p.end() - from);
                tasks.add(new Task(new ShardPiece(p.name(), from, length, p.decays()), chunk.from()));
            }
        }
        boolean statsF32 = backend.statsType() == DType.F32;
        DType moments = momentsType;
        IntStream.range(0, tasks.size()).parallel().forEach(t -> {
            Task task = tasks.get(t);
            ShardPiece part = task.part();
            AdamWArithmetic rule = part.decays() ? decaying : plain;
            double[][] s = scratch.get();
            double[] g = s[0];
            double[] x = s[1];
            double[] mm = s[2];
            double[] vv = s[3];
            int len = part.length();
            long inChunk = part.offset() - task.chunkFrom();
            gradStage[k].read(inChunk, g, 0, len);
            if (master != null) {
                master.read(part.offset(), x, 0, len);
            } else {
                valueStage[k].read(inChunk, x, 0, len);
            }
            m.read(part.offset(), mm, 0, len);
            v.read(part.offset(), vv, 0, len);
            for (int i = 0; i < len; i++) {
                double gi = rule.scaledGrad(g[i]);
                double mi = rule.firstMoment(mm[i], gi);
                double vi = rule.secondMoment(vv[i], gi);
                // Rounded as stored (fp32, float64 or bf16) before the weight uses them, as the backend's AdamW does.
                mm[i] = moments.round(mi);
                vv[i] = moments.round(vi);
                double w = rule.weight(x[i], mm[i], vv[i]);
                x[i] = master != null && statsF32 ? (float) w : w;
            }
            m.write(part.offset(), mm, 0, len);
            v.write(part.offset(), vv, 0, len);
            if (master != null) {
                master.write(part.offset(), x, 0, len);
            }
            valueStage[k].write(inChunk, x, 0, len);
        });
    }

    @Override
    void closeStaging() {
        for (int k = 0; k < RING; k++) {
            gradStage[k].close();
            valueStage[k].close();
            downloaded[k].close();
            uploaded[k].close();
        }
        ready.close();
        updated.close();
    }
}
