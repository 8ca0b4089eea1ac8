package io.easycontext.runtime.train;

/**
 * Training sequences by index, so that every rank can fetch the same global sample and keep only its shard, and
 * a run is reproducible. Implementations must be deterministic and safe to call from several rank threads.
 */
public interface DataSource {

    /** One sequence: {@code seqLength} input ids and, for each, its target (the next token, or an ignored position). */
    record Sample(int[] inputIds, int[] targets) {
        public Sample {
            if (inputIds.length != targets.length) {
                throw new IllegalArgumentException(inputIds.length + " input ids but " + targets.length + " targets");
            }
        }
    }

    /** Sequence number {@code index} (≥ 0) of length {@code seqLength}. */
    Sample sample(long index, int seqLength);

    /** A short description for the logs. */
    String describe();
}
