package io.easycontext.runtime.model;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.CpuTensor;

import java.util.SplittableRandom;

/** Small models and batches for the model and optimizer tests. */
public final class TinyModels {

    /** Small enough that finite differences over every tensor stay cheap; GQA (2 query heads per kv head). */
    public static final LlamaConfig GRADIENT_CHECK = new LlamaConfig(12, 20, 2, 4, 2, 6, 11, 1e-5, 10000, 64, false, 0.3, null);

    private TinyModels() {
    }

    /** Moves every norm gain off 1 so that the check is not at a special point. */
    public static void randomizeNorms(LlamaWeights w, SplittableRandom rng) {
        for (Parameter p : w.parameters()) {
            if (!p.decays()) {
                CpuTensor t = CpuTensor.of(p.value());
                for (int i = 0; i < t.numel(); i++) {
                    t.data[t.offset + i] = t.round(1 + rng.nextDouble(-0.5, 0.5));
                }
            }
        }
    }

    /** {@code batch} sequences of {@code length} random tokens; targets are the next tokens, some ignored. */
    public record Batch(int[] ids, int[] positions, int[] targets, int batch) {
        public static Batch random(SplittableRandom rng, int vocab, int batch, int length) {
            int n = batch * length;
            int[] ids = new int[n];
            int[] positions = new int[n];
            int[] targets = new int[n];
            for (int i = 0; i < n; i++) {
                ids[i] = rng.nextInt(vocab);
                positions[i] = i % length;
                targets[i] = rng.nextInt(5) == 0 ? LlamaModel.IGNORE_INDEX : rng.nextInt(vocab);
            }
            return new Batch(ids, positions, targets, batch);
        }

        public long count() {
            return LlamaModel.countTargets(targets);
        }

        public double forwardBackward(Backend b, LlamaModel model, long globalCount) {
            return model.forwardBackward(b, ids, positions, targets, batch, globalCount, LocalAttention.INSTANCE);
        }

        public double loss(Backend b, LlamaModel model) {
            return model.loss(b, ids, positions, targets, batch, LocalAttention.INSTANCE);
        }
    }
}
