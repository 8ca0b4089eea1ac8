package io.easycontext.service.plan;

import java.util.List;

import io.easycontext.runtime.optim.zero.Sharding;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.plan.MemoryEstimate;
import io.easycontext.runtime.plan.MemoryFit;
import io.easycontext.runtime.plan.MemoryOptions;
import io.easycontext.runtime.plan.MemoryPlanner;
import io.easycontext.runtime.train.TrainConfig;

/**
 * A training's memory on this node, run by run, as admission judges it. Bytes throughout, so that a program can
 * compare without parsing; the remedy is prose for people.
 *
 * @param poolBytes what each GPU rank may fill; null where neither the GPUs' memory nor the spec's cap is known
 * @param poolSource where the pool comes from: the GPUs' memory less the runtime's reserve, or the spec's cap
 * @param hostMemoryBytes what the ranks together may hold in host memory; null where unbounded (not Linux)
 * @param autoMemory whether the spec lets the planner's choice replace its options, and so what {@code fits} means
 */
record PlanResponse(Long poolBytes, String poolSource, Long hostMemoryBytes, boolean autoMemory, List<RunPlan> runs) {

    /**
     * @param field the run as a refusal would name it: {@code train} or {@code train.stages[k]}
     * @param options the memory options as the spec gives them
     * @param peak a rank's peak under them
     * @param fits whether admission accepts the run: with {@code autoMemory}, some option fits; without, the given
     *     ones do. Null where the pool is unknown
     * @param autoChoice the cheapest options that fit (within the planner's headroom and the host memory), whatever
     *     {@code autoMemory} says; null where none does or the pool is unknown
     * @param remedy what to change, where the run does not fit
     */
    record RunPlan(String field, int seqLength, int batchSize, long tokensPerRank, Parallel parallel,
            String optimizerMoments, Options options, Peak peak, Boolean fits, Choice autoChoice, String remedy) {
    }

    /** The ranks' layout: {@code world = dp × ulysses × ring}. */
    record Parallel(String mode, int world, int dp, int ulysses, int ring) {

        static Parallel of(ParallelConfig p) {
            return new Parallel(p.mode().cliName(), p.worldSize(), p.dpDegree(), p.ulyssesDegree(), p.ringDegree());
        }
    }

    /** Memory options as the spec's fields name them, so that a choice can be pasted into the spec. */
    record Options(int zeroStage, String optimizerOffload, int offloadCheckpoints, int keptAttentionLayers) {

        static Options of(Sharding sharding, int offloadCheckpoints, int keptAttentionLayers) {
            return new Options(sharding.stage(), sharding.offload().flag(), offloadCheckpoints, keptAttentionLayers);
        }

        static Options of(MemoryOptions o) {
            return of(o.sharding(), o.offloadedCheckpoints(), o.keptAttentionLayers());
        }
    }

    /**
     * {@link MemoryEstimate}'s components of one rank's peak; {@code total} is their sum, and
     * {@code hostMemoryPerRank} (offloaded state, parked checkpoints) is not part of it.
     */
    record Peak(long parameters, long gradients, long masterWeights, long optimizerMoments,
            long activationCheckpoints, long keptAttention, long layerWorkingSet, long attentionScratch,
            long sequenceParallelBuffers, long other, long total, long hostMemoryPerRank) {

        static Peak of(MemoryEstimate e) {
            return new Peak(e.parameters(), e.gradients(), e.masterWeights(), e.optimizerMoments(), e.checkpoints(),
                    e.keptAttention(), e.layerWorkingSet(), e.attentionScratch(), e.communication(), e.other(),
                    e.total(), e.hostMemory());
        }
    }

    record Choice(Options options, Peak peak) {

        static Choice of(MemoryPlanner.Choice c) {
            return new Choice(Options.of(c.options()), Peak.of(c.estimate()));
        }
    }

    static RunPlan planned(TrainingPlan.Run run, long hostMemoryBytes) {
        MemoryFit fit = run.fit();
        return runPlan(run.field(), run.config(), fit.asGiven(), fit.fits(),
                fit.choice().map(Choice::of).orElse(null),
                fit.fits() ? null : TrainingPlan.remedy(fit, hostMemoryBytes));
    }

    /** A run on GPUs of unknown memory: its peak, and nothing to compare it with. */
    static RunPlan unplaced(TrainingPlan.Layout layout) {
        return runPlan(layout.field(), layout.config(), MemoryPlanner.estimate(layout.config()), null, null, null);
    }

    private static RunPlan runPlan(String field, TrainConfig c, MemoryEstimate asGiven, Boolean fits, Choice choice,
            String remedy) {
        // Without activation checkpointing nothing is parked or kept apart, whatever the spec asked: show what is
        // planned.
        boolean checkpointing = c.activationCheckpointing();
        Options options = Options.of(c.sharding(), checkpointing ? c.offloadedCheckpoints() : 0,
                checkpointing ? c.keptAttentionLayers() : 0);
        return new RunPlan(field, c.seqLength(), c.batchSize(), MemoryPlanner.localTokens(c),
                Parallel.of(c.parallel()), c.optimizerMoments().flag(), options,
                Peak.of(asGiven), fits, choice, remedy);
    }
}
