package io.easycontext.runtime.spec;

import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.tensor.DType;

/**
 * What the evaluations share, the flags every evaluation command reads: the model and how its text is tokenized,
 * and the simulated ranks that share each sequence (one sequence-parallel group).
 */
public sealed interface EvalSpec extends RunSpec permits NeedleEvalSpec, PerplexityEvalSpec {

    long DEFAULT_SEED = 2022;

    /** A preset, or a Hugging Face model directory (its weights are loaded when it has them). */
    String model();

    /** {@code byte}, a {@code tokenizer.json} or a directory holding one; null: the model's own, else bytes. */
    String tokenizer();

    /** EasyContext's override of the model's rope theta; null keeps the model's. */
    Double ropeTheta();

    /** {@code cpu:N}: N simulated ranks share every sequence; {@code cuda:0,1}: those GPUs do, one rank each. */
    @Override
    String devices();

    ParallelMode parallelMode();

    Integer ulyssesDegree();

    Integer ringDegree();

    /** The CPU backend's precision, {@code f32} or {@code f64}. */
    String dtype();

    /** Draws the needles, and the weights of a model that has none. */
    Long seed();

    /** Whether to draw the results' plot (PNG) beside their JSON and CSV; a JVM without AWT cannot. */
    Boolean plot();

    /** The model's shape; the spec must be valid. */
    default LlamaConfig modelConfig() {
        return Models.resolve(model());
    }

    /** The ranks' layout; the spec must be valid. */
    default ParallelConfig parallelConfig() {
        return ParallelConfig.resolve(parallelMode(), Devices.worldSize(devices()), 1, orUnset(ulyssesDegree()),
                orUnset(ringDegree()));
    }

    default DType cpuType() {
        return "f64".equals(dtype()) ? DType.F64 : DType.F32;
    }

    private static int orUnset(Integer degree) {
        return degree == null ? ParallelConfig.UNSET : degree;
    }
}
