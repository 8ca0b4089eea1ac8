package io.easycontext.runtime.train;

/**
 * Which sequences make up each micro-batch. Optimizer step {@code k} (from 0) has {@code A} micro-steps; in each, every
 * data-parallel group {@code g} of {@code D} processes {@code B} sequences, and sequence-parallel ranks of one group
 * share them. Row {@code b} is sequence
 * <pre>  ((k·A + a)·D + g)·B + b</pre>
 * so a run with {@code D} groups of {@code B} rows sees exactly the sequences of a single device with {@code D·B}
 * rows: the global batch depends on {@code D·B·A}, not on how it is spread.
 */
record BatchPlan(int batchSize, int dpDegree, int accumulation) {

    /** One micro-batch of one data-parallel group: {@code [batchSize, seqLength]} ids and targets, batch-major. */
    record MicroBatch(int[] inputIds, int[] targets) {
    }

    long sequenceIndex(long step, int micro, int dpRank, int row) {
        return ((step * accumulation + micro) * dpDegree + dpRank) * batchSize + row;
    }

    /** Sequences in one optimizer step over the whole world. */
    long sequencesPerStep() {
        return (long) batchSize * dpDegree * accumulation;
    }

    MicroBatch microBatch(DataSource data, int seqLength, long step, int micro, int dpRank) {
        int[] ids = new int[batchSize * seqLength];
        int[] targets = new int[batchSize * seqLength];
        for (int b = 0; b < batchSize; b++) {
            DataSource.Sample s = data.sample(sequenceIndex(step, micro, dpRank, b), seqLength);
            if (s.inputIds().length != seqLength) {
                throw new IllegalStateException(data.describe() + " returned " + s.inputIds().length
                        + " tokens where " + seqLength + " were asked for");
            }
            System.arraycopy(s.inputIds(), 0, ids, b * seqLength, seqLength);
            System.arraycopy(s.targets(), 0, targets, b * seqLength, seqLength);
        }
        return new MicroBatch(ids, targets);
    }
}
