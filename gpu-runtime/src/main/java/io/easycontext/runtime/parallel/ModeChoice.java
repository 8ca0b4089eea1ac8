package io.easycontext.runtime.parallel;

import io.easycontext.runtime.model.LlamaConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * {@link ParallelMode#AUTO} ({@code --parallel-mode auto}, a training spec's {@code "parallelMode": "auto"}): the
 * ways to spread one sequence over all of {@code gpus} ranks, fastest first as measured side by side on one node of
 * 2 × H200 (Llama-2-7B at 32K and 128K tokens, benchmarks.md, sixth session):
 * ulysses_attn (every rank attends the whole sequence for its heads in one long kernel call: 6,074 tokens/s at 128K),
 * usp_attn with the largest Ulysses degree the key/value heads allow and a zigzag ring across the rest, then
 * zigzag_ring_attn (5,527), dist_flash_attn (5,606 in another call, within the calls' spread; behind zigzag, which
 * was measured more), and ring_attn (unbalanced: 3,833). Only layouts the model and length allow are offered; one
 * rank has data_parallel alone. The caller takes the first whose memory fits. Across nodes Ulysses' all-to-alls
 * would cross the network, which this order, measured on one node, does not weigh.
 */
public final class ModeChoice {
    /** Why auto refuses degrees given beside it. */
    public static final String DEGREES_GIVEN = "auto chooses the Ulysses and ring degrees of one sequence over all "
            + "ranks; give either it or them";

    private ModeChoice() {
    }

    /** Why there are no {@link #candidates}: what each mode needs of the length and the heads. */
    public static String noneFor(int seqLength, int gpus) {
        return "auto finds no mode that spreads " + seqLength + " tokens over " + gpus + " ranks for this model (the "
                + "ring modes need seq_length divisible by the ranks, zigzag by twice that; Ulysses the key/value "
                + "heads by its degree)";
    }

    /** The first of {@code candidates} that {@code fits}, else the first: its shortfall is then the one to report. */
    public static ParallelConfig firstThatFits(List<ParallelConfig> candidates, Predicate<ParallelConfig> fits) {
        return candidates.stream().filter(fits).findFirst().orElse(candidates.get(0));
    }

    /** The valid layouts of one sequence over {@code gpus} ranks of {@code model} at {@code seqLength}, best first. */
    public static List<ParallelConfig> candidates(int gpus, int seqLength, LlamaConfig model) {
        List<ParallelConfig> all = new ArrayList<>();
        if (gpus == 1) {
            all.add(ParallelConfig.resolve(ParallelMode.DATA_PARALLEL, 1, 1, 1, 1));
        } else {
            all.add(ParallelConfig.resolve(ParallelMode.ULYSSES_ATTN, gpus, 1, gpus, 1));
            for (int u = gpus - 1; u >= 2; u--) {
                if (gpus % u == 0 && model.numKeyValueHeads() % u == 0) {
                    all.add(ParallelConfig.resolve(ParallelMode.USP_ATTN, gpus, 1, u, gpus / u));
                    break;
                }
            }
            for (ParallelMode ring : List.of(ParallelMode.ZIGZAG_RING_ATTN, ParallelMode.DIST_FLASH_ATTN,
                    ParallelMode.RING_ATTN)) {
                all.add(ParallelConfig.resolve(ring, gpus, 1, 1, gpus));
            }
        }
        return all.stream().filter(p -> valid(p, seqLength, model)).toList();
    }

    /** The flags that give {@code p} to {@code train} or {@code plan}. */
    public static String flags(ParallelConfig p) {
        String flags = "--parallel-mode " + p.mode().cliName();
        return p.mode() == ParallelMode.USP_ATTN
                ? flags + " --ulysses-degree " + p.ulyssesDegree() + " --ring-degree " + p.ringDegree() : flags;
    }

    private static boolean valid(ParallelConfig p, int seqLength, LlamaConfig model) {
        try {
            p.validate(seqLength, model.numAttentionHeads(), model.numKeyValueHeads());
            return true;
        } catch (ParallelConfigException e) {
            return false;
        }
    }
}
