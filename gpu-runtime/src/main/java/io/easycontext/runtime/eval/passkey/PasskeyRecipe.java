package io.easycontext.runtime.eval.passkey;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.comm.RankDevices;
import io.easycontext.runtime.eval.model.ShardedEvalModel;
import io.easycontext.runtime.eval.needle.CellScore;
import io.easycontext.runtime.eval.needle.NeedleGrid;
import io.easycontext.runtime.eval.needle.NeedleSettings;
import io.easycontext.runtime.eval.needle.NeedleTemplate;
import io.easycontext.runtime.eval.needle.PromptBuilder;
import io.easycontext.runtime.eval.text.Haystack;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.tokenizer.ByteTokenizer;

import java.io.IOException;
import java.util.List;

/**
 * EasyContext's progressive recipe in miniature: a small Llama learns the passkey task from scratch at a short
 * context, its rope theta is raised and it goes on at a longer one, and the needle test then probes it at up to
 * eight times the first length. Text is bytes ({@link ByteTokenizer}), the template {@link NeedleTemplate#PASSKEY},
 * the haystack the built-in filler; training prompts come from the same builder as the test's.
 *
 * @param model      the model's shape (its vocabulary must hold the byte tokenizer's)
 * @param digits     the passkey's digits, in training and test alike
 * @param testReach  the test's longest prompt, in first-stage lengths
 */
public record PasskeyRecipe(LlamaConfig model, int digits, PasskeyStage first, PasskeyStage second, int testReach,
                            double testDepthStep, int testSamples, long seed) {

    /** This recipe with other stages. */
    public PasskeyRecipe withStages(PasskeyStage first, PasskeyStage second) {
        return new PasskeyRecipe(model, digits, first, second, testReach, testDepthStep, testSamples, seed);
    }

    /** What a run tells as it goes, on every rank. */
    public interface Listener {
        void onStep(int stage, int step, double loss, double gradNorm);

        /** The trained weights, before the test: the moment to save them. */
        void onTrained(Backend backend, LlamaWeights weights) throws IOException;

        void onCell(CellScore cell);
    }

    public PasskeyRecipe {
        if (model.vocabSize() < ByteTokenizer.VOCAB_SIZE) {
            throw new IllegalArgumentException("the passkey model reads bytes: its vocabulary needs "
                    + ByteTokenizer.VOCAB_SIZE + " ids, not " + model.vocabSize());
        }
        if (second.seqLength() < first.seqLength() || testReach * first.seqLength() < second.seqLength()) {
            throw new IllegalArgumentException("the stages must grow, and the test reach past the second");
        }
    }

    /**
     * The test: the passkey template on the built-in filler, at the haystack lengths of prompts of one, two, …,
     * {@link #testReach} first-stage lengths, so that the trained lengths fall on the grid. Its numbers are drawn
     * from another seed than the training prompts'.
     */
    public NeedleSettings test() {
        NeedleGrid grid = new NeedleGrid(haystackLength(first.seqLength()),
                haystackLength(testReach * first.seqLength()), first.seqLength(), testDepthStep);
        return new NeedleSettings(grid, testSamples, digits, 0, null, NeedleTemplate.PASSKEY, seed + 1);
    }

    /** Haystack tokens of a prompt of {@code seqLength} tokens: the needle test's context length for it. */
    public int haystackLength(int seqLength) {
        return seqLength - data().overhead();
    }

    PasskeyData data() {
        PromptBuilder prompts = new PromptBuilder(ByteTokenizer.INSTANCE, NeedleTemplate.PASSKEY,
                Haystack.filler(ByteTokenizer.INSTANCE, testReach * first.seqLength()));
        return new PasskeyData(prompts, seed, digits);
    }

    /**
     * Both stages and the test, on one rank of {@code world}, the ranks of {@code devices} (every rank calls it;
     * {@code parallel} shares each sequence among them). Returns the test's cells, the same on every rank.
     */
    public List<CellScore> run(RankDevices devices, Backend backend, Communicator world, ParallelConfig parallel,
                               Listener listener) throws IOException {
        PasskeyData data = data();
        LlamaWeights weights = LlamaWeights.initialize(backend, stageModel(first), seed);
        PasskeyTrainer.train(backend, world, devices, parallel, weights, data, 0, first, seed,
                (step, loss, norm) -> listener.onStep(1, step, loss, norm));
        // Rope has no parameters: the same tensors go on under the new theta, as a checkpoint loaded with it would.
        LlamaWeights stage1 = weights;
        weights = LlamaWeights.load(backend, stageModel(second),
                (name, value) -> backend.copy(stage1.get(name).value(), value));
        stage1.close();
        PasskeyTrainer.train(backend, world, devices, parallel, weights, data,
                (long) first.steps() * first.batchSize(), second, seed,
                (step, loss, norm) -> listener.onStep(2, step, loss, norm));
        try (LlamaWeights trained = weights) {
            listener.onTrained(backend, trained);
            ShardedEvalModel model = new ShardedEvalModel(backend,
                    new LlamaModel(trained, LlamaModel.Options.DEFAULTS), world, parallel);
            return test().evaluation(ByteTokenizer.INSTANCE).run(model, listener::onCell);
        }
    }

    private LlamaConfig stageModel(PasskeyStage stage) {
        return model.withRope(stage.ropeTheta(), Math.max(stage.seqLength(), testReach * first.seqLength()));
    }
}
